"""The site photometric calibration against the simulator's truth, and its failure modes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from control_center.network import load_network
from models.calibration.photometric import (
    COLUMNS,
    SiteCalibration,
    fit_site_calibration,
)
from models.calibration.simulate import simulate_night
from simulator.bands import band


@pytest.fixture(scope="module")
def hanle_night() -> dict[str, np.ndarray]:
    return simulate_night("hanle", "r", 0, seed=3, humidity=0.2, n_frames=24)


def _subset(m: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[mask] for k, v in m.items()}


def test_fit_recovers_the_simulated_site_effects(hanle_night):
    m = hanle_night
    cal = fit_site_calibration(m, site="hanle", band="r")
    fx = load_network().site("hanle").effects
    assert cal.converged, cal.reason
    assert cal.colour_term == pytest.approx(m["colour_term_true"][0], abs=0.002)
    assert cal.extinction == pytest.approx(band("r").extinction + fx.dust_extinction_mag,
                                           abs=0.005)
    assert cal.drift_per_day == pytest.approx(-24 * fx.zero_point_drift_mag_per_hour, abs=0.006)
    assert len(cal.flat) == 14 and cal.n_stars > 0.95 * len(m["x"])


def test_held_out_frames_calibrate_within_5_mmag_of_truth(hanle_night):
    m = hanle_night
    train = m["frame"] % 2 == 0
    cal = fit_site_calibration(_subset(m, train), site="hanle", band="r")
    t = _subset(m, ~train)
    mag, err = cal.apply(t["inst_noiseless"], np.zeros(len(t["x"])), t["catalogue_colour"],
                         t["airmass"], t["x"], t["y"], t["time_mjd"])
    rms = float(np.sqrt(np.mean((mag - t["catalogue_mag"]) ** 2)))
    assert rms < 0.005
    assert np.all(err >= cal.systematic_floor) and np.all(err < 0.01)
    # with the measured (noisy) magnitudes the errors are honest: pulls have unit scatter
    mag, err = cal.apply(t["instrumental_mag"], t["instrumental_err"], t["catalogue_colour"],
                         t["airmass"], t["x"], t["y"], t["time_mjd"])
    assert np.std((mag - t["catalogue_mag"]) / err) == pytest.approx(1.0, abs=0.15)


def test_robust_to_mismatched_stars(hanle_night):
    m = {k: v.copy() for k, v in hanle_night.items()}
    rng = np.random.default_rng(0)
    bad = rng.random(len(m["x"])) < 0.08
    m["catalogue_mag"][bad] += rng.choice([-1.0, 1.0], bad.sum()) * rng.uniform(0.2, 2, bad.sum())
    cal = fit_site_calibration(m, site="hanle", band="r")
    assert cal.converged, cal.reason
    assert cal.extinction == pytest.approx(0.14, abs=0.006)
    assert cal.n_stars < (~bad).sum() + 0.01 * len(bad)


def test_bad_data_does_not_converge_and_says_why(hanle_night):
    m = hanle_night
    few = fit_site_calibration(_subset(m, np.arange(len(m["x"])) < 10), site="hanle", band="r")
    assert not few.converged and "usable stars" in few.reason
    one_frame = fit_site_calibration(_subset(m, m["frame"] == 5), site="hanle", band="r")
    assert not one_frame.converged and "airmass range" in one_frame.reason
    noisy = dict(m, instrumental_mag=m["instrumental_mag"]
                 + np.random.default_rng(1).normal(0, 0.2, len(m["x"])))
    scattered = fit_site_calibration(noisy, site="hanle", band="r")
    assert not scattered.converged and "residual RMS" in scattered.reason
    cirrus = simulate_night("hanle", "r", 2, seed=3, humidity=0.2, n_frames=24,
                            cloud_cover_max=0.15)
    cloudy = fit_site_calibration(cirrus, site="hanle", band="r")
    assert not cloudy.converged and "not photometric" in cloudy.reason
    nan = dict(m, airmass=np.full(len(m["x"]), np.nan))
    assert "usable stars" in fit_site_calibration(nan, site="hanle", band="r").reason


@pytest.mark.parametrize("broken, message", [
    (lambda m: {k: v for k, v in m.items() if k != "airmass"}, "'airmass'"),
    (lambda m: dict(m, x=m["x"][:-1]), "'x'"),
    (lambda m: dict(m, y=m["y"][:, None]), "'y' must be 1-D"),
    (lambda m: dict(m, catalogue_colour=np.array(["a"] * len(m["x"]))), "'catalogue_colour'"),
])
def test_malformed_input_raises_naming_the_column(hanle_night, broken, message):
    with pytest.raises(ValueError, match=message):
        fit_site_calibration(broken(hanle_night), site="hanle", band="r")


def test_round_trips_through_json_including_failed_fits(hanle_night):
    cal = fit_site_calibration(hanle_night, site="hanle", band="r")
    back = SiteCalibration.from_dict(json.loads(json.dumps(cal.to_dict(), allow_nan=False)))
    assert back == cal
    failed = fit_site_calibration({c: np.zeros(3) for c in COLUMNS}, site="hanle", band="r")
    text = json.dumps(failed.to_dict(), allow_nan=False)
    again = SiteCalibration.from_dict(json.loads(text))
    assert not again.converged and np.isnan(again.zero_point)
    with pytest.raises(ValueError, match="zero_point"):
        SiteCalibration.from_dict({k: v for k, v in cal.to_dict().items() if k != "zero_point"})


def test_drift_sigma_separates_a_real_shift_from_noise(hanle_night):
    m = hanle_night
    a = fit_site_calibration(_subset(m, m["frame"] % 2 == 0), site="hanle", band="r")
    b = fit_site_calibration(_subset(m, m["frame"] % 2 == 1), site="hanle", band="r")
    # the same night: taken at the same time, only noise separates the two halves
    assert a.drift_sigma(b, at_mjd=a.reference_mjd) < 3.0
    dimmer = dict(m, instrumental_mag=m["instrumental_mag"] + 0.02)   # 2 % more loss
    c = fit_site_calibration(_subset(dimmer, m["frame"] % 2 == 1), site="hanle", band="r")
    assert a.drift_sigma(c, at_mjd=a.reference_mjd) > 5.0
    assert c.zero_point - b.zero_point == pytest.approx(-0.02, abs=1e-6)


def test_prior_lets_a_short_run_converge(hanle_night):
    m = hanle_night
    prior = fit_site_calibration(m, site="hanle", band="r")
    night = simulate_night("hanle", "r", 1, seed=3, humidity=0.2, n_frames=24)
    short = _subset(night, night["frame"] == 0)
    assert not fit_site_calibration(short, site="hanle", band="r").converged
    cal = fit_site_calibration(short, site="hanle", band="r", prior=prior)
    assert cal.converged, cal.reason
    assert cal.extinction == pytest.approx(prior.extinction, abs=0.003)
    mag, _ = cal.apply(short["inst_noiseless"], 0.0, short["catalogue_colour"],
                       short["airmass"], short["x"], short["y"], short["time_mjd"])
    assert np.sqrt(np.mean((mag - short["catalogue_mag"]) ** 2)) < 0.006
    wrong = fit_site_calibration(short, site="la-palma", band="r", prior=prior)
    assert not wrong.converged and "prior is for hanle/r" in wrong.reason
