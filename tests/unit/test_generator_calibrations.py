"""Calibrations when data quality calls for them, for the telescope that needs them, once."""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from control_center.events import (
    FrameAnalyzed,
    ObservationAssigned,
    ObservationCompleted,
    ObservationFailed,
    SiteConditionsChanged,
)
from control_center.network import load_network
from control_center.plugin_api import NightPlan, QueuedRequest, Settings
from control_center.plugin_host import PluginHost
from control_center.plugin_host.testing import CLEAR, decision_context
from plugins.generator.calibrations import CalibrationPlanner
from simulator.catalogue import standard_fields
from simulator.horizon import HorizonFrame

NETWORK = load_network()
NOW = datetime(2025, 1, 15, 3, 0, tzinfo=UTC)
SCOPE = "pachon-1m"
SITE = "cerro-pachon"
_ids = itertools.count(1)


def event(cls, when: datetime = NOW, **fields):
    """A real event as the log would hand it to ``openastro_event``."""
    return cls(originator_id=uuid.UUID(int=next(_ids)), originator_version=1, timestamp=when,
               sim_time=when, actor="test", causation_id=None, correlation_id=None, **fields)


def conditions(site: str = SITE, *, seeing: float = 1.0, cloud: float = 0.0,
               when: datetime = NOW):
    return event(SiteConditionsChanged, when, site=site, cloud_cover=cloud, humidity=0.2,
                 wind_m_s=4.0, seeing_arcsec=seeing, sky_v_mag_arcsec2=21.5, open=True,
                 reason="")


def completed(request_id: str = "galaxies-NGC1", *, telescope: str = SCOPE, site: str = SITE,
              seeing: float = 1.0, airmass: float = 1.1, filter: str = "r",
              observation_id: str | None = None, when: datetime = NOW):
    return event(ObservationCompleted, when, observation_id=observation_id or f"o{next(_ids)}",
                 request_id=request_id, site=site, telescope=telescope, filter=filter,
                 started=when, ended=when, snr=50.0, seeing_arcsec=seeing, airmass=airmass,
                 science_value=3.0)


def failed(request_id: str, *, when: datetime = NOW):
    return event(ObservationFailed, when, observation_id=f"o{next(_ids)}", request_id=request_id,
                 site=SITE, telescope=SCOPE, filter="r", started=when, ended=when,
                 reason="dome closed: wind 15.5 m/s > 15 m/s")


def frame(observation_id: str, telescope: str = SCOPE, **measures):
    return event(FrameAnalyzed, observation_id=observation_id, site=SITE, telescope=telescope,
                 seq=next(_ids), pipeline="edge", measures=measures, error="")


def assigned(ra: float, dec: float, request_id: str = "survey:x", telescope: str = SCOPE):
    return event(ObservationAssigned, observation_id=f"o{next(_ids)}", request_id=request_id,
                 site=SITE, telescope=telescope, target="x", ra_deg=ra, dec_deg=dec, filter="r",
                 exposure_s=60.0, expected_start=NOW, expected_end=NOW, expected_value=1.0)


def context(telescope: str = SCOPE, now: datetime = NOW, *, pointing=None, filter=None,
            **kw):
    ctx = decision_context(telescope=telescope, now=now, **kw)
    ra, dec = pointing if pointing else (None, None)
    return replace(ctx, telescope=replace(ctx.telescope, pointing_ra_deg=ra,
                                          pointing_dec_deg=dec, filter=filter))


def proposed(plugin: CalibrationPlanner, ctx=None) -> dict[str, object]:
    return {c.request_id: c for c in plugin.openastro_propose(ctx or context())}


@pytest.fixture
def plugin() -> CalibrationPlanner:
    p = CalibrationPlanner()
    p.openastro_configure(NETWORK)
    p.openastro_event(conditions())
    return p


def _routine_done(plugin: CalibrationPlanner, telescope: str = SCOPE) -> None:
    for what in ("dark", "standard"):
        plugin.openastro_event(completed(f"calibration:{telescope}:{what}:0",
                                         telescope=telescope))


def test_a_dark_and_a_standard_once_a_night_after_opening(plugin):
    found = proposed(plugin)
    assert set(found) == {"calibration:pachon-1m:dark:0", "calibration:pachon-1m:standard:0"}
    assert all(c.kind == "calibration" and c.priority >= 9 for c in found.values())
    # the standard is the Landolt field highest in the sky now
    standard = found["calibration:pachon-1m:standard:0"]
    frame_ = HorizonFrame(-30.2407, -70.7366, NOW)
    altitude = {t.name: frame_.altaz(t.ra_deg, t.dec_deg, NOW)[0] for t in standard_fields()}
    assert standard.target == max(altitude, key=altitude.get)
    assert altitude[standard.target] > 45
    # the other telescope of the site has its own
    assert set(proposed(plugin, context("pachon-0.4m"))) == {
        "calibration:pachon-0.4m:dark:0", "calibration:pachon-0.4m:standard:0"}

    plugin.openastro_event(completed("calibration:pachon-1m:dark:0"))
    assert set(proposed(plugin)) == {"calibration:pachon-1m:standard:0"}
    plugin.openastro_event(completed("calibration:pachon-1m:standard:0"))
    assert proposed(plugin) == {}
    assert plugin.done["calibration:pachon-1m:dark:0"] == "observed"
    # the next night they are due again, with new ids
    plugin.openastro_night_started(NightPlan(NOW + timedelta(days=1),
                                             NOW + timedelta(days=1, hours=10), NETWORK, {}))
    assert set(proposed(plugin, context(now=NOW + timedelta(days=1)))) == {
        "calibration:pachon-1m:dark:1", "calibration:pachon-1m:standard:1"}


def test_nothing_while_the_site_is_closed(plugin):
    closed = replace(CLEAR, open=False, reason="humidity 0.92 > 0.85")
    assert proposed(plugin, context(conditions=closed)) == {}


def test_darks_at_the_current_pointing_or_the_zenith(plugin):
    frame_ = HorizonFrame(-30.2407, -70.7366, NOW)
    lst = frame_.local_sidereal_deg(NOW)
    up = (lst, -40.0)
    dark = proposed(plugin, context(pointing=up, filter="i"))["calibration:pachon-1m:dark:0"]
    assert (dark.ra_deg, dark.dec_deg, dark.filter) == (*up, "i")   # no slew, no filter change
    low = ((lst + 100.0) % 360.0, 0.0)                                # set long ago
    dark = proposed(plugin, context(pointing=low))["calibration:pachon-1m:dark:0"]
    assert frame_.altaz(dark.ra_deg, dark.dec_deg, NOW)[0] > 85


def test_focus_when_images_are_worse_than_the_seeing_for_several_frames(plugin):
    _routine_done(plugin)
    for _ in range(2):
        plugin.openastro_event(completed(seeing=2.6))
    plugin.openastro_event(completed(seeing=1.2))           # a good one breaks the run
    plugin.openastro_event(completed(seeing=2.6))
    assert proposed(plugin) == {}
    plugin.openastro_event(completed(seeing=2.7))
    assert proposed(plugin) == {}                           # two in a row: not yet
    plugin.openastro_event(completed(seeing=2.5))
    focus = proposed(plugin)["calibration:pachon-1m:focus:0"]
    assert focus.priority >= 9 and "focus" in focus.target
    assert "calibration:pachon-0.4m:focus:0" not in proposed(plugin, context("pachon-0.4m"))
    plugin.openastro_event(completed("calibration:pachon-1m:focus:0"))
    assert proposed(plugin) == {}


def test_worse_seeing_at_the_site_is_not_a_focus_problem(plugin):
    _routine_done(plugin)
    plugin.openastro_event(conditions(seeing=2.2))
    for _ in range(5):   # 2.2" at zenith gives ~2.5" in r at airmass 1.1: as expected
        plugin.openastro_event(completed(seeing=2.6))
    assert proposed(plugin) == {}


def _measured(plugin, fwhm: float, k: int) -> None:
    plugin.openastro_event(frame(f"f{k}", fwhm_arcsec=fwhm))
    plugin.openastro_event(completed(seeing=1.0, observation_id=f"f{k}"))


def test_measured_fwhm_is_judged_against_the_telescope_own_typical_frames(plugin):
    """The edge pipeline measures 6" on a coarsely sampled frame in 1" seeing: its normal."""
    _routine_done(plugin)
    for k in range(20):
        _measured(plugin, 6.0 + 0.3 * (k % 3), k)
    assert proposed(plugin) == {}
    for k in range(20, 23):        # twice as wide as usual, three frames in a row
        _measured(plugin, 12.0, k)
    assert "calibration:pachon-1m:focus:0" in proposed(plugin)


def test_measured_fwhm_is_not_judged_before_it_is_learned(plugin):
    _routine_done(plugin)
    for k in range(5):
        _measured(plugin, 6.0, k)
    assert proposed(plugin) == {}


def _zero_point(plugin, k: str, zp: float, airmass: float = 1.1) -> None:
    plugin.openastro_event(frame(k, zero_point=zp))
    plugin.openastro_event(completed(observation_id=k, filter="g", airmass=airmass))


def test_a_standard_when_the_zero_point_drifts(plugin):
    _routine_done(plugin)
    for k, zp in enumerate((25.00, 24.97, 25.03, 25.01, 24.99)):   # the reference: 25.00
        _zero_point(plugin, f"z{k}", zp)
    assert proposed(plugin) == {}
    # airmass alone moves the measured zero point: corrected, no drift
    _zero_point(plugin, "za", 25.0 - 0.17 * 0.9, airmass=2.0)
    assert proposed(plugin) == {}
    # one odd frame is not a drift
    for k, zp in enumerate((24.6, 25.01, 24.99)):
        _zero_point(plugin, f"o{k}", zp)
        assert proposed(plugin) == {}
    for k in range(3):   # dew on the mirror: 0.3 mag lost, and it stays
        _zero_point(plugin, f"d{k}", 24.7)
    standard = proposed(plugin)["calibration:pachon-1m:standard:1"]
    assert standard.filter == "g" and standard.target.startswith("SA")
    plugin.openastro_event(completed("calibration:pachon-1m:standard:1", filter="g"))
    assert proposed(plugin) == {}          # measured afresh from the standard on
    for k in range(5):
        _zero_point(plugin, f"n{k}", 24.7)
    assert proposed(plugin) == {}


def test_no_standard_for_drifts_under_clouds(plugin):
    _routine_done(plugin)
    for k in range(5):
        _zero_point(plugin, f"r{k}", 25.0)
    plugin.openastro_event(conditions(cloud=0.6))
    for k, zp in enumerate((24.2, 24.3, 24.1, 24.2, 24.2)):
        _zero_point(plugin, f"c{k}", zp)
    assert proposed(plugin) == {}


def test_pointing_check_after_many_slews_or_a_reported_offset(plugin):
    _routine_done(plugin)
    for k in range(100):         # the first sets where it points: 99 slews
        plugin.openastro_event(assigned(10.0 * (k % 2), 0.0))
    assert proposed(plugin) == {}
    plugin.openastro_event(assigned(10.0, 0.5))          # not a slew
    assert proposed(plugin) == {}
    plugin.openastro_event(assigned(30.0, 0.0))          # the 100th
    check = proposed(plugin)["calibration:pachon-1m:pointing:0"]
    assert abs(check.dec_deg - (-30.24 + 30.0)) < 0.1
    plugin.openastro_event(completed("calibration:pachon-1m:pointing:0"))
    assert proposed(plugin) == {}
    plugin.openastro_event(frame("p1", pointing_offset_arcsec=45.0))
    assert "calibration:pachon-1m:pointing:1" in proposed(plugin)


def test_another_dark_after_the_camera_temperature_changed(plugin):
    plugin.openastro_event(frame("t0", camera_temperature_c=-20.0))
    _routine_done(plugin)
    plugin.openastro_event(frame("t1", camera_temperature_c=-19.5))
    assert proposed(plugin) == {}
    plugin.openastro_event(frame("t2", camera_temperature_c=-15.0))
    assert "calibration:pachon-1m:dark:1" in proposed(plugin)


def test_twilight_flats_only_in_twilight(plugin):
    _routine_done(plugin)
    night = decision_context().night
    dusk = NOW + timedelta(minutes=20)
    in_twilight = replace(night, dark={SITE: ((dusk, dusk + timedelta(hours=9)),)})
    flats = proposed(plugin, replace(context(), night=in_twilight))
    assert set(flats) == {f"calibration:pachon-1m:flat-{f}:0" for f in "grizy" if f != "y"}
    assert {c.filter for c in flats.values()} == {"g", "r", "i", "z"}
    plugin.openastro_event(completed("calibration:pachon-1m:flat-g:0"))
    assert "calibration:pachon-1m:flat-g:0" not in proposed(plugin,
                                                            replace(context(), night=in_twilight))
    assert proposed(plugin) == {}          # in the dark: no flats


def test_failures_pause_then_give_up(plugin):
    dark = "calibration:pachon-1m:dark:0"
    assert dark in proposed(plugin)
    plugin.openastro_event(assigned(0.0, 0.0, request_id=dark))
    assert dark not in proposed(plugin)                       # being taken
    t = NOW
    for k in range(3):
        plugin.openastro_event(failed(dark, when=t))
        assert dark not in proposed(plugin, context(now=t + timedelta(minutes=5)))
        t += timedelta(minutes=16)
        if k < 2:
            assert dark in proposed(plugin, context(now=t))
    assert dark not in proposed(plugin, context(now=t))
    assert plugin.done[dark] == "failed"


def test_a_due_calibration_is_chosen_over_ordinary_science():
    science = QueuedRequest("galaxies-NGC1", "galaxies", "science", "NGC1", 60.0, -30.0,
                            ("r",), 300.0, 6.0, 1)
    with PluginHost.discover(enabled=["calibrations", "queue", "value-formula", "greedy"]) as h:
        h.configure(Settings(seed=1), NETWORK)
        ctx = context(queue=[science], pointing=(60.0, -30.0), filter="r")
        candidates = [c for _, cs in h.call_all("openastro_propose", context=ctx) for c in cs]
        assert {c.kind for c in candidates} == {"science", "calibration"}
        _, scores = h.call_first("openastro_score", context=ctx, candidates=candidates)
        _, choice = h.call_first("openastro_choose", context=ctx, candidates=candidates,
                                 scores=scores)
    assert choice.candidate.startswith("calibration:pachon-1m:")


def test_fast():
    p = CalibrationPlanner()
    p.openastro_configure(NETWORK)
    p.openastro_event(conditions())
    ctx = context(pointing=(60.0, -30.0), filter="r")
    timings = []
    for _ in range(50):
        t = time.perf_counter()
        p.openastro_propose(ctx)
        timings.append(time.perf_counter() - t)
    assert min(timings) < 0.002
