"""Anomalies in the Alerts view: flagged frames and detections, their follow-ups, and
acknowledging them."""

from __future__ import annotations

import asyncio

import pytest
from logbuilder import LogBuilder
from ui_helpers import caught_up, console, until

from control_center.eventlog import EventLog
from control_center.overrides import OverrideError
from control_center.ui.model import LogFollower
from control_center.ui.overrides import Override, apply_override
from control_center.ui.screens.override_dialog import OverrideDialog
from control_center.ui.views.live_table import LiveTable


def with_anomalies(db: str, ids: dict) -> tuple[str, str]:
    """An anomalous frame of pachon-1m's NGC1234 observation with two detections and a
    follow-up observed; a suspect frame with no detection on palma-1m; a normal frame."""
    o1 = ids["observations"][0]
    with EventLog.open(db, durable=False) as log:
        b = LogBuilder(log)
        b.anomaly(11, o1, "cerro-pachon", "pachon-1m", score=0.931, transients=2)
        b.anomaly(16, "obs-palma-9", "la-palma", "palma-1m", verdict="suspect", score=None)
        b.anomaly(17, "obs-normal", "la-palma", "palma-1m", verdict="normal", score=0.1)
        _, follow = b.decision(18, "cerro-pachon", "pachon-0.4m",
                               request_id=f"followup:{o1}:0:colour", target="T1", filter="g")
        b.completed(19, follow, f"followup:{o1}:0:colour", "cerro-pachon", "pachon-0.4m",
                    filter="g")
    return o1, follow


def rows(db: str) -> dict:
    follower = LogFollower(db)
    while follower.poll().more:
        pass
    return {a.key: a for a in follower.snapshot().alerts}


def test_flagged_frames_and_detections_are_listed_with_their_follow_ups(demo_db) -> None:
    db, ids = demo_db
    o1, _ = with_anomalies(db, ids)
    alerts = rows(db)
    frame = alerts[f"anomaly:{o1}"]
    assert (frame.status, frame.kind, frame.site, frame.telescope) == (
        "anomalous", "anom+tr", "cerro-pachon", "pachon-1m")
    assert frame.score == pytest.approx(0.931)
    assert "frame verdict anomalous, score 0.931" in frame.note
    assert "2 transients: mag 18.50" in frame.note
    assert (frame.assigned, frame.completed) == (1, 1)
    assert any("pachon-0.4m observes T1 g" in line for line in frame.followups)
    suspect = alerts["anomaly:obs-palma-9"]
    assert (suspect.kind, suspect.score, suspect.assigned) == ("anomaly", None, 0)
    assert "anomaly:obs-normal" not in alerts            # a normal frame is not an anomaly
    assert alerts["ivo://gcn/SWIFT#1234"].status == "received"   # alerts are still there


def test_acknowledging_an_anomaly_is_recorded_and_shown(demo_db) -> None:
    db, ids = demo_db
    o1, _ = with_anomalies(db, ids)

    async def scenario() -> None:
        app = console(db, observer="di")
        async with app.run_test(size=(110, 32)) as pilot:
            await caught_up(pilot, app)
            await pilot.press("5")
            table = app.query_one("#alerts-table", LiveTable)
            key = f"anomaly:{o1}"
            await until(pilot, lambda: key in table.keys, timeout=15, what="the anomaly row")
            row = str(table.get_row(key))
            assert "pachon-1m" in row and "0.93" in row and "anomalous" in row
            table.move_cursor(row=table.keys.index(key))
            await until(pilot, lambda: "score 0.931" in str(
                app.query_one("#alert-detail").render()), timeout=15, what="the detail")
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, OverrideDialog),
                        timeout=15, what="the dialog")
            await pilot.press(*"seen", "enter")
            await until(pilot, lambda: "di" in str(table.get_row(key)), timeout=10,
                        what="the acknowledgement")

    asyncio.run(scenario())
    with EventLog.open(db, create=False) as log:
        ack = [r for r in log.read() if r.type_name == "AlertAcknowledged"]
    assert len(ack) == 1 and ack[0].actor == "observer:di"
    assert (ack[0].event.alert_id, ack[0].event.note) == (f"anomaly:{o1}", "seen")


def test_acknowledging_an_observation_without_anomaly_is_refused(demo_db) -> None:
    db, ids = demo_db
    with_anomalies(db, ids)
    with pytest.raises(OverrideError, match="no anomaly nor detection"):
        apply_override(db, Override("acknowledge_anomaly", {"observation_id": "obs-normal"},
                                    "acknowledge"), "di")
