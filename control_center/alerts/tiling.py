"""Tiling a localisation into telescope fields, ranked by the probability they contain.

The sky is cut into a fixed grid of cells no larger than a field of view:
rings of declination of equal height, each cut into equal steps of right
ascension (fewer towards the poles). The cells partition the sphere, so the
same localisation always gives the same tiles, and a revised skymap reuses the
tiles already observed. A cell's probability is the map's probability inside
it; the cells touching the 90 % credible region are ranked by it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from control_center.alerts.skymap import Localisation

__all__ = ["MAX_TILES", "Tile", "Tiling", "tile_localisation"]

MAX_TILES = 50
"""Default bound on the tiles recorded for one alert."""

_PROBABILITY_LEVEL = 0.99
"""Probability is summed over this credible region (tiles are chosen from the 90 % one)."""
_LOOK_DEEPER = 10
"""With a usability test, look this many times ``max_tiles`` deep for usable tiles."""


@dataclass(frozen=True)
class Tile:
    """One field: its centre (ICRS, deg) and the probability it contains."""

    ra_deg: float
    dec_deg: float
    probability: float


@dataclass(frozen=True)
class Tiling:
    """Tiles of one localisation, most probable first.

    Attributes
    ----------
    tiles : tuple of Tile
        At most ``max_tiles``, ranked by probability.
    side_deg : float
        Side of the square cells (the smallest field of view of the network).
    area90_deg2 : float
        Area of the 90 % credible region.
    cells90 : int
        Cells needed to cover the whole 90 % credible region.
    """

    tiles: tuple[Tile, ...]
    side_deg: float
    area90_deg2: float
    cells90: int

    @property
    def probability(self) -> float:
        """Probability contained in the recorded tiles."""
        return float(sum(t.probability for t in self.tiles))


@dataclass(frozen=True)
class _Grid:
    height_deg: float
    n_ra: np.ndarray
    offsets: np.ndarray


@lru_cache(maxsize=8)
def _grid(side_deg: float) -> _Grid:
    n_rings = max(1, math.ceil(180.0 / side_deg))
    height = 180.0 / n_rings
    lo = -90.0 + height * np.arange(n_rings)
    hi = lo + height
    nearest = np.where((lo < 0) & (hi > 0), 0.0, np.minimum(np.abs(lo), np.abs(hi)))
    n_ra = np.maximum(1, np.ceil(360.0 * np.cos(np.radians(nearest)) / side_deg - 1e-9))
    n_ra = n_ra.astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(n_ra)[:-1]])
    return _Grid(height, n_ra, offsets)


def _cells(grid: _Grid, ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    ring = np.clip(((dec_deg + 90.0) // grid.height_deg).astype(np.int64), 0,
                   grid.n_ra.size - 1)
    n = grid.n_ra[ring]
    step = (ra_deg % 360.0) * n / 360.0
    return grid.offsets[ring] + np.minimum(step.astype(np.int64), n - 1)


def _centres(grid: _Grid, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ring = np.searchsorted(grid.offsets, cells, side="right") - 1
    index = cells - grid.offsets[ring]
    ra = (index + 0.5) * 360.0 / grid.n_ra[ring]
    dec = -90.0 + (ring + 0.5) * grid.height_deg
    return ra, dec


def tile_localisation(
    localisation: Localisation, side_deg: float, *, max_tiles: int = MAX_TILES,
    level: float = 0.9,
    usable: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> Tiling:
    """Cover the ``level`` credible region with fields and rank them by probability.

    Parameters
    ----------
    localisation : Localisation
    side_deg : float
        Side of a field (deg); cells are at most this large.
    max_tiles : int
        How many tiles to keep.
    level : float
        Credible level of the region to cover (0.9: the 90 % region).
    usable : callable, optional
        ``usable(ra_deg, dec_deg) -> bool array``: when given, the tiles kept are
        the most probable usable ones among the ``10 * max_tiles`` most probable
        (e.g. those observable from the network); when none is usable, the most
        probable ones.

    Returns
    -------
    Tiling
    """
    if not side_deg > 0:
        raise ValueError(f"field side must be positive, got {side_deg}")
    if max_tiles < 1:
        raise ValueError(f"max_tiles must be at least 1, got {max_tiles}")
    grid = _grid(float(side_deg))
    spacing = side_deg / 2.0
    region = localisation.credible(level)
    wide = localisation.credible(max(level, _PROBABILITY_LEVEL))
    ra, dec, prob, pixel = localisation.points(wide, spacing)
    cells = _cells(grid, ra, dec)
    unique, inverse = np.unique(cells, return_inverse=True)
    cell_prob = np.bincount(inverse, weights=prob, minlength=unique.size)
    in_region = np.bincount(inverse, weights=region[pixel], minlength=unique.size) > 0
    unique, cell_prob = unique[in_region], cell_prob[in_region]
    rank = np.lexsort((unique, -cell_prob))
    unique, cell_prob = unique[rank], cell_prob[rank]
    centre_ra, centre_dec = _centres(grid, unique)
    chosen = np.arange(unique.size)
    if usable is not None and unique.size:
        deep = chosen[: _LOOK_DEEPER * max_tiles]
        ok = np.asarray(usable(centre_ra[deep], centre_dec[deep]), dtype=bool)
        if ok.any():
            chosen = deep[ok]
    chosen = chosen[:max_tiles]
    tiles = tuple(Tile(round(float(centre_ra[i]), 5), round(float(centre_dec[i]), 5),
                       float(cell_prob[i])) for i in chosen)
    return Tiling(tiles, float(side_deg), localisation.area_deg2(level), int(unique.size))
