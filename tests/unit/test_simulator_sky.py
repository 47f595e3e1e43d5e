"""Sky brightness (moon, twilight) and extinction."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.sky import (
    extinction_mag,
    moon_phase_angle_deg,
    sky_brightness,
    zenith_sky_brightness,
)

DARK = 21.7


def sky(alt=60.0, sep=60.0, moon_alt=40.0, illum=1.0, sun=-30.0, **kw):
    return float(sky_brightness(alt, sep, moon_alt, illum, sun, dark_sky_v_mag=DARK, **kw))


def test_dark_sky_at_zenith_is_the_climate_value():
    assert sky(90.0, 90.0, -20.0, 1.0) == pytest.approx(DARK, abs=1e-9)


def test_dark_sky_brightens_toward_the_horizon():
    assert sky(20.0, 90.0, -20.0) < sky(80.0, 90.0, -20.0)


def test_full_moon_is_brighter_than_new_moon():
    new, quarter, full = sky(illum=0.0), sky(illum=0.5), sky(illum=1.0)
    assert full < quarter < new
    assert 17.0 < full < 19.5  # Krisciunas & Schaefer: a few mag brighter than dark sky
    assert new == pytest.approx(DARK, abs=0.25)


def test_closer_to_the_moon_is_brighter():
    assert sky(sep=10.0) < sky(sep=40.0) < sky(sep=120.0)


def test_moon_below_horizon_adds_nothing():
    assert sky(90.0, 120.0, -5.0, 1.0) == pytest.approx(DARK, abs=1e-9)


def test_twilight_brightens_the_sky():
    sun = np.array([-25.0, -18.0, -16.0, -14.0, -12.0, -8.0])
    v = zenith_sky_brightness(-30.0, 0.0, sun, dark_sky_v_mag=DARK)
    assert v[0] == pytest.approx(DARK) and v[1] == pytest.approx(DARK)
    assert np.all(np.diff(v[1:]) < 0)
    assert 16.0 < v[4] < 18.5  # nautical twilight


def test_vectorised_over_targets():
    alt = np.array([30.0, 60.0, 90.0])
    sep = np.array([20.0, 60.0, 100.0])
    out = sky_brightness(alt, sep, 40.0, 0.8, -25.0, dark_sky_v_mag=DARK, filter="r")
    assert out.shape == (3,)
    assert [sky(a, s, 40.0, 0.8, filter="r") for a, s in zip(alt, sep, strict=True)] == \
        pytest.approx(out.tolist())


def test_moonlight_is_blue():
    # Relative to the dark sky, the moon brightens g far more than z.
    dg = sky(filter="g", illum=0.0) - sky(filter="g")
    dz = sky(filter="z", illum=0.0) - sky(filter="z")
    assert dg > dz + 1.0


def test_phase_angle():
    assert moon_phase_angle_deg(1.0) == pytest.approx(0.0)
    assert moon_phase_angle_deg(0.5) == pytest.approx(90.0)
    assert moon_phase_angle_deg(0.0) == pytest.approx(180.0)


def test_extinction_per_band():
    assert float(extinction_mag(1.0, "V")) == pytest.approx(0.13)
    x = np.array([1.0, 1.5, 2.0])
    np.testing.assert_allclose(extinction_mag(x, "r"), 0.09 * x)
    k = [float(extinction_mag(1.0, f)) for f in "ugriz"]
    assert k == sorted(k, reverse=True)
    assert float(extinction_mag(1.0, "B")) > float(extinction_mag(1.0, "V"))
    with pytest.raises(ValueError, match="unknown filter"):
        extinction_mag(1.0, "Q")
