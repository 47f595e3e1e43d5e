"""The hindsight's expected value agrees with the simulator's own outcomes, on average."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from control_center import astro
from control_center.network import load_network
from control_center.schedule_bench.value_model import expected_values, success_probability
from simulator import SimulatedSite
from simulator.horizon import to_seconds
from simulator.outcome import simulate_outcome
from simulator.weather import hours_since_dew_onset

START = datetime(2026, 3, 21, 18, tzinfo=UTC)
END = datetime(2026, 3, 22, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def palma():
    sim = SimulatedSite(load_network().site("la-palma"), 1, START, END)
    return sim, sim.telescopes["palma-1m"]


def _monte_carlo(sim, scope, t_s, ra, dec, v_mag, filt, exposure, priority, conditions, n):
    alt, az = sim.frame.altaz(ra, dec, t_s)
    sky = sim.sky_brightness(ra, dec, datetime.fromtimestamp(t_s, tz=UTC), filt)
    rng = np.random.default_rng(0)
    values = [simulate_outcome(
        site=sim.site, telescope=scope, v_mag=v_mag, filter=filt, exposure_s=exposure,
        priority=priority, conditions=conditions, altitude_deg=alt, azimuth_deg=az,
        airmass=float(astro.airmass(alt)), sky_mag_arcsec2=sky,
        sun_altitude_deg=sim.ephemeris.sun_altitude(t_s),
        hours_since_dusk=sim.ephemeris.hours_since_dusk(t_s),
        hours_since_dew_onset=hours_since_dew_onset(sim.site, t_s), rng=rng).science_value
        for _ in range(n)]
    return float(np.mean(values)), float(np.std(values) / np.sqrt(n))


@pytest.mark.parametrize(("v_mag", "filt", "exposure", "cloud"), [
    (13.0, "r", 120.0, 0.0),     # bright, clear: full quality, small luck
    (19.5, "g", 300.0, 0.35),    # faint through thin cloud: SNR depends on transparency
    (18.0, "i", 60.0, 0.6),      # marginal: clouds often ruin it
])
def test_expected_value_is_the_mean_of_simulated_outcomes(palma, v_mag, filt, exposure, cloud):
    sim, scope = palma
    t_s = to_seconds(datetime(2026, 3, 22, 0, 30, tzinfo=UTC))
    lst = sim.frame.local_sidereal_deg(t_s)
    ra, dec = lst % 360.0, 30.0           # on the meridian, high
    conditions = replace(sim.conditions(datetime.fromtimestamp(t_s, tz=UTC)),
                         cloud_cover=cloud, open=True, reason="")
    expected = float(expected_values(sim, scope, t_s, [ra], [dec], [v_mag], [filt],
                                     [exposure], [6.0], conditions)[0])
    mean, err = _monte_carlo(sim, scope, t_s, ra, dec, v_mag, filt, exposure, 6.0,
                             conditions, 3000)
    assert expected > 0
    assert expected == pytest.approx(mean, abs=4 * err + 0.02 * mean)


def test_no_value_when_closed_low_or_without_the_filter(palma):
    sim, scope = palma
    t_s = to_seconds(datetime(2026, 3, 22, 0, 30, tzinfo=UTC))
    lst = sim.frame.local_sidereal_deg(t_s)
    c = replace(sim.conditions(datetime.fromtimestamp(t_s, tz=UTC)), cloud_cover=0.0,
                open=True, reason="")
    values = expected_values(sim, scope, t_s, [lst, (lst + 180) % 360, lst],
                             [30.0, 30.0, 30.0], [14.0] * 3, ["r", "r", "B"], [60.0] * 3,
                             [5.0] * 3, c)
    assert values[0] > 0 and values[1] == 0 and values[2] == 0   # set; no B on palma-1m
    closed = expected_values(sim, scope, t_s, [lst], [30.0], [14.0], ["r"], [60.0], [5.0],
                             replace(c, open=False, reason="wind"))
    assert closed[0] == 0
    day = to_seconds(datetime(2026, 3, 21, 18, 0, tzinfo=UTC))   # before sunset at La Palma
    assert expected_values(sim, scope, day, [lst], [30.0], [14.0], ["r"], [60.0], [5.0],
                           c)[0] == 0


def test_success_probability_falls_with_cloud_and_wind():
    p = success_probability
    assert p(0.0, 5.0, 60.0) > p(0.5, 5.0, 60.0) > p(0.7, 5.0, 60.0)
    assert p(0.0, 5.0, 60.0) > p(0.0, 14.0, 60.0)
    assert float(p(0.5, 5.0, 600.0)) < float(p(0.5, 5.0, 30.0))
