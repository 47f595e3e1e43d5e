"""The simulated sky's stars and galaxies: one deterministic catalogue for everyone.

Stars are generated per HEALPix pixel (``nside`` :data:`NSIDE`, nested) and per
one-magnitude slab, each (pixel, slab) from its own random stream keyed by the
pixel index and the slab, never by a run seed or global state. Two overlapping
fields therefore see exactly the same stars, the frame renderer and the edge
pipeline (which cross-matches against this catalogue) agree, and a deeper
``mag_limit`` only adds fainter slabs. The stars of the most recently used
pixels are cached (:data:`CACHE_PIXELS` of them, each to the deepest magnitude
asked so far), so a warm query costs a cone filter.

Number counts follow ``log10 N(<V)`` per deg^2 rising 0.33 dex/mag between
V = 14 and 20 (0.42 dex/mag brighter, 0.22 fainter as the halo thins out), normalised to :data:`N18_POLE` stars brighter than
V = 18 per deg^2 at the galactic poles and up to ~12 times more in the plane,
more toward the bulge. Each star gets a B-V colour from a mixture of disc
dwarfs, giants and M dwarfs; ``u g r i z B V`` follow from V and B-V with the
Jester et al. (2005) transformations (Sloan bands treated as AB).

:func:`galaxies_in_field` gives the real NGC/IC galaxies of OpenNGC (``pyongc``)
with their axes, position angle and a Sersic index from the Hubble type.

Examples
--------
>>> stars = stars_in_field(150.0, 2.2, 0.25, mag_limit=18.0)
>>> len(stars) > 50, bool((stars.mag["V"] <= 18.0).all())
(True, True)
>>> again = stars_in_field(150.05, 2.2, 0.1, mag_limit=18.0)
>>> bool(set(again.ids) <= set(stars.ids))
True
"""

from __future__ import annotations

import math
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from simulator.bands import band

__all__ = [
    "BANDS",
    "BRIGHT_LIMIT",
    "CACHE_PIXELS",
    "FAINT_LIMIT",
    "N18_POLE",
    "NSIDE",
    "GalaxyTable",
    "StarTable",
    "band_magnitudes",
    "galaxies_in_field",
    "star_density",
    "stars_in_field",
]

NSIDE = 64
"""HEALPix resolution of the star generator (pixels of ~0.84 deg^2, nested order)."""
BRIGHT_LIMIT = 3.0
"""Brightest generated star (V)."""
FAINT_LIMIT = 24.0
"""Faintest ``mag_limit`` accepted (V)."""
N18_POLE = 1200.0
"""Stars brighter than V = 18 per deg^2 at the galactic poles."""
BANDS = ("u", "g", "r", "i", "z", "B", "V")
"""Bands tabulated in :attr:`StarTable.mag`."""

_SKY_KEY = 0x0A57_0A57
"""Entropy of the sky: the same for every run seed (the sky does not change)."""
_SLOPE_FAINT, _SLOPE_BRIGHT, _KNEE = 0.33, 0.42, 14.0
_SLOPE_DEEP, _DEEP = 0.22, 20.0
_ICRS_TO_GAL = np.array([
    [-0.0548755604162154, -0.8734370902348850, -0.4838350155487132],
    [0.4941094278755837, -0.4448296299600112, 0.7469822444972189],
    [-0.8676661490190047, -0.1980763734312015, 0.4559837761750669]])
_SLOAN_NM = np.array([band(b).wavelength_nm for b in ("u", "g", "r", "i", "z")])


def _unit(ra_deg, dec_deg) -> np.ndarray:
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=-1)


def star_density(ra_deg: float, dec_deg: float, v_mag: float) -> float:
    """Stars brighter than ``v_mag`` per deg^2 toward (RA, Dec) (ICRS, deg).

    Examples
    --------
    >>> pole = star_density(192.86, 27.13, 18.0)   # north galactic pole
    >>> plane = star_density(266.4, -28.9, 18.0)   # galactic centre
    >>> 1000 < pole < 1500, plane > 5 * pole
    (True, True)
    """
    gx, gy, gz = _ICRS_TO_GAL @ _unit(ra_deg, dec_deg)
    b = math.degrees(math.asin(max(-1.0, min(1.0, gz))))
    l_deg = math.degrees(math.atan2(gy, gx))
    plane = 1.0 + 5.0 * math.exp(-abs(b) / 9.0) + 1.5 * math.exp(-abs(b) / 30.0)
    bulge = 1.0 + 0.8 * math.exp(-math.hypot(l_deg, b) / 20.0)
    if v_mag >= _DEEP:
        log_n = (math.log10(N18_POLE) + _SLOPE_FAINT * (_DEEP - 18.0)
                 + _SLOPE_DEEP * (v_mag - _DEEP))
    elif v_mag >= _KNEE:
        log_n = math.log10(N18_POLE) + _SLOPE_FAINT * (v_mag - 18.0)
    else:
        log_n = (math.log10(N18_POLE) + _SLOPE_FAINT * (_KNEE - 18.0)
                 + _SLOPE_BRIGHT * (v_mag - _KNEE))
    return 10.0**log_n * plane * bulge


def band_magnitudes(v_mag: np.ndarray, b_minus_v: np.ndarray) -> dict[str, np.ndarray]:
    """``u g r i z B V`` from V and B-V (Jester et al. 2005 for stars; Sloan as AB).

    U-B and R-I (Cousins) are estimated from B-V along the main sequence, with
    R-I rising steeply for M dwarfs (B-V > 1.25).
    """
    v = np.asarray(v_mag, dtype=float)
    c = np.asarray(b_minus_v, dtype=float)
    u_b = 1.05 * c - 0.42
    r_i = 0.5 * c + 0.03 + 1.5 * np.maximum(c - 1.25, 0.0)
    g = v + 0.60 * c - 0.12
    r = v - 0.42 * c + 0.11
    i = r - (1.00 * r_i - 0.21)
    z = i - (0.55 * (r - i) - 0.03)
    u = g + 1.28 * u_b + 1.13
    return {"u": u, "g": g, "r": r, "i": i, "z": z, "B": v + c, "V": v}


def _mag_in(mag: dict[str, np.ndarray], filter: str) -> np.ndarray:
    if filter in mag:
        return mag[filter]
    wl = band(filter).wavelength_nm
    sloan = [mag[b] for b in ("u", "g", "r", "i", "z")]
    if wl <= _SLOAN_NM[0]:
        return sloan[0]
    if wl >= _SLOAN_NM[-1]:
        slope = (sloan[4] - sloan[3]) / (_SLOAN_NM[4] - _SLOAN_NM[3])
        return sloan[4] + slope * (wl - _SLOAN_NM[4])
    k = int(np.searchsorted(_SLOAN_NM, wl)) - 1
    f = (wl - _SLOAN_NM[k]) / (_SLOAN_NM[k + 1] - _SLOAN_NM[k])
    return (1.0 - f) * sloan[k] + f * sloan[k + 1]


@dataclass(frozen=True)
class StarTable:
    """Stars of a field (arrays of equal length, sorted by id).

    Attributes
    ----------
    ids : numpy.ndarray of int64
        Stable identifiers: ``pixel << 32 | slab << 24 | index``.
    ra_deg, dec_deg : numpy.ndarray
        ICRS position.
    mag : dict of str to numpy.ndarray
        Magnitudes in :data:`BANDS`.
    """

    ids: np.ndarray
    ra_deg: np.ndarray
    dec_deg: np.ndarray
    mag: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def b_minus_v(self) -> np.ndarray:
        return self.mag["B"] - self.mag["V"]

    def mag_in(self, filter: str) -> np.ndarray:
        """Magnitudes in any known filter (interpolated in wavelength between Sloan bands)."""
        return _mag_in(self.mag, filter)


def _slab(pixel: int, slab: int) -> tuple[np.ndarray, ...]:
    """ids, RA, Dec, V and B-V of one pixel's stars with V in [slab, slab + 1)."""
    from astropy_healpix.core import healpix_to_lonlat, nside_to_pixel_area

    lo = BRIGHT_LIMIT + slab
    centre_lon, centre_lat = healpix_to_lonlat(pixel, NSIDE, order="nested")
    ra0, dec0 = float(centre_lon.to_value("deg")), float(centre_lat.to_value("deg"))
    area = float(nside_to_pixel_area(NSIDE).to_value("deg2"))
    mean = area * (star_density(ra0, dec0, lo + 1.0) - star_density(ra0, dec0, lo))
    rng = np.random.Generator(np.random.PCG64(
        np.random.SeedSequence(entropy=_SKY_KEY, spawn_key=(NSIDE, pixel, slab))))
    n = int(rng.poisson(mean))
    u = rng.random((4, n))
    lon, lat = healpix_to_lonlat(np.full(n, pixel), NSIDE, dx=u[0], dy=u[1], order="nested")
    s = _SLOPE_DEEP if lo >= _DEEP else _SLOPE_FAINT if lo >= _KNEE else _SLOPE_BRIGHT
    v = lo + np.log10(1.0 + u[2] * (10.0 ** s - 1.0)) / s
    kind = u[3]
    c = np.where(kind < 0.55, rng.normal(0.62, 0.18, n),
                 np.where(kind < 0.85, rng.normal(1.0, 0.22, n), rng.normal(1.45, 0.1, n)))
    ids = (np.int64(pixel) << 32) | (np.int64(slab) << 24) | np.arange(n, dtype=np.int64)
    out = (ids, lon.to_value("deg"), lat.to_value("deg"), v, np.clip(c, -0.3, 2.0))
    for a in out:
        a.flags.writeable = False
    return out


CACHE_PIXELS = 32
"""How many HEALPix pixels' stars are kept in memory (a pixel in the Milky Way's
plane, generated to V = 23, takes ~15 MB; one at high latitude ~1 MB)."""
_cache: OrderedDict[int, tuple[np.ndarray, ...]] = OrderedDict()
_cache_lock = threading.Lock()


def _pixel_stars(pixel: int, n_slabs: int) -> tuple[np.ndarray, ...]:
    """At least the slabs ``0 .. n_slabs - 1`` of one pixel, concatenated (sorted by slab),
    with unit vectors; columns ids, RA, Dec, V, B-V, xyz."""
    with _cache_lock:
        hit = _cache.get(pixel)
        if hit is not None and hit[6] >= n_slabs:
            _cache.move_to_end(pixel)
            return hit
    parts = [_slab(pixel, s) for s in range(n_slabs)]
    if parts:
        cols = tuple(np.concatenate([p[k] for p in parts]) for k in range(5))
    else:
        cols = (np.empty(0, np.int64), *(np.empty(0) for _ in range(4)))
    out = (*cols, _unit(cols[1], cols[2]).reshape(-1, 3))
    for a in out:
        a.flags.writeable = False
    entry = (*out, n_slabs)
    with _cache_lock:
        _cache[pixel] = entry
        _cache.move_to_end(pixel)
        while len(_cache) > CACHE_PIXELS:
            _cache.popitem(last=False)
    return entry


def _pixels(ra_deg: float, dec_deg: float, radius_deg: float) -> np.ndarray:
    import astropy.units as u
    from astropy_healpix.core import healpix_cone_search

    return np.sort(healpix_cone_search(ra_deg * u.deg, dec_deg * u.deg, radius_deg * u.deg,
                                       NSIDE, order="nested"))


def _within(ra_deg: np.ndarray, dec_deg: np.ndarray, ra0: float, dec0: float,
            radius_deg: float) -> np.ndarray:
    """Haversine separation test (exact at small radii)."""
    d_ra = np.radians(ra_deg - ra0)
    d_dec = np.radians(dec_deg - dec0)
    a = (np.sin(d_dec / 2.0) ** 2
         + np.cos(np.radians(dec_deg)) * math.cos(math.radians(dec0)) * np.sin(d_ra / 2.0) ** 2)
    return a <= math.sin(math.radians(radius_deg) / 2.0) ** 2


def stars_in_field(ra_deg: float, dec_deg: float, radius_deg: float, *,
                   mag_limit: float = 21.0) -> StarTable:
    """The catalogue stars within ``radius_deg`` of (RA, Dec) brighter than ``mag_limit`` (V).

    Parameters
    ----------
    ra_deg, dec_deg : float
        Field centre (ICRS, deg).
    radius_deg : float
        Cone radius (deg); use the half-diagonal for a rectangular frame.
    mag_limit : float
        Faintest V magnitude kept, at most :data:`FAINT_LIMIT`.

    Returns
    -------
    StarTable
        Sorted by id; the same star always has the same id, position and magnitudes.
    """
    if not mag_limit <= FAINT_LIMIT:
        raise ValueError(f"mag_limit must be <= {FAINT_LIMIT}, got {mag_limit}")
    if not 0.0 < radius_deg <= 10.0:
        raise ValueError(f"radius_deg must be in (0, 10], got {radius_deg}")
    n_slabs = max(0, math.ceil(mag_limit - BRIGHT_LIMIT))
    parts = []
    centre = _unit(ra_deg, dec_deg)
    cos_r = math.cos(math.radians(radius_deg))
    for p in _pixels(ra_deg, dec_deg, radius_deg):
        cols = _pixel_stars(int(p), n_slabs)
        keep = np.flatnonzero(cols[5] @ centre >= cos_r)
        keep = keep[cols[3][keep] <= mag_limit]
        parts.append([a[keep] for a in cols[:5]])
    ids, ra, dec, v, c = (np.concatenate([p[k] for p in parts]) for k in range(5))
    order = np.argsort(ids, kind="stable")
    return StarTable(ids[order], ra[order], dec[order], band_magnitudes(v[order], c[order]))


@dataclass(frozen=True)
class GalaxyTable:
    """NGC/IC galaxies of a field (arrays of equal length, sorted by name).

    Attributes
    ----------
    names : tuple of str
    ra_deg, dec_deg : numpy.ndarray
    mag : dict of str to numpy.ndarray
        Integrated magnitudes in :data:`BANDS` (from V and B-V).
    major_arcmin, minor_arcmin : numpy.ndarray
        Isophotal (~D25) axes; minor = 0.6 major where OpenNGC has none.
    pa_deg : numpy.ndarray
        Position angle of the major axis, east of north (seeded where unknown).
    sersic_n : numpy.ndarray
        4 for ellipticals, 2.5 for lenticulars, 1 for spirals and irregulars.
    """

    names: tuple[str, ...]
    ra_deg: np.ndarray
    dec_deg: np.ndarray
    mag: dict[str, np.ndarray]
    major_arcmin: np.ndarray
    minor_arcmin: np.ndarray
    pa_deg: np.ndarray
    sersic_n: np.ndarray

    def __len__(self) -> int:
        return len(self.names)

    def mag_in(self, filter: str) -> np.ndarray:
        """Integrated magnitudes in any known filter."""
        return _mag_in(self.mag, filter)


@lru_cache(maxsize=1)
def _all_galaxies() -> tuple[np.ndarray, ...]:
    """Every OpenNGC galaxy with a magnitude and a size (one SQL query)."""
    from pyongc import DBPATH

    query = ("SELECT name, ra, dec, vmag, bmag, majax, minax, pa, hubble FROM objects "
             "WHERE type = 'G' AND ra IS NOT NULL AND majax IS NOT NULL "
             "AND (vmag IS NOT NULL OR bmag IS NOT NULL) ORDER BY name")
    with sqlite3.connect(f"file:{DBPATH}?mode=ro", uri=True) as db:
        rows = db.execute(query).fetchall()
    names = np.array([r[0] for r in rows])
    ra = np.degrees([r[1] for r in rows]) % 360.0
    dec = np.degrees([r[2] for r in rows])
    bmag = np.array([np.nan if r[4] is None else r[4] for r in rows])
    vmag = np.array([np.nan if r[3] is None else r[3] for r in rows])
    colour = np.where(np.isfinite(bmag) & np.isfinite(vmag), bmag - vmag, 0.8)
    colour = np.clip(colour, 0.2, 1.3)
    vmag = np.where(np.isfinite(vmag), vmag, bmag - 0.8)
    major = np.maximum([r[5] for r in rows], 0.05)
    minor = np.array([0.6 * r[5] if r[6] is None else max(min(r[6], r[5]), 0.05 * r[5])
                      for r in rows])
    fallback_pa = np.random.Generator(np.random.PCG64(_SKY_KEY)).uniform(0, 180, len(rows))
    pa = np.array([fallback_pa[k] if r[7] is None else float(r[7]) for k, r in enumerate(rows)])
    hubble = [(r[8] or "").strip() for r in rows]
    sersic = np.array([4.0 if h.startswith("E") else 2.5 if h.startswith("S0") else 1.0
                       for h in hubble])
    return names, ra, dec, vmag, colour, major, np.maximum(minor, 0.02), pa, sersic


def galaxies_in_field(ra_deg: float, dec_deg: float, radius_deg: float, *,
                      mag_limit: float = 99.0) -> GalaxyTable:
    """The OpenNGC galaxies whose centres lie within ``radius_deg`` of (RA, Dec).

    Parameters
    ----------
    ra_deg, dec_deg, radius_deg : float
        Cone (ICRS, deg). Pad it by the largest galaxy you care about if a
        galaxy centred outside the field should still be drawn at its edge.
    mag_limit : float
        Faintest integrated V magnitude kept.

    Examples
    --------
    >>> g = galaxies_in_field(49.95, -19.41, 0.1)   # NGC 1300
    >>> g.names, float(g.major_arcmin[0])
    (('NGC1300',), 5.96)
    """
    names, ra, dec, v, c, major, minor, pa, n = _all_galaxies()
    keep = _within(ra, dec, ra_deg, dec_deg, radius_deg) & (v <= mag_limit)
    return GalaxyTable(tuple(str(s) for s in names[keep]), ra[keep], dec[keep],
                       band_magnitudes(v[keep], c[keep]), major[keep], minor[keep], pa[keep],
                       n[keep])
