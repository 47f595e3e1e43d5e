"""Transients of the simulated sky: a seeded population, light curves, detections."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from control_center.network import load_network
from simulator import SimulatedNetwork
from simulator.catalogue import transient_hosts
from simulator.outcome import simulate_outcome
from simulator.transients import TransientSky, transient_sky

T = datetime(2026, 3, 22, 0, 0, tzinfo=UTC)
NETWORK = load_network()


@pytest.fixture(scope="module")
def sky() -> TransientSky:
    return transient_sky(1)


def _key(s):
    return s.name, round(s.ra_deg, 9), round(s.dec_deg, 9), round(s.peak_mag, 9)


def test_the_population_is_a_function_of_the_seed(sky):
    again = TransientSky(1)
    later = T + timedelta(days=40)
    # asked in another order (bins built in another order): the same sky
    assert [_key(s) for s in again.active(later, max_mag=21)] == \
        [_key(s) for s in sky.active(later, max_mag=21)]
    assert [_key(s) for s in again.active(T, max_mag=21)] == \
        [_key(s) for s in sky.active(T, max_mag=21)]
    other = TransientSky(2).active(T, max_mag=21)
    assert {_key(s) for s in other} != {_key(s) for s in sky.active(T, max_mag=21)}


def test_supernovae_sit_in_their_hosts_and_the_rest_anywhere(sky):
    active = sky.active(T, max_mag=21)
    kinds = {s.kind for s in active}
    assert kinds == {"supernova", "flare", "fast-transient"}
    supernovae = [s for s in active if s.kind == "supernova"]
    generated = {h.name: h for h in transient_hosts(1, 100)}
    assert any(s.host in generated for s in supernovae)
    assert any(s.host.startswith(("NGC", "IC")) for s in supernovae)
    for s in supernovae:
        if s.host in generated:
            h = generated[s.host]
            sep = math.hypot((s.ra_deg - h.ra_deg) * math.cos(math.radians(h.dec_deg)),
                             s.dec_deg - h.dec_deg)
            assert sep < 2 / 60      # within 2 arcmin of the host centre
    # a lively but sparse sky: tens of SNe brighter than 21, hundreds of flares on 41,000 deg2
    assert 5 <= len(supernovae) <= 100
    assert len(active) < 2000


def test_light_curves_rise_peak_decline_and_redden(sky):
    sn = next(s for s in sky.active(T, max_mag=21) if s.kind == "supernova")
    peak = sn.peak_time
    assert sn.mag("r", peak) == pytest.approx(sn.peak_mag)
    assert sn.mag("r", peak - timedelta(days=3)) > sn.peak_mag        # still rising
    assert sn.mag("r", peak + timedelta(days=10)) == pytest.approx(
        sn.peak_mag + 10 * sn.decline_mag_per_day)
    assert sn.mag("r", sn.explosion - timedelta(hours=1)) == math.inf
    colour_then = sn.mag("g", peak) - sn.mag("r", peak)
    colour_later = sn.mag("g", peak + timedelta(days=20)) - sn.mag("r", peak + timedelta(days=20))
    assert colour_later > colour_then                                  # cools, reddens
    flare = next(s for s in sky.active(T, max_mag=30) if s.kind == "flare")
    assert flare.mag("g", flare.peak_time) < flare.mag("r", flare.peak_time)   # hot: blue
    assert flare.mag("r", flare.peak_time + timedelta(hours=3)) > flare.peak_mag + 3


def _bright_supernova(sky: TransientSky):
    return min((s for s in sky.active(T, max_mag=19.5) if s.kind == "supernova"),
               key=lambda s: s.name)


def test_detections_in_the_field_brighter_than_the_limit(sky):
    sn = _bright_supernova(sky)
    true_mag = sn.mag("r", T)
    rng = np.random.default_rng(5)
    (found,) = [d for d in sky.detections(sn.ra_deg, sn.dec_deg, 0.3, "r", T, true_mag + 3.0,
                                          rng) if d["name"] == sn.name]
    assert found["detector"] == "simulator" and found["kind"] == "supernova"
    assert abs(found["mag"] - true_mag) < 0.05 and found["snr"] > 50
    assert abs(found["ra_deg"] - sn.ra_deg) * 3600 < 1.0
    assert abs(found["dec_deg"] - sn.dec_deg) * 3600 < 1.0
    # outside the field, or fainter than the limit: not found
    off = sky.detections(sn.ra_deg, sn.dec_deg + 0.25, 0.3, "r", T, true_mag + 3.0, rng)
    assert sn.name not in {d["name"] for d in off}
    faint = sky.detections(sn.ra_deg, sn.dec_deg, 0.3, "r", T, true_mag - 1.0, rng)
    assert sn.name not in {d["name"] for d in faint}


def test_noise_is_that_of_the_snr_near_the_limit(sky):
    sn = _bright_supernova(sky)
    true_mag = sn.mag("r", T)
    limit = true_mag + 0.15      # SNR ~ 5.7: often found, sometimes missed
    found = []
    for k in range(300):
        hits = sky.detections(sn.ra_deg, sn.dec_deg, 0.3, "r", T, limit,
                              np.random.default_rng(k))
        found += [d for d in hits if d["name"] == sn.name]
    assert 150 < len(found) < 290
    assert all(d["snr"] >= 5.0 for d in found)
    errors = np.array([d["mag"] - true_mag for d in found])
    snr = np.median([d["snr"] for d in found])
    assert 0.5 * 1.0857 / snr < errors.std() < 2.0 * 1.0857 / snr


def test_a_brighter_limit_finds_fewer(sky):
    centres = [(s.ra_deg + 0.05, s.dec_deg) for s in sky.active(T, max_mag=21)[:200]]
    counts = {}
    for limit in (17.0, 19.0, 21.0):
        counts[limit] = sum(len(sky.detections(ra, dec, 0.4, "r", T, limit,
                                               np.random.default_rng(int(ra * 1000))))
                            for ra, dec in centres)
    assert counts[17.0] < counts[19.0] < counts[21.0]


def test_bad_input(sky):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="fov_deg"):
        sky.detections(10.0, 0.0, 0.0, "r", T, 20.0, rng)
    with pytest.raises(ValueError, match="unknown filter 'q'"):
        sky.detections(10.0, 0.0, 0.3, "q", T, 20.0, rng)
    with pytest.raises(ValueError, match="host_sn_rate"):
        TransientSky(1, host_sn_rate=1.5)
    assert sky.detections(10.0, 0.0, 0.3, "r", T, math.nan, rng) == []


def test_limiting_mag_of_an_outcome_is_where_snr_is_5():
    site = NETWORK.site("la-palma")
    scope = site.telescopes[0]
    from control_center.plugin_host.testing import CLEAR

    kw = {"site": site, "telescope": scope, "filter": "r", "exposure_s": 120.0,
          "priority": 1.0, "conditions": CLEAR, "altitude_deg": 60.0, "azimuth_deg": 180.0,
          "airmass": 1.15, "sky_mag_arcsec2": 21.0, "sun_altitude_deg": -30.0}
    bright = simulate_outcome(v_mag=15.0, rng=np.random.default_rng(1), **kw)
    assert 20.0 < bright.limiting_mag < 24.0
    at_limit = simulate_outcome(v_mag=bright.limiting_mag, rng=np.random.default_rng(1), **kw)
    assert at_limit.snr == pytest.approx(5.0, rel=1e-6)
    longer = simulate_outcome(v_mag=15.0, rng=np.random.default_rng(1),
                              **(kw | {"exposure_s": 480.0}))
    assert longer.limiting_mag > bright.limiting_mag + 0.5


def _observable(sim: SimulatedNetwork, sky: TransientSky):
    """A supernova well up at an open site with the time: (site, telescope, sn, time)."""
    for minutes in range(0, 600, 20):
        t = datetime(2026, 3, 21, 18, tzinfo=UTC) + timedelta(minutes=minutes)
        conditions = sim.conditions(t)
        for sn in sky.active(t, max_mag=19.0):
            if sn.kind != "supernova":
                continue
            for name, site in sim.sites.items():
                sun = site.ephemeris.sun_altitude(t.timestamp())
                if (conditions[name].open and conditions[name].cloud_cover < 0.2 and sun < -18
                        and site.altaz(sn.ra_deg, sn.dec_deg, t)[0] > 50):
                    return site, site.site.telescopes[0].name, sn, t
    raise AssertionError("no observable supernova in the demo night")


def test_simulated_observations_report_their_detections():
    start = datetime(2026, 3, 21, 18, tzinfo=UTC)
    sim = SimulatedNetwork(NETWORK, 1, start, start + timedelta(hours=10))
    site, scope, sn, t = _observable(sim, sim.sites["hanle"].transients)
    obs = site.observe(scope, sn.ra_deg, sn.dec_deg, 15.0, "r", 120.0, 5.0, t)
    assert obs.success
    names = [d["name"] for d in obs.detections]
    assert sn.name in names
    found = next(d for d in obs.detections if d["name"] == sn.name)
    assert set(found) >= {"ra_deg", "dec_deg", "mag", "snr", "detector"}
    assert abs(found["mag"] - sn.mag("r", t)) < 0.2
    # the same luck for the same command; every site shares one sky
    again = site.observe(scope, sn.ra_deg, sn.dec_deg, 15.0, "r", 120.0, 5.0, t)
    assert again.detections == obs.detections
    assert all(s.transients is site.transients for s in sim.sites.values())
    # a short exposure reaches less deep
    short = site.observe(scope, sn.ra_deg, sn.dec_deg, 15.0, "r", 5.0, 5.0, t)
    assert short.outcome.limiting_mag < obs.outcome.limiting_mag


def test_failed_observations_detect_nothing():
    start = datetime(2026, 3, 21, 18, tzinfo=UTC)
    sim = SimulatedNetwork(NETWORK, 1, start, start + timedelta(hours=10))
    site, scope, sn, t = _observable(sim, sim.sites["hanle"].transients)
    noon = t - timedelta(hours=12)   # daylight: the exposure is lost
    obs = site.observe(scope, sn.ra_deg, sn.dec_deg, 15.0, "r", 120.0, 5.0, noon)
    assert not obs.success and obs.detections == ()
