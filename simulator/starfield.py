"""The simulated sky's stars and galaxies: one deterministic catalogue for everyone.

Stars are generated per HEALPix pixel (``nside`` :data:`NSIDE`, nested) and per
one-magnitude slab, each (pixel, slab) from its own random stream keyed by the
pixel index and the slab, never by a run seed or global state. Two overlapping
fields therefore see exactly the same stars, the frame renderer and the edge
pipeline (which cross-matches against this catalogue) agree, and a deeper
``mag_limit`` only adds fainter slabs. The random deviates of the most recently
used pixels are cached (:data:`CACHE_PIXELS` of them, each to the deepest
magnitude asked so far, with the positions of the stars queried so far), so a
warm query costs a cone filter.

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
from collections.abc import Iterator
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
    plane, bulge = _galactic_factors(ra_deg, dec_deg)
    return 10.0**_log_counts(v_mag) * plane * bulge


def _galactic_factors(ra_deg: float, dec_deg: float) -> tuple[float, float]:
    """Density relative to the galactic poles: the disc's and the bulge's factors."""
    gx, gy, gz = _ICRS_TO_GAL @ _unit(ra_deg, dec_deg)
    b = math.degrees(math.asin(max(-1.0, min(1.0, gz))))
    l_deg = math.degrees(math.atan2(gy, gx))
    plane = 1.0 + 5.0 * math.exp(-abs(b) / 9.0) + 1.5 * math.exp(-abs(b) / 30.0)
    bulge = 1.0 + 0.8 * math.exp(-math.hypot(l_deg, b) / 20.0)
    return plane, bulge


def _log_counts(v_mag: float) -> float:
    """``log10`` of the stars brighter than ``v_mag`` per deg^2 at the galactic poles."""
    if v_mag >= _DEEP:
        return (math.log10(N18_POLE) + _SLOPE_FAINT * (_DEEP - 18.0)
                + _SLOPE_DEEP * (v_mag - _DEEP))
    if v_mag >= _KNEE:
        return math.log10(N18_POLE) + _SLOPE_FAINT * (v_mag - 18.0)
    return (math.log10(N18_POLE) + _SLOPE_FAINT * (_KNEE - 18.0)
            + _SLOPE_BRIGHT * (v_mag - _KNEE))


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


# --- the generator ---------------------------------------------------------------------
#
# A slab's stars come from ``Generator(PCG64(SeedSequence(entropy=_SKY_KEY,
# spawn_key=(NSIDE, pixel, slab))))``: ``poisson(mean)`` stars, then ``random((4, n))``
# (dx, dy inside the pixel, the magnitude's quantile, the population), then three
# ``normal(.., n)`` draws (B-V of disc dwarfs, giants, M dwarfs), positions from
# astropy-healpix (``healpix_to_lonlat(...).to_value("deg")``). Everything below
# reproduces that catalogue bit for bit (tests/unit/test_simulator_starfield.py holds it
# frozen and compares with that reference generator), only faster: the seeds of all the
# slabs a query needs are hashed at once (numpy's SeedSequence and PCG64 seeding,
# vectorised), one Generator is re-seeded by setting its state and draws into reused
# buffers, and a pixel's magnitudes and colours are computed on whole arrays; positions
# (a HEALPix call per star, after the draws the costly part) are computed only for the
# stars that can lie in a queried cone, found with a coarse grid over the pixel, and kept
# for later queries. The draws themselves (~50 ns a star) are now most of a cold query.

_DEG_PER_RAD = 180.0 / math.pi
"""astropy's rad -> deg scale: ``Angle.to_value("deg")`` multiplies by exactly this."""
_NSIDE_C = np.asarray(NSIDE, dtype=np.intc)
_GRID = 16
"""Cells per side of a pixel's (dx, dy) square, for preselecting the stars near a cone."""
_REACH_SAFETY, _REACH_PAD = 1.25, 1e-7
"""No point of a grid cell is farther from the cell's centre (the normalised mean of its
corners) than this times the longest side of any cell of the pixel, plus this (rad): the
farthest is 0.84 times the longest side, checked densely over the polar pixels, those
where HEALPix's polar and equatorial zones meet, and hundreds of others."""
_SLACK = 1e-4
"""Candidate cells are chosen for a cone this much (rad, 20") wider and narrower than
asked, so that they still serve a cone moved by a few arcsec (the next frame)."""
_DOT_PAD = 1e-12
"""HEALPix's unit vectors and those of the rounded RA, Dec agree to ~1e-15 in a dot
product; only stars this close to the cone's edge need the exact test."""
_NORMALS = ((0.62, 0.18), (1.0, 0.22), (1.45, 0.1))
"""B-V (mean, sigma) of disc dwarfs, giants and M dwarfs."""
_NORMAL_LOC = np.array([loc for loc, _ in _NORMALS])
_NORMAL_SCALE = np.array([scale for _, scale in _NORMALS])

# numpy.random.SeedSequence's hash (bit_generator.pyx) and PCG64's seeding (pcg64.h).
_M32, _M128 = 0xFFFF_FFFF, (1 << 128) - 1
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0_D7E5, 0x931E_8875, 0x8B51_F9DD, 0x58F3_8DED
_MIX_L, _MIX_R = 0xCA01_F9DD, 0x4973_F715
_PCG_MULT = 0x2360_ED05_1FC6_5DA4_4385_DF64_9FCC_F645


@lru_cache(maxsize=1)
def _hp() -> tuple[object, float]:
    """astropy-healpix's C ufuncs (no Quantity overhead) and the pixel area (deg^2)."""
    from astropy_healpix import _core
    from astropy_healpix.core import nside_to_pixel_area

    return _core, float(nside_to_pixel_area(NSIDE).to_value("deg2"))


def _lonlat_deg(pixel: int, dx, dy) -> tuple[np.ndarray, np.ndarray]:
    """RA, Dec (deg) of offsets in a nested pixel, bit for bit
    ``astropy_healpix.core.healpix_to_lonlat(pixel, NSIDE, dx, dy, "nested")`` in deg."""
    lon, lat = _hp()[0].healpix_nested_to_lonlat(pixel, _NSIDE_C, dx, dy)
    if np.any((lon < 0.0) | (lon >= 2.0 * math.pi - 1e-9)):
        from astropy.coordinates import Longitude  # wraps to [0, 360) as the original did

        return Longitude(lon, unit="rad").to_value("deg"), lat * _DEG_PER_RAD
    return lon * _DEG_PER_RAD, lat * _DEG_PER_RAD


def _slope(lo: float) -> float:
    return _SLOPE_DEEP if lo >= _DEEP else _SLOPE_FAINT if lo >= _KNEE else _SLOPE_BRIGHT


def _slab_means(pixel: int, n_slabs: int) -> list[float]:
    """Expected number of stars of each slab ``0 .. n_slabs - 1`` of a pixel (as
    ``area * (star_density(centre, lo + 1) - star_density(centre, lo))``)."""
    lon, lat = _lonlat_deg(pixel, 0.5, 0.5)
    plane, bulge = _galactic_factors(float(lon), float(lat))
    area = _hp()[1]
    density = [10.0**_log_counts(BRIGHT_LIMIT + s) * plane * bulge for s in range(n_slabs + 1)]
    return [area * (density[s + 1] - density[s]) for s in range(n_slabs)]


def _hash_consts(start: int, mult: int, n: int) -> tuple[list[int], int]:
    """The hash constants SeedSequence xors and multiplies with in ``n`` steps."""
    out = [start]
    for _ in range(n):
        out.append((out[-1] * mult) & _M32)
    return out, out[-1]


def _hashmix(value, hash_const: int):
    """SeedSequence's ``hashmix`` of ``value`` (uint32 array), then the next constant."""
    (xor, mul), hash_const = _hash_consts(hash_const, _MULT_A, 1)
    value = (value ^ np.uint32(xor)) * np.uint32(mul)
    return value ^ (value >> 16), hash_const


def _mix(x, y):
    r = np.uint32(_MIX_L) * x - np.uint32(_MIX_R) * y
    return r ^ (r >> 16)


@lru_cache(maxsize=1)
def _seed_plan() -> tuple[np.ndarray, tuple[np.ndarray, ...], np.ndarray, np.ndarray]:
    """SeedSequence's pool after the words every slab shares (the sky key, padded with
    zeros to the pool size, then NSIDE), and the constants of the remaining steps."""
    mixer, hc = [], _INIT_A
    for w in (_SKY_KEY, 0, 0, 0):
        h, hc = _hashmix(np.array([w], np.uint32), hc)
        mixer.append(h)
    for src in range(4):
        for dst in range(4):
            if src != dst:
                h, hc = _hashmix(mixer[src], hc)
                mixer[dst] = _mix(mixer[dst], h)
    for dst in range(4):
        h, hc = _hashmix(np.array([NSIDE], np.uint32), hc)
        mixer[dst] = _mix(mixer[dst], h)
    steps = []                               # the pixel's and the slab's words, 4 lanes each
    for _ in range(2):
        consts, hc = _hash_consts(hc, _MULT_A, 4)
        steps.append(np.array(consts[:4], np.uint32)[:, None])
        steps.append(np.array(consts[1:], np.uint32)[:, None])
    consts, _ = _hash_consts(_INIT_B, _MULT_B, 8)   # generate_state: 8 words from the pool
    return (np.concatenate(mixer)[:, None], tuple(steps),
            np.array(consts[:8], np.uint32).reshape(2, 4, 1),
            np.array(consts[1:], np.uint32).reshape(2, 4, 1))


def _pcg_states(pixels, slabs) -> list[tuple[int, int]]:
    """PCG64 (state, inc) of ``PCG64(SeedSequence(entropy=_SKY_KEY, spawn_key=(NSIDE, p, s)))``
    for sequences of pixels and slabs (uint32 arithmetic wraps as in the C code)."""
    pool, steps, xor_b, mul_b = _seed_plan()
    for word, (xor, mul) in zip((pixels, slabs), (steps[:2], steps[2:]), strict=True):
        h = (np.asarray(word, np.uint32) ^ xor) * mul
        pool = _mix(pool, h ^ (h >> 16))
    words = (pool ^ xor_b) * mul_b           # (2, 4, n): the 8 uint32 words, in order
    words ^= words >> 16
    val = np.ascontiguousarray(words.reshape(8, -1).T, "<u4").view("<u8").T.tolist()
    states = []
    for s_hi, s_lo, i_hi, i_lo in zip(*val, strict=True):
        inc = ((((i_hi << 64) | i_lo) << 1) | 1) & _M128
        state = (((inc + ((s_hi << 64) | s_lo)) & _M128) * _PCG_MULT + inc) & _M128
        states.append((state, inc))
    return states


def _numpy_generator(pixel: int, slab: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(
        np.random.SeedSequence(entropy=_SKY_KEY, spawn_key=(NSIDE, pixel, slab))))


@lru_cache(maxsize=1)
def _fast_seeding() -> bool:
    """Whether :func:`_pcg_states` agrees with this numpy (else seed the slow way)."""
    keys = [(0, 0), (1, 20), (NSIDE**2 * 12 - 1, 7), (31337, 13)]
    mine = _pcg_states([k[0] for k in keys], [k[1] for k in keys])
    for (p, s), (state, inc) in zip(keys, mine, strict=True):
        ref = _numpy_generator(p, s).bit_generator.state
        if (ref["bit_generator"] != "PCG64" or ref["state"] != {"state": state, "inc": inc}
                or ref["has_uint32"] or ref["uinteger"]):
            return False
    return True


_local = threading.local()


def _generators(pixel: int, slabs: range,
                states: dict[int, tuple[int, int]]) -> Iterator[np.random.Generator]:
    """The Generator of each slab, in turn (one re-seeded Generator when possible)."""
    if not _fast_seeding():
        for s in slabs:
            yield _numpy_generator(pixel, s)
        return
    missing = [s for s in slabs if s not in states]
    if missing:
        states = {**states, **dict(zip(missing, _pcg_states([pixel] * len(missing), missing),
                                       strict=True))}
    pair = getattr(_local, "generator", None)
    if pair is None:
        bit_generator = np.random.PCG64(0)
        pair = _local.generator = (bit_generator, np.random.Generator(bit_generator))
    bit_generator, generator = pair
    for s in slabs:
        state, inc = states[s]
        bit_generator.state = {"bit_generator": "PCG64", "state": {"state": state, "inc": inc},
                               "has_uint32": 0, "uinteger": 0}
        yield generator


@lru_cache(maxsize=1)
def _fast_normals() -> bool:
    """Whether ``normal(loc, scale, n)`` is ``standard_normal(n) * scale + loc`` bit for bit
    here (it is where numpy's C code does not fuse the multiply-add)."""
    for loc, scale in _NORMALS:
        a = np.random.Generator(np.random.PCG64(_SKY_KEY)).normal(loc, scale, 4096)
        b = np.random.Generator(np.random.PCG64(_SKY_KEY)).standard_normal(4096)
        if not np.array_equal(a, b * scale + loc):
            return False
    return True


@lru_cache(maxsize=1)
def _grid() -> tuple[np.ndarray, np.ndarray]:
    """(dx, dy) of the ``(_GRID + 1)**2`` corners of the grid's cells."""
    t = np.linspace(0.0, 1.0, _GRID + 1)
    nx, ny = np.meshgrid(t, t, indexing="ij")
    return nx.ravel(), ny.ravel()


def _scratch(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-thread buffers for ``4 n`` uniform and ``(3, n)`` normal deviates, reused from
    query to query (fresh memory costs more than the draws)."""
    bufs = getattr(_local, "scratch", None)
    if bufs is None or bufs[1].shape[1] < n:
        n = max(n, 1 << 14)
        bufs = _local.scratch = (np.empty(4 * n), np.empty((3, n)))
    return bufs


class _Pixel:
    """One pixel's stars, slabs ``0 .. n_slabs - 1`` in order (so ids ascending).

    Kept for every star: ``dx, dy`` (its offsets in the pixel), ``v``, ``c`` (B-V) and
    its grid ``cell`` (``floor(dx G) G + floor(dy G)``); computed when first needed and
    kept: RA and Dec (``has_radec``), HEALPix's unit vector (``xyz``, 3 rows; ``has_xyz``).
    """

    __slots__ = ("c", "candidates", "cell", "centres", "dec", "dx", "dy", "has_radec",
                 "has_xyz", "lock", "memo", "pixel", "ra", "reach", "starts", "v", "xyz")

    def __init__(self, pixel: int) -> None:
        self.pixel = pixel
        self.starts = np.zeros(1, np.int64)     # first star of each slab, then the total
        self.dx = self.dy = self.v = self.c = self.ra = self.dec = np.empty(0)
        self.xyz = np.empty((3, 0))
        self.cell = np.empty(0, np.uint16)
        self.has_radec = self.has_xyz = np.empty(0, bool)
        self.centres: np.ndarray | None = None
        self.reach = 0.0
        self.memo: tuple = ()
        self.candidates: tuple = ()
        self.lock = threading.Lock()

    @property
    def n_slabs(self) -> int:
        return len(self.starts) - 1

    def extend(self, n_slabs: int, states: dict[int, tuple[int, int]]) -> None:
        """Generate the slabs up to ``n_slabs - 1``."""
        first = self.n_slabs
        if n_slabs <= first:
            return
        slabs = range(first, n_slabs)
        means = _slab_means(self.pixel, n_slabs)
        expect = sum(means[first:])
        uniform, normal = _scratch(int(expect + 10.0 * math.sqrt(expect) + 100.0))
        raw = _fast_normals()
        blocks, counts, pos, off = [], [], 0, 0
        for s, rng in zip(slabs, _generators(self.pixel, slabs, states), strict=True):
            n = int(rng.poisson(means[s]))
            counts.append(n)
            if not n:
                continue
            if off + n > normal.shape[1]:    # far beyond the mean: never in practice
                uniform, grown = _scratch(2 * (off + n))
                grown[:, :off] = normal[:, :off]
                normal, pos = grown, 0       # the blocks drawn so far stay valid
            u = uniform[pos:pos + 4 * n].reshape(4, n)
            rng.random(out=u)                # = rng.random((4, n))
            blocks.append(u)
            for k, (loc, scale) in enumerate(_NORMALS):
                if raw:                      # normal() is loc + scale * standard_normal()
                    rng.standard_normal(out=normal[k, off:off + n])
                else:
                    normal[k, off:off + n] = rng.normal(loc, scale, n)
            pos += 4 * n
            off += n
        z = normal[:, :off]
        if raw:
            z *= _NORMAL_SCALE[:, None]
            z += _NORMAL_LOC[:, None]
        if blocks:
            dx, dy, v, kind = (np.concatenate([b[k] for b in blocks]) for k in range(4))
        else:
            dx, dy, v, kind = (np.empty(0) for _ in range(4))
        lo = [BRIGHT_LIMIT + s for s in slabs]
        slope = [_slope(x) for x in lo]
        v *= np.repeat([10.0**x - 1.0 for x in slope], counts)
        v += 1.0
        np.log10(v, out=v)
        v /= np.repeat(slope, counts)
        v += np.repeat(lo, counts)           # lo + log10(1 + u * (10**s - 1)) / s
        c = z[2].copy()                      # disc dwarfs, giants, M dwarfs
        np.copyto(c, z[1], where=kind < 0.85)
        np.copyto(c, z[0], where=kind < 0.55)
        np.clip(c, -0.3, 2.0, out=c)
        cell = (dx * _GRID).astype(np.uint16)
        cell *= _GRID
        cell += (dy * _GRID).astype(np.uint16)
        new = (dx, dy, v, c, cell, np.empty(off), np.empty(off), np.empty((3, off)),
               np.zeros(off, bool), np.zeros(off, bool))
        if first:
            old = (self.dx, self.dy, self.v, self.c, self.cell, self.ra, self.dec, self.xyz,
                   self.has_radec, self.has_xyz)
            new = tuple(np.concatenate(p, axis=-1) for p in zip(old, new, strict=True))
        (self.dx, self.dy, self.v, self.c, self.cell, self.ra, self.dec, self.xyz,
         self.has_radec, self.has_xyz) = new
        self.starts = np.concatenate([self.starts, self.starts[-1] + np.cumsum(counts)])
        self.memo = self.candidates = ()

    def _flags(self, centre: np.ndarray, radius_rad: float, pad: float) -> np.ndarray:
        """Per grid cell: 0 entirely outside the cone, 2 entirely inside, 1 either, with a
        margin of ``pad`` (rad) both ways."""
        if self.centres is None:
            nodes = np.stack(_hp()[0].healpix_nested_to_xyz(self.pixel, _NSIDE_C, *_grid()),
                             axis=-1).reshape(_GRID + 1, _GRID + 1, 3)
            side = max(np.square(nodes[1:] - nodes[:-1]).sum(axis=-1).max(),
                       np.square(nodes[:, 1:] - nodes[:, :-1]).sum(axis=-1).max())
            self.reach = _REACH_SAFETY * 2.0 * math.asin(min(math.sqrt(side) / 2.0, 1.0))
            centres = (nodes[:-1, :-1] + nodes[1:, :-1] + nodes[:-1, 1:] + nodes[1:, 1:]
                       ).reshape(-1, 3)
            centres /= np.sqrt(np.square(centres).sum(axis=1))[:, None]
            self.centres = centres
        far = radius_rad + self.reach + pad             # chord^2 = (2 sin(angle / 2))^2
        near = radius_rad - self.reach - pad
        chord2 = np.square(self.centres - centre).sum(axis=1)
        flags = (chord2 <= (2.0 * math.sin(min(far, math.pi) / 2.0)) ** 2).view(np.uint8)
        if near > 0.0:
            flags[chord2 < (2.0 * math.sin(near / 2.0)) ** 2] = 2
        return flags

    def _radec(self, idx: np.ndarray) -> None:
        todo = idx[~self.has_radec[idx]]
        if len(todo):
            self.ra[todo], self.dec[todo] = _lonlat_deg(self.pixel, self.dx[todo], self.dy[todo])
            self.has_radec[todo] = True

    def _candidates(self, n_slabs: int, centre: np.ndarray, radius_rad: float,
                    ) -> tuple[np.ndarray, ...]:
        """The stars of slabs ``< n_slabs`` that may be in the cone: their indices, ids and
        V, and which of them need the exact test (``k``, in cells across the edge) with
        their unit vectors (``3, k``). Kept, and used again while the cells they come
        from cover the cone and those taken as inside still are."""
        if self.candidates and self.candidates[0] == n_slabs:
            _, cells, inside, found = self.candidates
            flags = self._flags(centre, radius_rad, _REACH_PAD)
            if not ((flags != 0) & ~cells).any() and not (inside & (flags != 2)).any():
                return found
        flags = self._flags(centre, radius_rad, _SLACK)
        m = int(self.starts[n_slabs])
        if flags.min() == 2:                 # the whole pixel is inside
            idx, k = np.arange(m), np.empty(0, np.intp)
        else:
            near = flags[self.cell[:m]]
            idx = np.flatnonzero(near != 0)
            k = np.flatnonzero(near[idx] == 1)
        e = idx[k]
        todo = e[~self.has_xyz[e]]
        if len(todo):
            self.xyz[:, todo] = _hp()[0].healpix_nested_to_xyz(self.pixel, _NSIDE_C,
                                                               self.dx[todo], self.dy[todo])
            self.has_xyz[todo] = True
        slab = np.searchsorted(self.starts, idx, side="right") - 1
        ids = (np.int64(self.pixel) << 32) | (slab << 24) | (idx - self.starts[slab])
        found = (idx, ids, self.v[idx], k, self.xyz[:, e])
        self.candidates = (n_slabs, flags != 0, flags == 2, found)
        return found

    def select(self, n_slabs: int, centre: np.ndarray, radius_deg: float, mag_limit: float,
               ) -> tuple[np.ndarray, ...]:
        """ids, RA, Dec, V, B-V of the stars of slabs ``< n_slabs`` in the cone with
        V <= ``mag_limit``, by id."""
        key = (n_slabs, *centre.tolist(), radius_deg, mag_limit)
        if self.memo and self.memo[0] == key:
            return self.memo[1]
        idx, ids, v, k, (x, y, z) = self._candidates(n_slabs, centre,
                                                     math.radians(radius_deg))
        keep = v <= mag_limit
        if len(k):                           # near the cone's edge: HEALPix's unit vector
            cos_r = math.cos(math.radians(radius_deg))
            dot = x * centre[0] + y * centre[1] + z * centre[2]
            inside = dot >= cos_r + _DOT_PAD
            close = np.flatnonzero(np.abs(dot - cos_r) < _DOT_PAD)
            if len(close):                   # as the original: unit vector of RA, Dec
                e = idx[k[close]]
                self._radec(e)
                inside[close] = _unit(self.ra[e], self.dec[e]) @ centre >= cos_r
            keep[k] &= inside
        if not keep.all():
            idx, ids, v = idx[keep], ids[keep], v[keep]
        self._radec(idx)
        out = (ids, self.ra[idx], self.dec[idx], v, self.c[idx])
        for a in out:
            a.flags.writeable = False
        self.memo = (key, out)
        return out


CACHE_PIXELS = 32
"""How many HEALPix pixels' stars are kept in memory (36 bytes a star, up to ~130 as
positions, unit vectors and the last query's selection fill in: a pixel toward the
galactic centre, generated to V = 23, takes 10-36 MB; one at high latitude 0.8-2.9 MB)."""
_cache: OrderedDict[int, _Pixel] = OrderedDict()
_cache_lock = threading.Lock()


def _pixels(ra_deg: float, dec_deg: float, radius_deg: float) -> np.ndarray:
    return np.sort(_hp()[0].healpix_cone_search(ra_deg, dec_deg, radius_deg, NSIDE, "nested"))


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
    centre = _unit(ra_deg, dec_deg)
    pixels = [int(p) for p in _pixels(ra_deg, dec_deg, radius_deg)] if n_slabs else []
    with _cache_lock:                        # seed every missing slab at once
        depth = {p: e.n_slabs for p in pixels if (e := _cache.get(p)) is not None}
    keys = [(p, s) for p in pixels for s in range(depth.get(p, 0), n_slabs)]
    states: dict[int, dict[int, tuple[int, int]]] = {p: {} for p in pixels}
    if keys and _fast_seeding():
        for (p, s), st in zip(keys, _pcg_states(*zip(*keys, strict=True)), strict=True):
            states[p][s] = st
    parts = []
    for p in pixels:
        with _cache_lock:
            entry = _cache.get(p)
            if entry is None:
                entry = _cache[p] = _Pixel(p)
                while len(_cache) > CACHE_PIXELS:
                    _cache.popitem(last=False)
            else:
                _cache.move_to_end(p)
        with entry.lock:
            entry.extend(n_slabs, states[p])
            parts.append(entry.select(n_slabs, centre, radius_deg, mag_limit))
    if not parts:
        parts.append((np.empty(0, np.int64), *(np.empty(0) for _ in range(4))))
    ids, ra, dec, v, c = (np.concatenate([p[k] for p in parts]) for k in range(5))
    return StarTable(ids, ra, dec, band_magnitudes(v, c))   # pixels ascending: ids sorted


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
