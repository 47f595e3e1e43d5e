"""The ``lightcurves`` plugin: calibrations on drift, follow-ups on light-curve alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from control_center.clock import SimulatedClock
from control_center.eventlog import EventLog, stream_id
from control_center.events import ObservationCompleted
from control_center.events.photometry import CalibrationDriftDetected, LightCurveAlert
from control_center.plugin_host import PluginHost
from control_center.plugin_host.testing import decision_context
from plugins.lightcurves import LightCurveWork

NOW = datetime(2025, 1, 15, 3, 0, tzinfo=UTC)


@pytest.fixture
def log(tmp_path: Path):
    with EventLog.open(tmp_path / "lc.db", clock=SimulatedClock(NOW)) as opened:
        yield opened


class Plugin:
    """The plugin behind a real plugin host (isolation, return-value checks)."""

    def __init__(self, log) -> None:
        self.log, self.plugin, self.failures = log, LightCurveWork(), []
        self.host = PluginHost.discover(enabled=[], extra={"lightcurves": self.plugin},
                                        on_failure=self.failures.append)

    def record(self, cls, when=NOW, **fields):
        with self.log.batch(actor="control-center:photometry", sim_time=when) as batch:
            event = batch.add(cls, stream=stream_id("test", cls.__name__), **fields)
        self.host.notify("openastro_event", event=event)
        return event

    def trigger(self, event):
        return dict(self.host.call_all("openastro_trigger", event=event)).get("lightcurves")

    def propose(self, telescope: str, now: datetime = NOW):
        context = decision_context(telescope=telescope, now=now)
        [(name, candidates)] = self.host.call_all("openastro_propose", context=context)
        assert name == "lightcurves" and not self.failures
        return candidates


def drift(plugin: Plugin, site: str = "cerro-pachon"):
    return plugin.record(CalibrationDriftDetected, site=site, telescope="pachon-1m", band="r",
                         night="n1", kind="within-night", drift_mag=-0.05, significance=8.0,
                         reason="zero point moved -0.050 mag over 5.0 h")


def alert(plugin: Plugin, kind: str, sites=("la-palma",)):
    return plugin.record(LightCurveAlert, target="VAR-0012", band="r", kind=kind, ra_deg=60.0,
                         dec_deg=-20.0, time_mjd=60690.1, amplitude_mag=0.6,
                         significance=9.0, statistic=0.0, n_points=6, sites=list(sites),
                         reason="detected where earlier frames saw nothing")


def test_drift_proposes_a_standard_field_at_the_drifting_site_only(log):
    p = Plugin(log)
    event = drift(p)
    assert "calibration drift at cerro-pachon" in p.trigger(event)
    [cal] = p.propose("pachon-1m")
    assert cal.kind == "calibration" and cal.filter == "r" and cal.target.startswith("SA")
    assert cal.request_id == "lightcurve-cal:cerro-pachon:r:1"
    assert p.propose("palma-1m") == []                 # another site does not drift
    assert p.propose("pachon-0.4m")[0].request_id == cal.request_id   # same site, has r
    drift(p)                                           # the same drift again: no duplicate
    assert len(p.propose("pachon-1m")) == 1


def test_calibration_ends_when_observed(log):
    p = Plugin(log)
    drift(p)
    [cal] = p.propose("pachon-1m")
    p.record(ObservationCompleted, when=NOW + timedelta(minutes=5),
             observation_id="o1", request_id=cal.request_id, site="cerro-pachon",
             telescope="pachon-1m", filter="r", started=NOW, ended=NOW, snr=50.0,
             seeing_arcsec=1.0, airmass=1.1, science_value=0.0)
    assert p.propose("pachon-1m") == []
    assert p.plugin.done[cal.request_id] == "observed"


def test_new_transient_is_followed_up_preferably_elsewhere_then_repeated(log):
    p = Plugin(log)
    event = alert(p, "new-transient")
    assert "new-transient of VAR-0012" in p.trigger(event)
    [here] = p.propose("palma-1m")
    [there] = p.propose("pachon-1m")
    assert here.kind == "followup" and (here.ra_deg, here.dec_deg) == (60.0, -20.0)
    assert there.priority > here.priority              # confirmation from another site
    p.record(ObservationCompleted, when=NOW, observation_id="o2",
             request_id=there.request_id, site="cerro-pachon", telescope="pachon-1m",
             filter="r", started=NOW, ended=NOW, snr=20.0, seeing_arcsec=1.0, airmass=1.2,
             science_value=1.0)
    assert p.propose("pachon-1m") == []                # spaced: not again at once
    assert len(p.propose("pachon-1m", NOW + timedelta(minutes=31))) == 1


def test_variability_asks_for_a_time_series_without_waking_telescopes(log):
    p = Plugin(log)
    event = alert(p, "variability", sites=("la-palma", "hanle"))
    assert p.trigger(event) is None
    [fu] = p.propose("hanle-0.7m")
    assert fu.request_id == "lightcurve-fu:VAR-0012:r:variability:1"
    assert p.plugin.pending[fu.request_id].repeats == 3
    assert p.propose("hanle-0.7m", NOW + timedelta(hours=13)) == []   # window closed
