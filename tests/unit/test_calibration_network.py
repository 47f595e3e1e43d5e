"""The joint network calibration: learned site effects and cross-site agreement."""

from __future__ import annotations

import numpy as np
import pytest

from control_center.network import load_network
from models.calibration.crosssite import cross_site_metrics, is_target, network_dataset
from models.calibration.network_fit import bilinear_weights
from simulator.bands import band


@pytest.fixture(scope="module")
def result():
    # dry nights (no dew); night 2 has thin cirrus (cirrus_every=3)
    data = network_dataset(seed=5, nights=3, n_frames=10, humidity=0.2)
    return data, *cross_site_metrics(data)


def test_targets_are_a_fixed_quarter_of_the_stars():
    ids = np.arange(40000, dtype=np.int64) * 104729 + (3 << 32)
    assert is_target(ids).mean() == pytest.approx(0.25, abs=0.01)
    assert np.array_equal(is_target(ids), is_target(ids.copy()))


def test_bilinear_weights_interpolate_a_plane_exactly():
    x, y = np.array([-1.0, 0.13, 0.99]), np.array([0.5, -0.77, 1.0])
    nodes = np.linspace(-1, 1, 12)
    plane = (0.3 * nodes[None, :] - 0.2 * nodes[:, None]).ravel()
    idx, w = bilinear_weights(x, y)
    assert np.allclose(w.sum(axis=1), 1.0)
    assert np.allclose((plane[idx] * w).sum(axis=1), 0.3 * x - 0.2 * y)


def test_network_learns_each_sites_effects(result):
    _, _, cal = result
    net = load_network()
    for name in cal.sites:
        fx = net.site(name).effects
        tint = 2 * fx.colour_tint * (band("r").wavelength_nm - 550) / 250
        assert cal.colour_term[name] == pytest.approx(-tint, abs=0.003)
        assert cal.extinction[name] == pytest.approx(
            band("r").extinction + fx.dust_extinction_mag, abs=0.01)
        assert cal.drift_per_hour[name] == pytest.approx(-fx.zero_point_drift_mag_per_hour,
                                                         abs=0.0015)


def test_sites_agree_within_5_mmag_where_frame_zero_points_do_not(result):
    _, metrics, _ = result
    ours, base = metrics["network"], metrics["frame_zp"]
    assert ours["n_pairs"] > 200
    assert ours["cross_site_rms_mmag"] < 5.0 and ours["rms_vs_truth_mmag"] < 5.0
    assert base["cross_site_rms_mmag"] > 2 * ours["cross_site_rms_mmag"]
    # one model per night cannot follow the cirrus night's frame-to-frame losses, and
    # says so
    assert metrics["nightly"]["rms_vs_truth_mmag"] > 1.5 * ours["rms_vs_truth_mmag"]
    assert metrics["nightly"]["nights_not_converged"] == 3


def test_flat_is_learned_against_the_simulators_flat(result):
    data, _, cal = result
    for name in cal.sites:
        sel = data["site"] == name
        learned = cal.flat(name, data["x"][sel], data["y"][sel])
        truth = data["flat_mag"][sel]
        # equal up to a constant (the frame zero points carry it)
        diff = learned - truth
        assert np.std(diff) < 0.003 < np.std(truth)


def test_network_prior_lets_a_single_frame_calibrate(result):
    from models.calibration.photometric import fit_site_calibration
    from models.calibration.simulate import simulate_night

    _, _, cal = result
    prior = cal.prior("la-palma")
    night = simulate_night("la-palma", "r", 7, seed=5, humidity=0.2, n_frames=3)
    one = {k: v[night["frame"] == 1] for k, v in night.items()}
    assert not fit_site_calibration(one, site="la-palma", band="r").converged
    fitted = fit_site_calibration(one, site="la-palma", band="r", prior=prior)
    assert fitted.converged, fitted.reason
    assert fitted.colour_term == pytest.approx(prior.colour_term, abs=0.002)
    mag, _ = fitted.apply(one["inst_noiseless"], 0.0, one["catalogue_colour"], one["airmass"],
                          one["x"], one["y"], one["time_mjd"])
    assert np.sqrt(np.mean((mag - one["true_mag"]) ** 2)) < 0.006
