"""Simulated sites and networks: fast alt-az, observe(), determinism, speed."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from control_center import astro
from control_center.network import load_network
from simulator import Observation, SimulatedNetwork, SimulatedSite
from simulator.horizon import HorizonFrame, local_solar_hour
from simulator.telescope import expected_duration_s

NETWORK = load_network()
START = datetime(2026, 3, 21, 18, tzinfo=UTC)
END = START + timedelta(hours=10)


@pytest.fixture(scope="module")
def sim() -> SimulatedNetwork:
    return SimulatedNetwork(NETWORK, 11, START, END)


def test_fast_altaz_matches_astropy():
    rng = np.random.default_rng(0)
    ra = rng.uniform(0, 360, 40)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, 40)))
    times = [START, START + timedelta(hours=4.3), START + timedelta(days=200)]
    for site in NETWORK.sites:
        frame = HorizonFrame(site.latitude_deg, site.longitude_deg, START)
        alt_ref, az_ref = astro.altaz_grid(site.location, ra, dec, times)
        for j, t in enumerate(times):
            if j == 2:  # precession taken at the observation's epoch
                frame = HorizonFrame(site.latitude_deg, site.longitude_deg, t)
            fast = np.array([frame.altaz(r, d, t) for r, d in zip(ra, dec, strict=True)])
            assert np.max(np.abs(fast[:, 0] - alt_ref[:, j])) < 0.1
            sep = astro.angular_separation_deg(fast[:, 1], fast[:, 0], az_ref[:, j], alt_ref[:, j])
            assert np.max(sep) < 0.1
            alt_many, _az_many = frame.altaz_many(ra, dec, t)
            np.testing.assert_allclose(alt_many, fast[:, 0], atol=1e-9)


def test_local_solar_hour():
    noon_greenwich = datetime(2026, 3, 21, 12, tzinfo=UTC)
    assert local_solar_hour(0.0, noon_greenwich) == pytest.approx(12.0)
    assert local_solar_hour(90.0, noon_greenwich) == pytest.approx(18.0)
    assert local_solar_hour(-90.0, noon_greenwich) == pytest.approx(6.0)


def _observe(site: SimulatedSite, t: datetime, **kw) -> Observation:
    args = {"telescope_name": site.site.telescopes[0].name, "target_ra_deg": 150.0,
            "target_dec_deg": 10.0, "v_mag": 14.0, "filter": "r", "exposure_s": 120.0,
            "priority": 5.0, "start": t, "pointing": (100.0, 0.0), "current_filter": "g"} | kw
    return site.observe(**args)


def test_observation_timeline(sim):
    site = sim["la-palma"]
    scope = site.telescopes["palma-1m"]
    t = datetime(2026, 3, 21, 23, tzinfo=UTC)
    obs = _observe(site, t)
    setup = max(50.0 / scope.slew_rate_deg_s + scope.settle_s, scope.filter_change_s)
    assert obs.start == t
    assert obs.exposure_start == t + timedelta(seconds=setup)
    assert obs.end == obs.exposure_start + timedelta(seconds=120.0 + scope.readout_s)
    assert obs.overhead_s == pytest.approx(setup + scope.readout_s)
    expected = expected_duration_s(scope, 100.0, 0.0, "g", [150.0], [10.0], ["r"], [120.0])
    assert (obs.end - obs.start).total_seconds() == pytest.approx(float(expected[0]))
    alt, az = site.altaz(150.0, 10.0, obs.exposure_start + timedelta(seconds=60))
    assert (obs.altitude_deg, obs.azimuth_deg) == pytest.approx((alt, az))
    assert obs.outcome.airmass == pytest.approx(float(astro.airmass(alt)))


def test_observations_are_deterministic(sim):
    other = SimulatedNetwork(NETWORK, 11, START, END)
    different = SimulatedNetwork(NETWORK, 12, START, END)
    times = [datetime(2026, 3, 21, 21, tzinfo=UTC) + timedelta(minutes=7 * k) for k in range(40)]
    a = [_observe(sim["la-palma"], t) for t in times]
    assert a == [_observe(other["la-palma"], t) for t in times]
    # luck depends on (seed, site, telescope, start), not on the calls made before
    assert a[::-1] == [_observe(sim["la-palma"], t) for t in reversed(times)]
    b = [_observe(different["la-palma"], t) for t in times]
    assert [o.outcome for o in a] != [o.outcome for o in b]


def test_observe_fails_when_the_site_is_closed():
    site = NETWORK.site("hanle")
    overcast = replace(site, climate=replace(site.climate, clear_night_fraction=0.0))
    sim = SimulatedSite(overcast, 1, START, END)
    for k in range(10):
        obs = _observe(sim, START + timedelta(hours=0.5 * k), telescope_name="hanle-0.7m")
        assert not obs.success and obs.science_value == 0.0
        assert obs.outcome.reason.startswith("dome closed: ")


def test_observe_succeeds_on_a_clear_dark_night():
    site = NETWORK.site("cerro-pachon")
    clear = replace(site, climate=replace(site.climate, clear_night_fraction=1.0,
                                          median_wind_m_s=2.0, median_humidity=0.1))
    sim = SimulatedSite(clear, 1, START, END + timedelta(hours=2))
    t = datetime(2026, 3, 22, 5, tzinfo=UTC)  # local 00:17, Sun far below
    starts = [t + timedelta(minutes=5 * k) for k in range(30)]
    results = [_observe(sim, s, telescope_name="pachon-1m", target_dec_deg=-30.0,
                        target_ra_deg=sim.frame.local_sidereal_deg(s)) for s in starts]
    assert sum(o.success for o in results) >= 28
    assert all(o.outcome.airmass < 1.1 for o in results)
    assert all(o.science_value > 0 for o in results if o.success)


def test_observe_rejects_unknown_telescope_and_filter(sim):
    with pytest.raises(KeyError, match="no telescope"):
        _observe(sim["la-palma"], START, telescope_name="hubble")
    with pytest.raises(ValueError, match="no filter"):
        _observe(sim["la-palma"], START, filter="Ha")
    with pytest.raises(KeyError):
        sim.site_of("hubble")
    assert _observe(sim["la-palma"], START, v_mag=None).outcome.reason


def test_observe_is_fast(sim):
    site = sim["cerro-pachon"]
    t0 = datetime(2026, 3, 22, 2, tzinfo=UTC)
    _observe(site, t0, telescope_name="pachon-1m")
    n = 300
    began = time.perf_counter()
    for k in range(n):
        _observe(site, t0 + timedelta(seconds=37 * k), telescope_name="pachon-1m",
                 target_ra_deg=(k * 7.0) % 360.0, target_dec_deg=-60.0 + (k % 90))
    assert (time.perf_counter() - began) / n < 2e-3


def test_sky_is_brighter_under_a_full_moon():
    full = datetime(2026, 4, 2, 2, tzinfo=UTC)  # full Moon on 2026-04-02
    site = SimulatedSite(NETWORK.site("la-palma"), 1, full - timedelta(hours=5),
                         full + timedelta(hours=3))
    moon_ra, moon_dec, moon_alt, illum = site.ephemeris.moon(full.timestamp())
    assert illum > 0.95 and moon_alt > 20
    near = site.sky_brightness(moon_ra, moon_dec + 15.0, full)
    dark = site.site.climate.dark_sky_v_mag_arcsec2
    assert near < dark - 2.0
    assert site.conditions(full).sky_v_mag_arcsec2 < dark - 1.5


def test_network_api(sim):
    assert set(sim.links()) == {s.name for s in NETWORK.sites}
    assert sim.site_of("hanle-0.7m") is sim["hanle"]
    now = sim.conditions(START + timedelta(hours=2))
    assert set(now) == set(sim.sites)
    changes = sim.condition_changes()
    assert [(t, n) for t, n, _ in changes] == sorted((t, n) for t, n, _ in changes)
    assert {n for _, n, _ in changes} == set(sim.sites)
    via_network = sim.observe("palma-1m", 150.0, 10.0, 14.0, "r", 60.0, 5.0,
                              datetime(2026, 3, 21, 23, tzinfo=UTC), None, None)
    direct = sim["la-palma"].observe("palma-1m", 150.0, 10.0, 14.0, "r", 60.0, 5.0,
                                     datetime(2026, 3, 21, 23, tzinfo=UTC), None, None)
    assert via_network == direct
