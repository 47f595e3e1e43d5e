"""The simulated star and galaxy catalogue: consistency, counts, colours, speed."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from simulator.starfield import (
    BANDS,
    galaxies_in_field,
    star_density,
    stars_in_field,
)

POLE = (192.86, 27.13)
PLANE = (300.0, 30.0)  # Cygnus, b ~ 0


def test_overlapping_fields_see_the_same_stars() -> None:
    big = stars_in_field(150.0, 2.2, 0.5, mag_limit=20.0)
    small = stars_in_field(150.2, 2.3, 0.2, mag_limit=20.0)
    assert len(small) > 100
    common, i_big, i_small = np.intersect1d(big.ids, small.ids, return_indices=True)
    assert len(common) == len(small)
    np.testing.assert_array_equal(big.ra_deg[i_big], small.ra_deg[i_small])
    np.testing.assert_array_equal(big.mag["r"][i_big], small.mag["r"][i_small])


def test_deeper_limit_only_adds_fainter_stars() -> None:
    shallow = stars_in_field(10.0, -40.0, 0.2, mag_limit=17.0)
    deep = stars_in_field(10.0, -40.0, 0.2, mag_limit=21.0)
    assert set(shallow.ids) <= set(deep.ids)
    assert set(deep.ids[deep.mag["V"] <= 17.0]) == set(shallow.ids)
    assert shallow.mag["V"].max() <= 17.0


def test_stars_lie_inside_the_cone() -> None:
    ra0, dec0, r = 45.0, 60.0, 0.3
    s = stars_in_field(ra0, dec0, r)
    cos_sep = (np.sin(np.radians(dec0)) * np.sin(np.radians(s.dec_deg))
               + np.cos(np.radians(dec0)) * np.cos(np.radians(s.dec_deg))
               * np.cos(np.radians(s.ra_deg - ra0)))
    assert np.degrees(np.arccos(np.clip(cos_sep, -1, 1))).max() <= r + 1e-9
    assert np.all(np.diff(s.ids) > 0)


def test_number_counts_and_latitude_dependence() -> None:
    area = math.pi * 0.5**2
    pole = stars_in_field(*POLE, 0.5)
    n18 = np.sum(pole.mag["V"] < 18) / area
    assert 1000 < n18 < 3000
    # log10 N(<m) rises ~0.3-0.35 dex/mag
    n15, n20 = (np.sum(pole.mag["V"] < m) for m in (15.0, 20.0))
    assert 0.28 < math.log10(n20 / n15) / 5.0 < 0.38
    assert star_density(*PLANE, 18.0) > 4 * star_density(*POLE, 18.0)


def test_colours_are_plausible() -> None:
    s = stars_in_field(*POLE, 0.3)
    assert set(BANDS) <= set(s.mag)
    bv = s.b_minus_v
    assert -0.31 <= bv.min() and bv.max() <= 2.01
    assert 0.5 < np.median(bv) < 1.1
    g_r = s.mag["g"] - s.mag["r"]
    assert np.corrcoef(bv, g_r)[0, 1] > 0.99
    between = s.mag_in("R")  # Cousins R, between Sloan r and i
    lo = np.minimum(s.mag["r"], s.mag["i"]) - 1e-9
    hi = np.maximum(s.mag["r"], s.mag["i"]) + 1e-9
    assert np.all((between >= lo) & (between <= hi))


def test_query_is_fast_when_warm() -> None:
    stars_in_field(210.0, 54.0, 0.25)
    t0 = time.perf_counter()
    for _ in range(5):
        stars_in_field(210.0, 54.0, 0.25)
    assert (time.perf_counter() - t0) / 5 < 0.05


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="mag_limit"):
        stars_in_field(0.0, 0.0, 0.1, mag_limit=30.0)
    with pytest.raises(ValueError, match="radius"):
        stars_in_field(0.0, 0.0, 0.0)
    assert len(stars_in_field(0.0, 0.0, 0.1, mag_limit=2.0)) == 0


def test_real_ngc_galaxies_with_sizes() -> None:
    g = galaxies_in_field(49.95, -19.41, 0.2)
    assert "NGC1300" in g.names
    k = g.names.index("NGC1300")
    assert g.major_arcmin[k] == pytest.approx(5.96)
    assert g.minor_arcmin[k] <= g.major_arcmin[k]
    assert 9.0 < g.mag["V"][k] < 12.0
    m87 = galaxies_in_field(187.706, 12.391, 0.05)
    assert m87.sersic_n[m87.names.index("NGC4486")] == 4.0
    assert len(galaxies_in_field(*POLE, 0.01)) == 0
