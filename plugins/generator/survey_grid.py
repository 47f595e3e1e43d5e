"""The survey's HEALPix grid: field size from the telescope, and coarse cells to search fast.

Fields are HEALPix pixels in the *nested* scheme (``astropy-healpix``). A
telescope surveys on the grid whose pixel is the largest one that still fits
in its field of view (:func:`nside_for_field`), so each field is one pointing.
Fine grids are large (nside 256 has 786,432 fields), so the search runs on a
coarse grid first (:data:`COARSE_NSIDE`, 3,072 cells of 3.7 deg): in the nested
scheme the fields inside coarse cell ``c`` are exactly the indices
``c * k ... (c + 1) * k - 1`` with ``k = (nside / coarse) ** 2``.

Examples
--------
>>> nside_for_field(26.0 / 60.0)      # a 26' field: 13.7' pixels (nside 256)
256
>>> nside_for_field(29.0 / 60.0)      # a 29' field: 27.5' pixels (nside 128)
128
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = [
    "COARSE_NSIDE",
    "MAX_NSIDE",
    "SurveyGrid",
    "ecliptic_latitude_deg",
    "galactic_latitude_deg",
    "nside_for_field",
    "pixel_size_deg",
]

COARSE_NSIDE = 16
"""Resolution of the cells searched first (3.66 deg pixels)."""
MAX_NSIDE = 2**20
"""Finest grid offered (0.2 arcsec pixels)."""

_ICRS_TO_GALACTIC = np.array([
    [-0.0548755604162154, -0.8734370902348850, -0.4838350155487132],
    [+0.4941094278755837, -0.4448296299600112, +0.7469822444972189],
    [-0.8676661490190047, -0.1980763734312015, +0.4559837761750669],
])
"""Rotation from ICRS to galactic coordinates (Hipparcos, ESA 1997 vol. 1 sec. 1.5.3)."""
_OBLIQUITY_RAD = math.radians(23.4392911)
"""Mean obliquity of the ecliptic at J2000."""


def pixel_size_deg(nside: int) -> float:
    """Side (deg) of the square with a HEALPix pixel's area at ``nside``."""
    return math.degrees(math.sqrt(4.0 * math.pi / (12 * nside * nside)))


def nside_for_field(fov_deg: float) -> int:
    """The HEALPix nside whose pixel is closest to, but not larger than, the field.

    Parameters
    ----------
    fov_deg : float
        Side of the (square) field of view in degrees.

    Raises
    ------
    ValueError
        If ``fov_deg`` is not a positive finite number or smaller than the
        pixel of :data:`MAX_NSIDE`.
    """
    if not (isinstance(fov_deg, int | float) and math.isfinite(fov_deg) and fov_deg > 0):
        raise ValueError(f"field of view must be a positive number of degrees, got {fov_deg!r}")
    nside = 1
    while pixel_size_deg(nside) > fov_deg:
        nside *= 2
        if nside > MAX_NSIDE:
            raise ValueError(f"field of view {fov_deg * 3600:.3g} arcsec is smaller than the "
                             f"finest survey pixel ({pixel_size_deg(MAX_NSIDE) * 3600:.3g} "
                             "arcsec)")
    return nside


def _unit_vectors(ra_deg, dec_deg) -> np.ndarray:
    ra, dec = np.radians(np.asarray(ra_deg, float)), np.radians(np.asarray(dec_deg, float))
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])


def galactic_latitude_deg(ra_deg, dec_deg) -> np.ndarray:
    """Galactic latitude b (deg) of ICRS positions; broadcasts."""
    v = _unit_vectors(ra_deg, dec_deg)
    z = np.tensordot(_ICRS_TO_GALACTIC[2], v, axes=1)
    return np.degrees(np.arcsin(np.clip(z, -1.0, 1.0)))


def ecliptic_latitude_deg(ra_deg, dec_deg) -> np.ndarray:
    """Ecliptic latitude beta (deg, mean ecliptic of J2000) of ICRS positions; broadcasts."""
    ra, dec = np.radians(np.asarray(ra_deg, float)), np.radians(np.asarray(dec_deg, float))
    s = (np.sin(dec) * math.cos(_OBLIQUITY_RAD)
         - np.cos(dec) * math.sin(_OBLIQUITY_RAD) * np.sin(ra))
    return np.degrees(np.arcsin(np.clip(s, -1.0, 1.0)))


def centres(nside: int, pixels) -> tuple[np.ndarray, np.ndarray]:
    """RA and Dec (deg) of the centres of nested ``pixels`` at ``nside``."""
    from astropy_healpix.core import healpix_to_lonlat

    lon, lat = healpix_to_lonlat(np.asarray(pixels, dtype=np.int64), nside, order="nested")
    return np.asarray(lon.to_value("deg")) % 360.0, np.asarray(lat.to_value("deg"))


@dataclass(frozen=True)
class SurveyGrid:
    """A survey grid and its coarse cells.

    Attributes
    ----------
    nside : int
        Resolution of the fields.
    coarse_nside : int
        Resolution of the cells searched first (at most ``nside``).
    children : int
        Fields per cell, ``(nside // coarse_nside) ** 2``.
    cell_ra_deg, cell_dec_deg, cell_b_deg, cell_beta_deg : ndarray
        Centre of each cell, and its galactic and ecliptic latitudes.
    cell_radius_deg : float
        Distance from a cell's centre that covers all its fields' centres.
    """

    nside: int
    coarse_nside: int
    children: int
    cell_ra_deg: np.ndarray
    cell_dec_deg: np.ndarray
    cell_b_deg: np.ndarray
    cell_beta_deg: np.ndarray
    cell_radius_deg: float

    @property
    def n_fields(self) -> int:
        return 12 * self.nside * self.nside

    @property
    def n_cells(self) -> int:
        return 12 * self.coarse_nside * self.coarse_nside

    def cell_of(self, pixel: int) -> int:
        """The coarse cell that holds field ``pixel``."""
        return pixel // self.children

    def fields_of(self, cell: int) -> slice:
        """The field indices of coarse cell ``cell``."""
        return slice(cell * self.children, (cell + 1) * self.children)

    def field_centres(self, pixels) -> tuple[np.ndarray, np.ndarray]:
        """RA and Dec (deg) of fields."""
        return centres(self.nside, pixels)


@lru_cache(maxsize=16)
def survey_grid(nside: int) -> SurveyGrid:
    """The (cached) :class:`SurveyGrid` of fields at ``nside``."""
    if nside < 1 or nside & (nside - 1) or nside > MAX_NSIDE:
        raise ValueError(f"nside must be a power of two up to {MAX_NSIDE}, got {nside}")
    coarse = min(COARSE_NSIDE, nside)
    ra, dec = centres(coarse, np.arange(12 * coarse * coarse))
    for arr in (ra, dec):
        arr.flags.writeable = False
    b, beta = galactic_latitude_deg(ra, dec), ecliptic_latitude_deg(ra, dec)
    b.flags.writeable = beta.flags.writeable = False
    # A field centre lies at most 0.97 x the nominal pixel size from its cell's centre
    # (measured over all nside-256 fields in nside-16 cells; cells are elongated in places).
    radius = 0.0 if coarse == nside else pixel_size_deg(coarse)
    return SurveyGrid(nside, coarse, (nside // coarse) ** 2, ra, dec, b, beta, radius)
