"""Recording notices in the log: accepted, updated, duplicate, retracted, rejected; folders."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from control_center.alerts import AlertFolder, AlertFolderError, ingest, ingest_outcome
from control_center.clock import SimulatedClock
from control_center.eventlog import EventLog, stream_id
from control_center.events.alert import AlertReceived, AlertRejected, AlertRetracted
from control_center.network import load_network
from simulator.alerts import voevent_xml

DATA = Path(__file__).resolve().parents[1] / "data" / "alerts"
NOW = datetime(2025, 1, 15, 2, 45, tzinfo=UTC)
NETWORK = load_network()


@pytest.fixture
def log(tmp_path: Path):
    with EventLog.open(tmp_path / "alerts.db", clock=SimulatedClock(NOW)) as opened:
        yield opened


def run(log, payload, **kwargs):
    return ingest_outcome(log, payload, network=NETWORK, sim_time=NOW, **kwargs)


def test_a_swift_grb_is_recorded_with_everything_a_decision_needs(log) -> None:
    outcome = run(log, DATA / "swift_bat_grb.xml")
    event = outcome.event
    assert outcome.status == "accepted" and isinstance(event, AlertReceived)
    assert event.originator_id == stream_id("alert", event.alert_id)
    assert (event.kind, event.role, event.broker, event.source, event.format) == (
        "grb", "observation", "nasa.gsfc.gcn", "swift_bat_grb.xml", "voevent")
    assert event.short_id == "nasa.gsfc.gcn-SWIFT-BAT_GRB_Pos_1283461-259"
    assert event.ra_deg == pytest.approx(101.248, abs=1e-3)
    assert event.error_deg == pytest.approx(0.05)
    assert event.tiles == []                           # 3' circle fits a 20' field
    assert event.tile_side_deg == pytest.approx(1 / 3)
    assert event.priority == pytest.approx(9.75)       # 5 + 5 * importance 0.95
    assert event.observable and "cerro-pachon" in event.note
    assert event.sim_time == NOW and event.actor == "control-center"
    assert event.params["Packet_Type"] == "61" and event.revision == 1
    [recorded] = list(log.read())
    assert recorded.event.alert_id == event.alert_id


def test_a_neutrino_error_circle_larger_than_a_field_is_tiled(log) -> None:
    event = run(log, DATA / "icecube_gold.xml").event
    assert 10 <= len(event.tiles) <= 50
    assert event.tiles_probability > 0.9               # the whole 0.7-degree circle
    probs = [t[2] for t in event.tiles]
    assert probs == sorted(probs, reverse=True)
    assert event.area90_deg2 == pytest.approx(3.1416 * 0.49, rel=0.1)


def test_a_gravitational_wave_skymap_becomes_tiles(log) -> None:
    event = run(log, DATA / "lvk_S250115ab_preliminary.xml", max_tiles=40).event
    assert event.kind == "gw" and event.ra_deg is None
    assert len(event.tiles) == 40
    assert all(len(t) == 3 for t in event.tiles)
    assert 0 < event.tiles_probability < 0.9           # 20' fields over hundreds of deg2
    assert event.area90_deg2 > 50
    assert event.skymap.endswith("bayestar.fits.gz")
    assert "tiles hold" in event.note and "observable" in event.note


def test_revisions_duplicates_and_retractions(log) -> None:
    first = run(log, DATA / "igwn_S250115ab_preliminary.json")
    assert first.status == "accepted" and first.event.revision == 1
    before = log.last_position()
    again = run(log, DATA / "igwn_S250115ab_preliminary.json")
    assert again.status == "duplicate" and not again.recorded
    assert log.last_position() == before               # nothing appended
    assert again.event.digest == first.event.digest
    raw = json.loads((DATA / "igwn_S250115ab_preliminary.json").read_bytes())
    raw["alert_type"], raw["time_created"] = "UPDATE", "2025-01-15T03:30:00Z"
    update = run(log, json.dumps(raw).encode())
    assert update.status == "updated" and update.event.revision == 2
    assert update.event.originator_id == first.event.originator_id
    assert update.event.originator_version == 2
    retraction = run(log, DATA / "igwn_S250115ab_retraction.json")
    assert retraction.status == "retracted"
    assert isinstance(retraction.event, AlertRetracted)
    assert retraction.event.retracts == ["S250115ab"]
    stream = log.stream(stream_id("alert", "S250115ab"))
    assert [type(e).__name__ for e in stream] == ["AlertReceived", "AlertReceived",
                                                  "AlertRetracted"]


GOOD = voevent_xml("ivo://test/ingest#1", issued=NOW, ra_deg=101.0, dec_deg=-22.0,
                   error_deg=0.01, importance=0.9)


@pytest.mark.parametrize(("payload", "reason", "alert_id"), [
    (GOOD[:300], "malformed XML", ""),
    (b"{not json", "malformed JSON", ""),
    (GOOD.replace(b"<C1>101.0000</C1>", b"<C1>-3</C1>"), "C1 (RA) -3 deg is outside",
     "ivo://test/ingest#1"),
    (voevent_xml("ivo://test/ingest#2", issued=NOW), "no position", "ivo://test/ingest#2"),
    ((b'{"superevent_id": "S9", "alert_type": "PRELIMINARY", "time_created": '
     b'"2025-01-15T02:00:00Z", "event": {"skymap": "AAAA"}}'), "undecodable skymap", "S9"),
])
def test_bad_notices_become_rejections_naming_the_problem(log, payload, reason,
                                                          alert_id) -> None:
    outcome = run(log, payload, source="broker-topic")
    event = outcome.event
    assert outcome.status == "rejected" and isinstance(event, AlertRejected)
    assert reason in event.reason
    assert (event.source, event.alert_id, event.size_bytes) == ("broker-topic", alert_id,
                                                                len(payload))
    expected = stream_id("alert", alert_id) if alert_id else stream_id("alert-rejected",
                                                                       event.digest)
    assert event.originator_id == expected


def test_nothing_is_lost_on_a_mixed_batch(log, tmp_path: Path) -> None:
    inputs = [DATA / "swift_bat_grb.xml", b"garbage", tmp_path / "missing.xml",
              GOOD.decode(), DATA / "ep_wxt_alert.json", b"<VOEvent", b""]
    statuses = [run(log, item).status for item in inputs]
    assert statuses == ["accepted", "rejected", "rejected", "accepted", "accepted",
                        "rejected", "rejected"]
    records = list(log.read())
    assert len(records) == len(inputs)
    missing = records[2].event
    assert missing.source == "missing.xml" and "cannot read" in missing.reason
    assert log.verify().ok


def test_ingest_returns_the_event(log) -> None:
    event = ingest(log, GOOD, network=NETWORK, sim_time=NOW, source="x")
    assert isinstance(event, AlertReceived) and event.source == "x"


def test_a_position_no_site_can_reach_is_flagged(log) -> None:
    south = dataclasses.replace(NETWORK, sites=(NETWORK.site("cerro-pachon"),))
    payload = voevent_xml("ivo://test/north#1", issued=NOW, ra_deg=10.0, dec_deg=70.0,
                          error_deg=0.01)
    event = ingest(log, payload, network=south, sim_time=NOW)
    assert event.observable is False
    assert event.note.startswith("never observable: dec +70.00 culminates at")
    by_day = voevent_xml("ivo://test/sun#1", issued=NOW, ra_deg=296.5, dec_deg=-21.2,
                         error_deg=0.01)
    event = ingest(log, by_day, network=NETWORK, sim_time=NOW)
    assert event.observable is False and "daylight" in event.note


def test_a_failure_while_tiling_is_recorded_not_raised(log, monkeypatch) -> None:
    import control_center.alerts.ingestion as module

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(module, "tile_localisation", broken)
    outcome = run(log, DATA / "icecube_gold.xml")
    assert outcome.status == "rejected"
    assert outcome.event.reason == "internal error while tiling: RuntimeError: boom"
    assert outcome.event.alert_id.startswith("ivo://nasa.gsfc.gcn/AMON#")


# -- watched folders --------------------------------------------------------------------------


def test_folder_returns_new_and_changed_files_in_name_order(tmp_path: Path) -> None:
    folder = AlertFolder(tmp_path)
    assert folder.poll() == []
    for name in ("b.xml", "a.json", ".hidden.xml", "c.xml.tmp", "d.part"):
        (tmp_path / name).write_text("x")
    (tmp_path / "sub").mkdir()
    assert [p.name for p in folder.poll()] == ["a.json", "b.xml"]
    assert folder.poll() == []
    (tmp_path / "c.xml.tmp").rename(tmp_path / "c.xml")           # the writer is done
    (tmp_path / "b.xml").write_text("changed")
    assert [p.name for p in folder.poll()] == ["b.xml", "c.xml"]
    stat = (tmp_path / "a.json").stat()
    os.utime(tmp_path / "a.json", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert [p.name for p in folder.poll()] == ["a.json"]
    (tmp_path / "a.json").unlink()
    assert folder.poll() == []
    (tmp_path / "a.json").write_text("x")                        # back again: new
    assert [p.name for p in folder.poll()] == ["a.json"]


def test_folder_feeds_ingest(tmp_path: Path, log) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    folder = AlertFolder(inbox)
    shutil.copy(DATA / "swift_bat_grb.xml", inbox / "1.xml")
    shutil.copy(DATA / "ep_wxt_alert.json", inbox / "2.json")
    (inbox / "3.xml").write_bytes(b"<VOEvent")
    statuses = [run(log, p).status for p in folder.poll()]
    assert statuses == ["accepted", "accepted", "rejected"]
    shutil.copy(DATA / "swift_bat_grb.xml", inbox / "4.xml")       # the same notice again
    assert [run(log, p).status for p in folder.poll()] == ["duplicate"]


def test_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(AlertFolderError, match="does not exist"):
        AlertFolder(tmp_path / "nope")
    folder = AlertFolder(tmp_path)
    tmp_path.rmdir()
    with pytest.raises(AlertFolderError, match="cannot list"):
        folder.poll()
