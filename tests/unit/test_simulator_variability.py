"""Programme stars vary: a seeded light curve per target, rendered in the frames at the
magnitude it has at the exposure, and exposed as truth."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from control_center.network import load_network
from simulator import SimulatedSite
from simulator.frames import frame_for_observation
from simulator.variability import (
    KINDS,
    magnitude_at,
    programme_star,
    variability_of,
)

SEED = 1
T = datetime(2026, 3, 22, 0, 0, tzinfo=UTC)


def test_light_curves_are_deterministic_from_seed_and_name() -> None:
    a = [variability_of(SEED, f"VAR-{i:04d}") for i in range(1, 201)]
    assert a == [variability_of(SEED, f"VAR-{i:04d}") for i in range(1, 201)]
    assert {s.kind for s in a} == set(KINDS)
    other = [variability_of(SEED + 1, f"VAR-{i:04d}") for i in range(1, 201)]
    assert sum(x.kind != y.kind or x.period_days != y.period_days
               for x, y in zip(a, other, strict=True)) > 100
    assert magnitude_at(SEED, "VAR-0007", T, "r") == magnitude_at(SEED, "VAR-0007", T, "r")


def test_only_generated_variable_stars_are_programme_stars() -> None:
    assert programme_star(SEED, "VAR-0001") is not None
    assert programme_star(SEED, "NGC1300") is None
    assert programme_star(SEED, None) is None
    with pytest.raises(KeyError, match="VAR-9999"):
        variability_of(SEED, "VAR-9999")


@pytest.mark.parametrize("kind", ["sinusoidal", "eclipsing", "rr-lyrae"])
def test_maximum_and_minimum_differ_by_the_amplitude(kind: str) -> None:
    star = next(s for s in (variability_of(SEED, f"VAR-{i:04d}") for i in range(1, 401))
                if s.kind == kind)
    t_max = star.next_time_at_phase(T, star.phase_of_maximum())
    t_min = star.next_time_at_phase(T, star.phase_of_minimum())
    assert star.v_at(t_max) == pytest.approx(star.v_mag)
    assert star.v_at(t_min) - star.v_at(t_max) == pytest.approx(star.amplitude_mag)
    curve = [star.v_at(t_max + k * star.period_days * 864.0) for k in range(100)]
    assert min(curve) >= star.v_mag - 1e-9
    assert max(curve) <= star.v_mag + star.amplitude_mag + 1e-9
    # periodic
    assert star.v_at(t_min + 3 * star.period_days * 86400.0) == pytest.approx(star.v_at(t_min))


def test_constant_stars_stay_constant() -> None:
    star = next(s for s in (variability_of(SEED, f"VAR-{i:04d}") for i in range(1, 401))
                if s.kind == "constant")
    assert {star.v_at(T + timedelta(hours=h)) for h in range(0, 48, 5)} == {star.v_mag}


def _aperture_flux(image: np.ndarray, x: float, y: float, r: float) -> float:
    yy, xx = np.indices(image.shape)
    d = np.hypot(xx - x, yy - y)
    sky = np.median(image[(d > 2.5 * r) & (d < 4.0 * r)])
    return float((image[d < r] - sky).sum())


def test_the_frame_renders_the_target_at_its_magnitude_then() -> None:
    """A frame at maximum light and one at minimum: the measured flux ratio is the
    amplitude; the TRUTH table says what was drawn."""
    site = load_network().site("la-palma")
    sim = SimulatedSite(site, SEED, T - timedelta(hours=6), T + timedelta(hours=8))
    star = next(s for s in (variability_of(SEED, f"VAR-{i:04d}") for i in range(1, 401))
                if s.kind == "rr-lyrae" and s.v_mag > 13.0
                and sim.altaz(s.ra_deg, s.dec_deg, T)[0] > 40.0)
    scope = site.telescopes[0]
    obs = sim.observe(scope.name, star.ra_deg, star.dec_deg, star.v_mag, "r", 10.0, 5.0, T)
    t_max = datetime.fromtimestamp(star.next_time_at_phase(T, star.phase_of_maximum()) - 5.0,
                                   tz=UTC)
    t_min = datetime.fromtimestamp(star.next_time_at_phase(T, star.phase_of_minimum()) - 5.0,
                                   tz=UTC)
    measured = {}
    for label, when in (("max", t_max), ("min", t_min)):
        at = replace(obs, exposure_start=when)
        hdul = frame_for_observation(sim, at, seed=7, shape=(128, 128), object_name=star.name)
        truth = hdul["TRUTH"].data
        (row,) = truth[truth["kind"] == "target"]
        assert row["is_transient"] == 0
        assert row["mag"] == pytest.approx(star.magnitude(when.timestamp() + 5.0, "r"),
                                           abs=1e-4)
        fwhm_px = obs.outcome.seeing_arcsec / (scope.field_of_view_arcmin * 60.0 / 128)
        image = hdul[0].data.astype(float)
        measured[label] = _aperture_flux(image, row["x"], row["y"], max(2.0 * fwhm_px, 3.0))
        assert image[round(float(row["y"])), round(float(row["x"]))] < hdul[0].header["SATURATE"]
    delta = -2.5 * math.log10(measured["max"] / measured["min"])
    assert delta == pytest.approx(-star.amplitude_mag, abs=0.05)
    # without the programme star's name nothing is drawn at the target
    plain = frame_for_observation(sim, obs, seed=7, shape=(128, 128))
    assert not (plain["TRUTH"].data["kind"] == "target").any()


def test_simulated_sites_meet_a_programme_star_at_its_magnitude_then() -> None:
    from simulator.variability import target_v_mag

    star = next(s for s in (variability_of(SEED, f"VAR-{i:04d}") for i in range(1, 401))
                if s.kind == "sinusoidal")
    t_min = star.next_time_at_phase(T, star.phase_of_minimum())
    assert target_v_mag(SEED, star.name, star.v_mag, t_min) == \
        pytest.approx(star.v_mag + star.amplitude_mag)
    assert target_v_mag(SEED, "NGC1300", 9.5, t_min) == 9.5
    assert target_v_mag(SEED, star.name, star.v_mag, None) == star.v_mag
