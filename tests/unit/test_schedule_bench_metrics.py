"""The per-night figures folded from a log: value, dark time, alert latency, fairness."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from control_center.eventlog import EventLog
from control_center.eventlog.envelope import stream_id
from control_center.events import (
    AlertReceived,
    NightStarted,
    ObservationCompleted,
    ObservationRequested,
    SiteConditionsChanged,
)
from control_center.schedule_bench.metrics import fold_night, jain_index

T0 = datetime(2026, 3, 21, 20, tzinfo=UTC)


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_jain_index():
    assert jain_index([0.5, 0.5]) == pytest.approx(1.0)
    assert jain_index([1.0, 0.0]) == pytest.approx(0.5)
    assert jain_index([0.0, 0.0]) == 0.0
    assert jain_index([0.2, 0.4, 0.6]) == pytest.approx(1.44 / (3 * 0.56))


def _night_log(folder, *, cloud: float = 0.1) -> EventLog:
    folder.mkdir(parents=True, exist_ok=True)
    log = EventLog.open(folder / f"night-{cloud}.db", durable=False)
    night = uuid.uuid4()
    dark = [[_at(0).isoformat(), _at(120).isoformat()]]
    with log.batch(actor="test", sim_time=T0, correlation_id=night) as b:
        b.add(NightStarted, stream=night, network_name="n", network_source="", start=T0,
              end=_at(120), seed=1, sites={"s": {"dark": dark, "telescopes": ["t1", "t2"]}},
              policy="greedy", plugins=[], network={}, settings={}, plugin_versions={})
        for rid, program, exposure, repeats, filters in (
                ("gal-1", "galaxies", 100.0, 1, ["g", "r"]),    # asks 200 s
                ("var-1", "variables", 50.0, 4, ["r"])):         # asks 200 s
            b.add(ObservationRequested, stream=stream_id("request", rid), request_id=rid,
                  program=program, kind="science", target=rid, ra_deg=0.0, dec_deg=0.0,
                  filters=filters, exposure_s=exposure, priority=5.0, repeats=repeats,
                  not_before=None, not_after=None)
        b.add(SiteConditionsChanged, stream=stream_id("site", "s"), site="s",
              cloud_cover=cloud, humidity=0.3, wind_m_s=4.0, seeing_arcsec=1.0,
              sky_v_mag_arcsec2=21.5, open=True, reason="")
    with log.batch(actor="test", sim_time=_at(30), correlation_id=night) as b:
        b.add(AlertReceived, stream=stream_id("alert", "A1"), alert_id="A1", short_id="A1",
              broker="gcn", source="x", format="voevent", kind="grb", role="observation",
              issued=_at(30), event_time=None, ra_deg=1.0, dec_deg=1.0, error_deg=0.01,
              tiles=[], tile_side_deg=0.4, area90_deg2=None, tiles_probability=None,
              importance=1.0, priority=9.0, observable=True, note="", revision=1,
              supersedes=[], params={}, skymap=None, digest="d1")
        b.add(AlertReceived, stream=stream_id("alert", "A2"), alert_id="A2", short_id="A2",
              broker="gcn", source="x", format="voevent", kind="grb", role="observation",
              issued=_at(30), event_time=None, ra_deg=1.0, dec_deg=1.0, error_deg=0.01,
              tiles=[], tile_side_deg=0.4, area90_deg2=None, tiles_probability=None,
              importance=1.0, priority=9.0, observable=True, note="", revision=1,
              supersedes=[], params={}, skymap=None, digest="d2")
    done = [("gal-1", "g", "t1", 10, 12), ("var-1", "r", "t2", 20, 21),
            ("alert:A1", "r", "t1", 42, 44), ("alert:A1", "i", "t2", 40, 43)]
    for rid, filt, scope, begin, end in done:
        with log.batch(actor="test", sim_time=_at(end), correlation_id=night) as b:
            b.add(ObservationCompleted, stream=uuid.uuid4(), observation_id=str(uuid.uuid4()),
                  request_id=rid, site="s", telescope=scope, filter=filt, started=_at(begin),
                  ended=_at(end), snr=50.0, seeing_arcsec=1.0, airmass=1.2,
                  science_value=2.5)
    return log


def test_figures_of_a_night(tmp_path):
    with _night_log(tmp_path) as log:
        f = fold_night(log)
    assert f.science_value == pytest.approx(10.0)
    assert f.completed == 4
    # 2 + 1 + 2 + 3 minutes used of 2 telescopes x 120 dark minutes.
    assert f.dark_time_used == pytest.approx(8 / 240)
    # A1 followed 10 min after it arrived (its first observation, on t2); A2 never.
    assert (f.alerts, f.alerts_followed) == (2, 1)
    assert f.alert_latency_min == [pytest.approx(10.0)]
    # galaxies got 100 of 200 s, variables 50 of 200 s: x = 0.5, 0.25.
    assert f.programme_share == {"galaxies": 0.5, "variables": 0.25}
    assert f.fairness == pytest.approx(0.75**2 / (2 * (0.25 + 0.0625)))
    assert f.completions["alert:A1/r"] == 1


def test_fingerprint_tells_different_worlds_apart(tmp_path):
    with _night_log(tmp_path) as a, _night_log(tmp_path / "again", cloud=0.1) as b, \
            _night_log(tmp_path, cloud=0.5) as c:
        fa, fb, fc = fold_night(a), fold_night(b), fold_night(c)
    assert fa.fingerprint == fb.fingerprint
    assert fa.fingerprint != fc.fingerprint
