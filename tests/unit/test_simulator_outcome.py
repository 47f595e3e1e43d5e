"""The outcome model (CCD equation, site effects, luck) and telescope overheads."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from control_center.network import load_network
from control_center.plugin_api.types import Conditions
from simulator.outcome import (
    MIN_SNR,
    TARGET_SNR,
    altitude_limit_deg,
    delivered_seeing,
    exposure_for_snr,
    limiting_magnitude,
    point_source_snr,
    simulate_outcome,
)
from simulator.telescope import expected_duration_s, overhead_s, setup_s, slew_time_s

BASE = {"aperture_m": 1.0, "filter": "r", "airmass": 1.2, "sky_mag_arcsec2": 21.0,
        "fwhm_arcsec": 1.0, "pixel_scale_arcsec": 0.4}
NETWORK = load_network()
SITE = NETWORK.site("la-palma")
SCOPE = SITE.telescopes[0]
CLEAR = Conditions(cloud_cover=0.0, humidity=0.3, wind_m_s=4.0, seeing_arcsec=0.9,
                   sky_v_mag_arcsec2=21.8, open=True)


def snr(v_mag=18.0, exposure_s=120.0, **changes):
    return float(point_source_snr(v_mag, exposure_s, **(BASE | changes)))


def test_snr_rises_with_aperture_and_exposure():
    assert snr(aperture_m=0.4) < snr(aperture_m=0.7) < snr(aperture_m=1.0)
    assert snr(exposure_s=30) < snr(exposure_s=120) < snr(exposure_s=600)


def test_snr_falls_with_seeing_sky_airmass_and_magnitude():
    assert snr(fwhm_arcsec=0.8) > snr(fwhm_arcsec=1.5) > snr(fwhm_arcsec=3.0)
    assert snr(sky_mag_arcsec2=21.5) > snr(sky_mag_arcsec2=19.0) > snr(sky_mag_arcsec2=17.0)
    assert snr(airmass=1.0) > snr(airmass=1.8) > snr(airmass=2.8)
    assert snr(v_mag=16) > snr(v_mag=18) > snr(v_mag=20)
    assert snr(loss_mag=0.0) > snr(loss_mag=0.5)


def test_snr_is_plausible_for_a_1m_telescope():
    # r = 20 in 5 min on a 1 m in 1" seeing: a few tens, as on real 1 m telescopes.
    assert 30 < snr(v_mag=20.0, exposure_s=300.0) < 150
    assert float(limiting_magnitude(300.0, **BASE)) == pytest.approx(23.0, abs=1.0)


def test_snr_bright_limit_is_poisson():
    assert snr(v_mag=8.0, exposure_s=10.0) == pytest.approx(
        np.sqrt(snr(v_mag=8.0, exposure_s=10.0) ** 2), rel=1e-12)
    bright = snr(v_mag=6.0, exposure_s=100.0)
    assert snr(v_mag=6.0, exposure_s=400.0) == pytest.approx(2 * bright, rel=0.01)


def test_exposure_and_limiting_magnitude_invert_the_snr():
    t = float(exposure_for_snr(TARGET_SNR, 19.0, **BASE))
    assert snr(v_mag=19.0, exposure_s=t) == pytest.approx(TARGET_SNR)
    m = float(limiting_magnitude(200.0, snr=10.0, **BASE))
    assert snr(v_mag=m, exposure_s=200.0) == pytest.approx(10.0)


def test_delivered_seeing_grows_with_airmass_and_vibration():
    base = float(delivered_seeing(1.0, 1.0, "V"))
    assert base == pytest.approx((550.0 / 500.0) ** -0.2)
    assert float(delivered_seeing(1.0, 2.0, "V")) == pytest.approx(base * 2.0**0.6)
    assert float(delivered_seeing(1.0, 1.0, "i")) < base  # better in the red
    assert float(delivered_seeing(1.0, 1.0, "V", vibration_arcsec=0.5)) > base
    assert float(delivered_seeing(1.0, 1.0, "V", wind_m_s=14.0)) > base


def observe(conditions=CLEAR, seed=0, **changes):
    kw = {"site": SITE, "telescope": SCOPE, "v_mag": 15.0, "filter": "r", "exposure_s": 120.0,
          "priority": 6.0, "conditions": conditions, "altitude_deg": 60.0, "azimuth_deg": 180.0,
          "airmass": 1.15, "sky_mag_arcsec2": 21.0, "sun_altitude_deg": -30.0,
          "rng": np.random.default_rng(seed)} | changes
    return simulate_outcome(**kw)


def test_clear_night_succeeds_with_value_priority_times_quality():
    results = [observe(seed=s) for s in range(200)]
    assert np.mean([r.success for r in results]) > 0.97
    ok = next(r for r in results if r.success)
    assert ok.snr >= TARGET_SNR and ok.quality == pytest.approx(min(1.0, 1.2 / ok.seeing_arcsec)
                                                                 ** 0.7)
    assert ok.science_value == pytest.approx(6.0 * ok.quality)
    assert 0 < ok.quality <= 1
    assert np.isfinite(ok.zero_point_mag) and ok.transparency == 1.0


def test_outcome_is_deterministic_given_the_rng():
    assert observe(seed=5) == observe(seed=5)
    cloudy = replace(CLEAR, cloud_cover=0.5)
    runs = [[observe(cloudy, seed=s).success for s in range(50)] for _ in range(2)]
    assert runs[0] == runs[1]


def test_closed_dome_fails():
    closed = replace(CLEAR, humidity=0.9, open=False, reason="humidity 0.90 > 0.85")
    out = observe(closed)
    assert not out.success and out.science_value == 0.0 and out.snr == 0.0
    assert out.reason == "dome closed: humidity 0.90 > 0.85"


def test_partial_cloud_ruins_some_exposures_and_dims_the_rest():
    cloudy = replace(CLEAR, cloud_cover=0.55)
    results = [observe(cloudy, seed=s, exposure_s=300.0) for s in range(300)]
    failed = [r for r in results if not r.success]
    assert 0.2 < len(failed) / len(results) < 0.8
    assert sum("cloud" in r.reason for r in failed) >= 0.9 * len(failed)  # rest: guiding
    clear_snr = observe(seed=0, exposure_s=300.0).snr
    assert all(r.snr < clear_snr for r in results if r.success)


def test_low_target_faint_target_and_daylight_fail():
    low = observe(altitude_deg=12.0, airmass=4.6)
    assert not low.success and "too low" in low.reason
    faint = observe(v_mag=25.0)
    assert not faint.success and faint.snr < MIN_SNR and "too faint" in faint.reason
    day = observe(sun_altitude_deg=-3.0)
    assert not day.success and "daylight" in day.reason


def test_site_effects_cost_signal():
    clean = replace(SITE, effects=replace(SITE.effects, dust_extinction_mag=0.0,
                                          zero_point_drift_mag_per_hour=0.0,
                                          vibration_arcsec=0.0, colour_tint=0.0))
    humid = replace(CLEAR, humidity=0.8)
    ref = observe(humid, site=clean)
    assert observe(humid, site=clean, hours_since_dew_onset=3.0).snr < ref.snr
    dusty = replace(clean, effects=replace(clean.effects, dust_extinction_mag=0.3))
    assert observe(humid, site=dusty).snr < ref.snr
    drifting = replace(clean, effects=replace(clean.effects, zero_point_drift_mag_per_hour=0.05))
    assert observe(humid, site=drifting, hours_since_dusk=8.0).snr < ref.snr
    shaky = replace(clean, effects=replace(clean.effects, vibration_arcsec=1.0))
    assert observe(humid, site=shaky).seeing_arcsec > ref.seeing_arcsec


def test_horizon_map_raises_the_altitude_limit():
    pachon = NETWORK.site("cerro-pachon")
    scope = pachon.telescopes[0]
    assert altitude_limit_deg(pachon, scope, 0.0) == 20.0
    assert altitude_limit_deg(pachon, scope, 150.0) == pytest.approx(28.0)
    assert altitude_limit_deg(pachon, scope, 120.0) == pytest.approx(24.0)


def test_slew_uses_the_larger_axis_move_plus_settle():
    rate, settle = SCOPE.slew_rate_deg_s, SCOPE.settle_s
    assert slew_time_s(SCOPE, 10.0, 0.0, 40.0, 10.0) == pytest.approx(30.0 / rate + settle)
    assert slew_time_s(SCOPE, 355.0, 0.0, 5.0, 0.0) == pytest.approx(10.0 / rate + settle)
    assert slew_time_s(SCOPE, 10.0, 5.0, 10.0, 5.0) == 0.0
    assert slew_time_s(SCOPE, None, None, 10.0, 5.0) > settle


def test_overheads_and_expected_durations_agree():
    slew = slew_time_s(SCOPE, 0.0, 0.0, 90.0, 0.0)
    assert setup_s(SCOPE, "g", "r", 0.0, 0.0, 90.0, 0.0) == pytest.approx(
        max(slew, SCOPE.filter_change_s))
    assert overhead_s(SCOPE, "r", "r", 0.0, 0.0, 0.0, 0.0) == SCOPE.readout_s
    ra = np.array([0.0, 90.0, 5.0])
    dec = np.array([0.0, 0.0, 45.0])
    durations = expected_duration_s(SCOPE, 0.0, 0.0, "g", ra, dec, ["r", "g", "g"],
                                    np.array([60.0, 30.0, 10.0]))
    expected = [overhead_s(SCOPE, "g", f, 0.0, 0.0, r, d) + e
                for r, d, f, e in zip(ra, dec, ["r", "g", "g"], [60.0, 30.0, 10.0], strict=True)]
    np.testing.assert_allclose(durations, expected)
    unknown = expected_duration_s(SCOPE, None, None, None, ra, dec, ["r"] * 3, np.ones(3))
    assert np.all(unknown == unknown[0])
