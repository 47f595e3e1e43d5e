"""The simulated star and galaxy catalogue: consistency, counts, colours, speed, and the
catalogue itself frozen (the fast generator must reproduce the original bit for bit)."""

from __future__ import annotations

import hashlib
import math
import threading
import time

import numpy as np
import pytest

import simulator.starfield as sf
from simulator.starfield import (
    BANDS,
    StarTable,
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


# --- the catalogue is frozen -------------------------------------------------------------

# (ra, dec, radius, mag_limit, stars, digest): computed with the original generator (one
# astropy Quantity round trip and one SeedSequence per slab) before it was made fast.
# Frames, the edge pipeline's cross-match and trained models depend on these stars.
FROZEN = [
    (150.1, 2.2, 0.5, 21.0, 10207, "33b8d09b78f68ea1b63592ba4dac212a"),
    (305.0, 40.0, 0.25, 21.0, 11634, "da1baf79800e471c8f8a460340c42313"),
    (0.05, -0.3, 0.5, 21.0, 8710, "64e1e7c4c4d9e74015b655a468cca8a3"),
    (45.0, 89.9, 0.4, 20.0, 5180, "150eedb2bdfd89d8b0395d664c02033f"),
    (10.0, -40.0, 0.2, 17.5, 119, "6182f25f63604be1c15d6b05e3404b5d"),
    (266.4, -28.9, 0.05, 23.7, 3713, "9a69702f4f7aac3c8b4db7039b2852a1"),
    (120.0, -89.95, 0.3, 19.0, 1416, "c1c10a5c8c69e38f68f79b122d0ad198"),
]


def digest(stars: StarTable) -> str:
    """sha256 of the ids, positions and magnitudes (float64 bits, little-endian)."""
    h = hashlib.sha256(np.asarray(stars.ids, "<i8").tobytes())
    for a in (stars.ra_deg, stars.dec_deg, *(stars.mag[b] for b in BANDS)):
        h.update(np.asarray(a, "<f8").tobytes())
    return h.hexdigest()[:32]


@pytest.mark.parametrize(("ra", "dec", "radius", "mag_limit", "n", "expected"), FROZEN)
def test_catalogue_is_frozen(ra: float, dec: float, radius: float, mag_limit: float, n: int,
                             expected: str) -> None:
    stars = stars_in_field(ra, dec, radius, mag_limit=mag_limit)
    assert len(stars) == n
    assert digest(stars) == expected


def _reference_stars(ra: float, dec: float, radius: float, mag_limit: float) -> StarTable:
    """The generator as first written, slab by slab through astropy's Quantity API and a
    fresh ``SeedSequence`` per slab: the specification of the catalogue."""
    import astropy.units as u
    from astropy_healpix.core import (
        healpix_cone_search,
        healpix_to_lonlat,
        nside_to_pixel_area,
    )

    n_slabs = max(0, math.ceil(mag_limit - sf.BRIGHT_LIMIT))
    area = float(nside_to_pixel_area(sf.NSIDE).to_value("deg2"))
    centre = sf._unit(ra, dec)
    cos_r = math.cos(math.radians(radius))
    parts = []
    pixels = healpix_cone_search(ra * u.deg, dec * u.deg, radius * u.deg, sf.NSIDE,
                                 order="nested")
    for pixel in np.sort(pixels):
        slabs = []
        for slab in range(n_slabs):
            lo = sf.BRIGHT_LIMIT + slab
            lon0, lat0 = healpix_to_lonlat(pixel, sf.NSIDE, order="nested")
            ra0, dec0 = float(lon0.to_value("deg")), float(lat0.to_value("deg"))
            mean = area * (star_density(ra0, dec0, lo + 1.0) - star_density(ra0, dec0, lo))
            rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(
                entropy=sf._SKY_KEY, spawn_key=(sf.NSIDE, int(pixel), slab))))
            n = int(rng.poisson(mean))
            dev = rng.random((4, n))
            lon, lat = healpix_to_lonlat(np.full(n, pixel), sf.NSIDE, dx=dev[0], dy=dev[1],
                                         order="nested")
            s = 0.22 if lo >= 20.0 else 0.33 if lo >= 14.0 else 0.42
            v = lo + np.log10(1.0 + dev[2] * (10.0 ** s - 1.0)) / s
            c = np.where(dev[3] < 0.55, rng.normal(0.62, 0.18, n),
                         np.where(dev[3] < 0.85, rng.normal(1.0, 0.22, n),
                                  rng.normal(1.45, 0.1, n)))
            ids = (np.int64(pixel) << 32) | (np.int64(slab) << 24) | np.arange(n, dtype=np.int64)
            slabs.append((ids, lon.to_value("deg"), lat.to_value("deg"), v,
                          np.clip(c, -0.3, 2.0)))
        cols = [np.concatenate([p[k] for p in slabs]) if slabs else np.empty(0)
                for k in range(5)]
        keep = np.flatnonzero(sf._unit(cols[1], cols[2]).reshape(-1, 3) @ centre >= cos_r)
        keep = keep[cols[3][keep] <= mag_limit]
        parts.append([a[keep] for a in cols])
    ids, ra_, dec_, v, c = (np.concatenate([p[k] for p in parts]) for k in range(5))
    order = np.argsort(ids, kind="stable")
    return StarTable(ids[order].astype(np.int64), ra_[order], dec_[order],
                     sf.band_magnitudes(v[order], c[order]))


def assert_same_stars(a: StarTable, b: StarTable) -> None:
    assert len(a) == len(b)
    np.testing.assert_array_equal(a.ids, b.ids)
    for x, y in [(a.ra_deg, b.ra_deg), (a.dec_deg, b.dec_deg),
                 *((a.mag[k], b.mag[k]) for k in BANDS)]:
        assert np.array_equal(x, y)           # bit for bit, not merely close


@pytest.mark.parametrize(("ra", "dec", "radius", "mag_limit"), [
    (210.0, 54.0, 0.2, 22.5),      # high latitude, deep
    (0.0, 90.0, 0.3, 19.0),        # on the pole
    (359.9, 10.0, 0.4, 20.0),      # across RA = 0
    (100.0, 41.81, 0.3, 20.5),     # where HEALPix's polar and equatorial zones meet
    (83.8, -5.4, 0.005, 23.0),     # smaller than a grid cell
    (30.0, -60.0, 3.0, 12.0),      # wide and shallow
    (275.0, -15.0, 0.15, 21.3),    # Milky Way, a partial last slab
])
def test_same_stars_as_the_reference_generator(ra: float, dec: float, radius: float,
                                               mag_limit: float) -> None:
    assert_same_stars(stars_in_field(ra, dec, radius, mag_limit=mag_limit),
                      _reference_stars(ra, dec, radius, mag_limit))


def test_same_stars_whatever_was_cached_before() -> None:
    """Shallow then deeper (the cached pixels grow), dithered, shallower again, repeated,
    moved by a few arcsec with another limit (as frames of one field are)."""
    sf._cache.clear()
    for ra, dec, radius, mag_limit in [(12.0, -33.0, 0.3, 15.2), (12.05, -33.0, 0.3, 20.4),
                                       (12.0, -33.1, 0.35, 22.0), (12.0, -33.0, 0.3, 15.2),
                                       (12.0, -33.0, 0.3, 15.2), (12.001, -32.999, 0.3, 19.7),
                                       (11.999, -33.0, 0.3, 21.6), (11.6, -33.0, 0.3, 18.0)]:
        assert_same_stars(stars_in_field(ra, dec, radius, mag_limit=mag_limit),
                          _reference_stars(ra, dec, radius, mag_limit))


def test_same_stars_on_the_rare_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stars next to the cone's edge (exact test on RA, Dec), numpy seeding each slab,
    normal() itself, and draw buffers outgrown mid-pixel give the same stars too."""
    field = (201.0, -43.0, 0.2, 20.5)
    want = _reference_stars(*field)
    real_scratch = sf._scratch
    calls: list[int] = []

    def small_first(n: int) -> tuple[np.ndarray, np.ndarray]:
        calls.append(n)
        return (np.empty(40), np.empty((3, 10))) if len(calls) == 1 else real_scratch(n)

    for name, value in [("_DOT_PAD", 1e-5), ("_fast_seeding", lambda: False),
                        ("_fast_normals", lambda: False), ("_scratch", small_first)]:
        with monkeypatch.context() as patch:
            patch.setattr(sf, name, value)
            sf._cache.clear()
            assert_same_stars(stars_in_field(*field[:3], mag_limit=field[3]), want)
    assert len(calls) > 1
    sf._cache.clear()


def test_tables_are_fresh_arrays() -> None:
    a = stars_in_field(150.0, 2.2, 0.1, mag_limit=19.0)
    b = stars_in_field(150.0, 2.2, 0.1, mag_limit=19.0)
    a.ra_deg[:] = 0.0
    a.mag["V"][:] = 0.0
    assert b.ra_deg.min() > 149.0 and b.mag["V"].min() > 3.0


def test_seeds_are_numpys() -> None:
    """The vectorised SeedSequence + PCG64 seeding gives numpy's own states."""
    assert sf._fast_seeding()
    rng = np.random.default_rng(5)
    pixels = np.concatenate([[0, 12 * sf.NSIDE**2 - 1], rng.integers(0, 12 * sf.NSIDE**2, 300)])
    slabs = np.concatenate([[0, 20], rng.integers(0, 21, 300)])
    for p, s, (state, inc) in zip(pixels.tolist(), slabs.tolist(),
                                  sf._pcg_states(pixels, slabs), strict=True):
        ref = np.random.PCG64(np.random.SeedSequence(entropy=sf._SKY_KEY,
                                                     spawn_key=(sf.NSIDE, p, s))).state
        assert ref["state"] == {"state": state, "inc": inc}


def test_positions_are_astropy_healpixs() -> None:
    """RA and Dec bit for bit as ``healpix_to_lonlat(...).to_value("deg")``, wrap included."""
    from astropy_healpix.core import healpix_to_lonlat

    rng = np.random.default_rng(6)
    top = np.nextafter(1.0, 0.0)
    dx = np.concatenate([[0.0, 0.0, top, top, 0.5], rng.random(20)])
    dy = np.concatenate([[0.0, top, 0.0, top, 0.5], rng.random(20)])
    pixels = [0, 1, 2, 3, 12 * sf.NSIDE**2 - 1, *rng.integers(0, 12 * sf.NSIDE**2, 300).tolist()]
    for p in pixels:                # pixel corners at RA = 0 come back as 2 pi: wrapped
        lon, lat = healpix_to_lonlat(np.full(len(dx), p), sf.NSIDE, dx=dx, dy=dy,
                                     order="nested")
        ra, dec = sf._lonlat_deg(p, dx, dy)
        assert np.array_equal(ra, lon.to_value("deg"))
        assert np.array_equal(dec, lat.to_value("deg"))


def test_threads_see_the_same_stars() -> None:
    fields = [(75.0 + 0.2 * k, 20.0, 0.3, 20.0 + 0.5 * (k % 3)) for k in range(8)]
    sf._cache.clear()
    expected = [stars_in_field(ra, dec, r, mag_limit=m) for ra, dec, r, m in fields]
    sf._cache.clear()
    results: dict[int, StarTable] = {}

    def work(k: int) -> None:
        for j in (k, (k + 3) % len(fields)):
            results[j] = stars_in_field(*fields[j][:3], mag_limit=fields[j][3])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(fields))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k, want in enumerate(expected):
        assert_same_stars(results[k], want)


def test_cold_query_is_fast() -> None:
    """A new 30' field to V = 21 at high latitude (goal: a few ms; generous bound)."""
    stars_in_field(150.0, 2.2, 0.5)
    times = []
    for k in range(5):
        t0 = time.perf_counter()
        stars_in_field(40.0 + 7.0 * k, -50.0, 0.5)
        times.append(time.perf_counter() - t0)
    assert sorted(times)[2] < 0.05
