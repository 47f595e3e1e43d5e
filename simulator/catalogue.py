"""The simulated sky's targets: real deep-sky objects and generated fields.

* :func:`ngc_objects` reads the OpenNGC catalogue shipped (as SQLite) inside the
  ``pyongc`` package: galaxies, globular and open clusters, planetary nebulae.
  One read-only SQL query, cached for the life of the process.
* :func:`standard_fields` gives Landolt's equatorial photometric standard areas.
* :func:`survey_fields` tiles the sky on a HEALPix grid (``astropy-healpix``).
* :func:`variable_stars` and :func:`transient_hosts` generate seeded random targets.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from simulator._seeding import stream

__all__ = [
    "KINDS",
    "Target",
    "ngc_objects",
    "standard_fields",
    "survey_fields",
    "transient_hosts",
    "variable_stars",
]

KINDS = ("galaxy", "globular-cluster", "open-cluster", "planetary-nebula", "standard-field",
         "survey-field", "variable-star", "transient-host")
"""The values of :attr:`Target.kind`."""

_ONGC_KINDS = {"G": "galaxy", "GCl": "globular-cluster", "OCl": "open-cluster",
               "PN": "planetary-nebula"}
_B_MINUS_V = {"galaxy": 0.8, "globular-cluster": 0.7, "open-cluster": 0.4,
              "planetary-nebula": 0.0}
"""Typical colours, to estimate V where OpenNGC only lists B."""


@dataclass(frozen=True)
class Target:
    """Something to point at.

    Attributes
    ----------
    name : str
        Catalogue name, e.g. ``"NGC0224"`` or ``"hp4-00123"``.
    ra_deg, dec_deg : float
        ICRS (J2000) coordinates.
    kind : str
        One of :data:`KINDS`.
    v_mag : float
        Integrated V magnitude; for survey fields, the survey's depth.
    """

    name: str
    ra_deg: float
    dec_deg: float
    kind: str
    v_mag: float


def ngc_objects(max_v_mag: float = 12.0, kinds: tuple[str, ...] | None = None,
                ) -> tuple[Target, ...]:
    """NGC and IC objects from OpenNGC brighter than ``max_v_mag``, sorted by name.

    Parameters
    ----------
    max_v_mag : float
        Faintest V magnitude kept (V estimated from B where V is missing).
    kinds : tuple of str, optional
        Subset of ``("galaxy", "globular-cluster", "open-cluster",
        "planetary-nebula")``; all four when omitted.

    Examples
    --------
    >>> m31 = next(t for t in ngc_objects(5.0) if t.name == "NGC0224")
    >>> round(m31.ra_deg, 2), round(m31.dec_deg, 2)
    (10.68, 41.27)
    """
    wanted = set(_ONGC_KINDS.values()) if kinds is None else set(kinds)
    unknown = wanted - set(_ONGC_KINDS.values())
    if unknown:
        raise ValueError(f"unknown kind(s) {sorted(unknown)}; "
                         f"choose from {sorted(_ONGC_KINDS.values())}")
    return tuple(t for t in _all_ngc() if t.v_mag <= max_v_mag and t.kind in wanted)


@lru_cache(maxsize=1)
def _all_ngc() -> tuple[Target, ...]:
    """Every NGC/IC object of the four kinds with a magnitude (one SQL query)."""
    from pyongc import DBPATH

    query = ("SELECT name, type, ra, dec, vmag, bmag FROM objects "
             "WHERE type IN ('G', 'GCl', 'OCl', 'PN') AND ra IS NOT NULL "
             "AND (name LIKE 'NGC%' OR name LIKE 'IC%') "
             "AND (vmag IS NOT NULL OR bmag IS NOT NULL) ORDER BY name")
    with sqlite3.connect(f"file:{DBPATH}?mode=ro", uri=True) as db:
        rows = db.execute(query).fetchall()
    out = []
    for name, typ, ra, dec, vmag, bmag in rows:
        kind = _ONGC_KINDS[typ]
        v = vmag if vmag is not None else bmag - _B_MINUS_V[kind]
        out.append(Target(name, float(np.degrees(ra)) % 360.0, float(np.degrees(dec)), kind,
                          round(float(v), 2)))
    return tuple(out)


_LANDOLT_AREAS = (
    ("SA92", 13.70, 0.90), ("SA95", 58.40, 0.05), ("SA98", 103.00, -0.35),
    ("SA101", 149.25, -0.40), ("SA104", 190.50, -0.55), ("SA107", 234.75, -0.25),
    ("SA110", 280.50, 0.45), ("SA113", 325.25, 0.55),
)
"""Centres (approximate, ~0.2 deg) of Landolt's (1992) equatorial Selected Areas."""


def standard_fields() -> tuple[Target, ...]:
    """Landolt's equatorial photometric standard fields (V ~ 12 stars)."""
    return tuple(Target(n, ra, dec, "standard-field", 12.0) for n, ra, dec in _LANDOLT_AREAS)


@lru_cache(maxsize=8)
def survey_fields(nside: int, depth_v_mag: float = 20.0) -> tuple[Target, ...]:
    """Field centres of a HEALPix tiling (nested ordering): ``12 * nside**2`` fields.

    Parameters
    ----------
    nside : int
        HEALPix resolution, a power of two (4 gives 192 fields of ~15 deg).
    depth_v_mag : float
        Limiting magnitude the survey aims for, stored as :attr:`Target.v_mag`.

    Examples
    --------
    >>> len(survey_fields(2))
    48
    """
    from astropy.coordinates import ICRS
    from astropy_healpix import HEALPix

    hp = HEALPix(nside=nside, order="nested", frame=ICRS())
    centres = hp.healpix_to_skycoord(np.arange(hp.npix))
    width = len(str(hp.npix - 1))
    return tuple(
        Target(f"hp{nside}-{i:0{width}d}", float(ra), float(dec), "survey-field", depth_v_mag)
        for i, (ra, dec) in enumerate(zip(centres.ra.deg, centres.dec.deg, strict=True)))


def _generated(seed: int, purpose: str, n: int, mag_range: tuple[float, float], prefix: str,
               kind: str) -> tuple[Target, ...]:
    # One row of three uniforms per target: the first k targets do not depend on n.
    u = stream(seed, "catalogue", purpose).random((n, 3))
    ra = 360.0 * u[:, 0]
    dec = np.degrees(np.arcsin(2.0 * u[:, 1] - 1.0))
    mags = mag_range[0] + (mag_range[1] - mag_range[0]) * u[:, 2]
    return tuple(Target(f"{prefix}-{i + 1:04d}", float(ra[i]), float(dec[i]), kind,
                        round(float(mags[i]), 2)) for i in range(n))


def variable_stars(seed: int, n: int = 40, *, mag_range: tuple[float, float] = (10.0, 16.0),
                   ) -> tuple[Target, ...]:
    """``n`` generated variable stars, uniform on the sky, named ``VAR-0001``...

    Deterministic from ``seed``; the first ``k`` stars do not depend on ``n``.
    """
    return _generated(seed, "variable-stars", n, mag_range, "VAR", "variable-star")


def transient_hosts(seed: int, n: int = 10, *, mag_range: tuple[float, float] = (14.0, 18.0),
                    ) -> tuple[Target, ...]:
    """``n`` generated transient host galaxies, uniform on the sky, named ``SIM-0001``...

    Deterministic from ``seed``; the first ``k`` hosts do not depend on ``n``.
    """
    return _generated(seed, "transient-hosts", n, mag_range, "SIM", "transient-host")
