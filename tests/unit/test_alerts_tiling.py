"""HEALPix skymaps (flat NESTED/RING, multi-order, galactic) and their tiling into fields."""

from __future__ import annotations

import gzip
import io
import math

import numpy as np
import pytest
from astropy.io import fits

from control_center.alerts import (
    SkymapError,
    circle_localisation,
    read_skymap,
    tile_localisation,
)
from control_center.alerts.observability import sun_radec, visibility
from control_center.network import load_network
from simulator.alerts import gw_skymap, skymap_fits

SIDE = 20 / 60.0   # the demo network's smallest field (palma-1m, 20 arcmin)


@pytest.fixture(scope="module")
def blob() -> np.ndarray:
    """A 5-degree Gaussian at (ra 96, dec -28), nside 64 NESTED."""
    return gw_skymap(np.random.default_rng(3), 96.0, -28.0, nside=64, arc=False)


@pytest.fixture(scope="module")
def arc() -> np.ndarray:
    return gw_skymap(np.random.default_rng(4), 200.0, 15.0, nside=64, arc=True)


# -- reading -------------------------------------------------------------------------------


def test_nested_ring_and_multi_order_files_give_the_same_map(blob: np.ndarray) -> None:
    nested = read_skymap(skymap_fits(blob, "NESTED"))
    ring = read_skymap(skymap_fits(blob, "RING"))
    multi = read_skymap(skymap_fits(blob, "NUNIQ", coarsen_below=1e-6))
    assert nested.description == "flat NESTED nside 64"
    assert ring.description == "flat RING nside 64"
    assert multi.description.startswith("multi-order, orders 4-6")
    assert multi.prob.size < nested.prob.size          # coarse where nothing is
    for loc in (ring, multi):
        assert loc.area_deg2() == pytest.approx(nested.area_deg2(), rel=0.01)
    a = tile_localisation(nested, SIDE, max_tiles=20)
    b = tile_localisation(ring, SIDE, max_tiles=20)
    c = tile_localisation(multi, SIDE, max_tiles=20)
    assert [(t.ra_deg, t.dec_deg) for t in a.tiles] == [(t.ra_deg, t.dec_deg) for t in b.tiles]
    assert [t.probability for t in a.tiles] == pytest.approx([t.probability for t in b.tiles])
    assert [(t.ra_deg, t.dec_deg) for t in c.tiles[:5]] == \
        [(t.ra_deg, t.dec_deg) for t in a.tiles[:5]]


def test_gzip_and_explicit_partial_maps(blob: np.ndarray) -> None:
    stored = blob.astype(np.float32)                    # PROB is written as float32
    assert read_skymap(gzip.compress(skymap_fits(blob))).prob.size == np.count_nonzero(stored)
    keep = np.flatnonzero(blob > 1e-5)
    table = fits.BinTableHDU.from_columns([
        fits.Column(name="PIXEL", format="J", array=keep),
        fits.Column(name="PROB", format="D", array=blob[keep])])
    table.header.update(ORDERING="NESTED", NSIDE=64, INDXSCHM="EXPLICIT", COORDSYS="C")
    out = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(out)
    partial = read_skymap(out.getvalue())
    assert partial.prob.size == keep.size and partial.prob.sum() == pytest.approx(1.0)
    full = read_skymap(skymap_fits(blob))
    assert partial.area_deg2() == pytest.approx(full.area_deg2(), rel=0.02)


def test_healpy_style_vector_column_and_unseen_pixels(blob: np.ndarray) -> None:
    values = blob.astype(np.float32).copy()
    values[blob < 1e-12] = -1.6375e30                   # healpy's UNSEEN
    table = fits.BinTableHDU.from_columns([
        fits.Column(name="T", format="1024E", array=values.reshape(-1, 1024))])
    table.header.update(ORDERING="NESTED", NSIDE=64, COORDSYS="C")
    out = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(out)
    loc = read_skymap(out.getvalue())
    assert loc.prob.sum() == pytest.approx(1.0)
    assert loc.area_deg2() == pytest.approx(read_skymap(skymap_fits(blob)).area_deg2(),
                                            rel=0.01)


def test_galactic_maps_are_tiled_in_icrs() -> None:
    prob = gw_skymap(np.random.default_rng(5), 0.0, 0.0, nside=64, arc=False, scale=0.3)
    data = skymap_fits(prob).replace(b"COORDSYS= 'C", b"COORDSYS= 'G")
    loc = read_skymap(data)
    assert loc.frame == "galactic"
    best = tile_localisation(loc, SIDE, max_tiles=1).tiles[0]
    assert best.ra_deg == pytest.approx(266.4, abs=1.0)        # the Galactic centre
    assert best.dec_deg == pytest.approx(-28.9, abs=1.0)


@pytest.mark.parametrize(("mutate", "reason"), [
    (lambda d: b"hello", "not a FITS file"),
    (lambda d: gzip.compress(b"SIMPLE  = nonsense")[:20], "corrupt gzip"),
    (lambda d: d.replace(b"ORDERING= 'NESTED", b"ORDERING= 'WEIRD "), "ORDERING is 'WEIRD'"),
    (lambda d: d.replace(b"COORDSYS= 'C", b"COORDSYS= 'E"), "COORDSYS 'E'"),
    (lambda d: d.replace(b"NSIDE   =                   64",
                         b"NSIDE   =                   32"), "NSIDE 32 but 49152 pixels"),
    (lambda d: _primary_only(), "no binary table"),
    (lambda d: skymap_fits(np.zeros(12 * 16 * 16)), "holds no probability"),
])
def test_bad_skymaps_are_refused(blob: np.ndarray, mutate, reason: str) -> None:
    with pytest.raises(SkymapError, match=reason):
        read_skymap(mutate(skymap_fits(blob)))


def test_wrong_pixel_count_is_refused() -> None:
    table = fits.BinTableHDU.from_columns([fits.Column(name="PROB", format="D",
                                                       array=np.ones(1000))])
    table.header.update(ORDERING="NESTED")
    out = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(out)
    with pytest.raises(SkymapError, match="1000 pixels is not a HEALPix map"):
        read_skymap(out.getvalue())


def _primary_only() -> bytes:
    out = io.BytesIO()
    fits.PrimaryHDU(np.zeros((2, 2))).writeto(out)
    return out.getvalue()


# -- tiling --------------------------------------------------------------------------------


def test_tiles_cover_the_credible_region_ranked_and_bounded(arc: np.ndarray) -> None:
    loc = read_skymap(skymap_fits(arc))
    every = tile_localisation(loc, 2.0, max_tiles=100_000)
    assert len(every.tiles) == every.cells90
    assert every.probability >= 0.9                     # the 90 % region is covered
    assert every.area90_deg2 == pytest.approx(loc.area_deg2())
    # 2-degree fields: about area / 4 cells, plus the ragged edge
    assert every.area90_deg2 / 4.0 < every.cells90 < 2.0 * every.area90_deg2 / 4.0
    probs = [t.probability for t in every.tiles]
    assert probs == sorted(probs, reverse=True)
    top = tile_localisation(loc, 2.0, max_tiles=30)
    assert len(top.tiles) == 30
    assert top.tiles == every.tiles[:30]
    assert top.probability == pytest.approx(sum(probs[:30]))


def test_cells_partition_the_sky(blob: np.ndarray) -> None:
    loc = read_skymap(skymap_fits(blob))
    whole = tile_localisation(loc, 3.0, max_tiles=100_000, level=1.0)
    assert whole.probability == pytest.approx(1.0, abs=1e-9)


def test_smaller_fields_need_more_tiles_and_hold_less_each(blob: np.ndarray) -> None:
    loc = read_skymap(skymap_fits(blob))
    small = tile_localisation(loc, SIDE, max_tiles=50)
    large = tile_localisation(loc, 1.0, max_tiles=50)
    assert small.cells90 > 6 * large.cells90          # (1 / 0.33)^2 = 9, less the edges
    assert small.tiles[0].probability < large.tiles[0].probability
    assert small.probability < large.probability
    ra = np.array([t.ra_deg for t in small.tiles])
    dec = np.array([t.dec_deg for t in small.tiles])
    # the most probable tiles sit on the blob's centre
    assert np.hypot((ra[:5] - 96.0) * math.cos(math.radians(28)), dec[:5] + 28.0).max() < 1.5


def test_usable_tiles_are_preferred(arc: np.ndarray) -> None:
    loc = read_skymap(skymap_fits(arc))
    plain = tile_localisation(loc, 1.0, max_tiles=10)
    north = tile_localisation(loc, 1.0, max_tiles=10, usable=lambda ra, dec: dec > 16.0)
    assert all(t.dec_deg > 16.0 for t in north.tiles)
    assert plain.tiles != north.tiles
    none = tile_localisation(loc, 1.0, max_tiles=10, usable=lambda ra, dec: dec > 89.0)
    assert none.tiles == plain.tiles                    # nothing usable: most probable


def test_tiling_is_deterministic(arc: np.ndarray) -> None:
    loc = read_skymap(skymap_fits(arc, "NUNIQ"))
    assert tile_localisation(loc, SIDE) == tile_localisation(loc, SIDE)


def test_error_circles_become_gaussian_localisations() -> None:
    loc = circle_localisation(150.0, 20.0, 3.0)
    assert loc.area_deg2() == pytest.approx(math.pi * 9.0, rel=0.05)
    tiles = tile_localisation(loc, 1.0, max_tiles=5).tiles
    assert abs(tiles[0].ra_deg - 150.0) < 1.0 and abs(tiles[0].dec_deg - 20.0) < 1.0
    with pytest.raises(SkymapError, match="radius must be positive"):
        circle_localisation(1.0, 2.0, 0.0)


@pytest.mark.parametrize("bad", [(0, 1), (1, 0)])
def test_tiling_arguments_are_checked(blob: np.ndarray, bad: tuple[float, int]) -> None:
    with pytest.raises(ValueError):
        tile_localisation(read_skymap(skymap_fits(blob)), bad[0], max_tiles=bad[1])


# -- observability ---------------------------------------------------------------------------


def test_the_quick_sun_matches_astropy() -> None:
    from datetime import UTC, datetime, timedelta

    from astropy.coordinates import PrecessedGeocentric, get_body
    from astropy.time import Time

    from control_center import astro
    from simulator.horizon import julian_date

    astro.configure_offline()
    times = [datetime(2025, 1, 15, tzinfo=UTC) + timedelta(days=40 * i) for i in range(9)]
    ra, dec = sun_radec(np.array([julian_date(t) for t in times]))
    t = Time(times)
    sun = get_body("sun", t).transform_to(PrecessedGeocentric(equinox=t, obstime=t))
    assert np.abs(dec - sun.dec.deg).max() < 0.02      # of date, as the formula gives
    assert np.abs((ra - sun.ra.deg + 180) % 360 - 180).max() < 0.02


def test_visibility_of_positions_from_the_demo_network() -> None:
    from datetime import UTC, datetime

    network = load_network()
    now = datetime(2025, 1, 15, 3, tzinfo=UTC)
    # the Sun is at ra ~296, dec ~-21 in mid-January: that position is up only by day
    seen = visibility(network, [101.25, 296.5, 10.0], [-22.5, -21.2, 85.0], now)
    assert seen.observable.tolist() == [True, False, True]
    assert seen.rises.tolist() == [True, True, True]
    assert "cerro-pachon" in seen.sites
