"""An OpenAstro constraint: no survey or science exposure close to the galactic plane.

Crowded, dust-reddened fields near the plane spoil wide-field photometry and
difference imaging, so survey and science candidates whose galactic latitude
``|b|`` is below a limit are rejected. Follow-ups, calibrations and
opportunistic work are left alone.

The limit is ``min_abs_b_deg`` (default 10 degrees); when the plugin is created
by OpenAstro from its entry point it reads ``OPENASTRO_GALACTIC_PLANE_MIN_B_DEG``
from the environment if set.

Examples
--------
>>> from control_center.plugin_api import Candidate
>>> plane = GalacticPlane(min_abs_b_deg=10)
>>> m31 = Candidate("r1", "M31", 10.68, 41.27, "r", 60.0, "survey", "survey", 1.0)
>>> cyg = Candidate("r2", "Cyg X", 308.0, 41.0, "r", 60.0, "survey", "survey", 1.0)
>>> [(r.candidate, r.constraint, r.value, r.limit)
...  for r in plane.openastro_filter(None, [m31, cyg])]
[('r2/r', 'galactic-plane', 0.79, 10.0)]
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

import numpy as np

from control_center.plugin_api import Candidate, DecisionContext, Rejection, hookimpl

__all__ = ["ENV_LIMIT", "NAME", "GalacticPlane", "galactic_latitude_deg"]

NAME = "galactic-plane"
"""Constraint name recorded in each :class:`Rejection`."""

ENV_LIMIT = "OPENASTRO_GALACTIC_PLANE_MIN_B_DEG"
"""Environment variable overriding the default limit (degrees)."""

DEFAULT_MIN_ABS_B_DEG = 10.0
DEFAULT_KINDS = ("survey", "science")
_CACHE_SIZE = 100_000


def galactic_latitude_deg(ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    """Galactic latitude in degrees of ICRS positions, vectorised.

    Parameters
    ----------
    ra_deg, dec_deg : numpy.ndarray
        ICRS right ascension and declination in degrees.

    Returns
    -------
    numpy.ndarray
        Galactic latitude ``b`` in degrees, same shape.
    """
    import astropy.units as u  # imported when first needed, not at import time
    from astropy.coordinates import SkyCoord

    coords = SkyCoord(ra=np.asarray(ra_deg) * u.deg, dec=np.asarray(dec_deg) * u.deg,
                      frame="icrs")
    return np.asarray(coords.galactic.b.deg)


class GalacticPlane:
    """Reject survey and science candidates with ``|b| < min_abs_b_deg``.

    Parameters
    ----------
    min_abs_b_deg : float, optional
        Smallest acceptable absolute galactic latitude, degrees, in [0, 90].
        Default: ``$OPENASTRO_GALACTIC_PLANE_MIN_B_DEG`` or 10.
    kinds : iterable of str
        Candidate kinds the limit applies to.
    """

    def __init__(self, min_abs_b_deg: float | None = None,
                 kinds: Iterable[str] = DEFAULT_KINDS) -> None:
        if min_abs_b_deg is None:
            min_abs_b_deg = float(os.environ.get(ENV_LIMIT, DEFAULT_MIN_ABS_B_DEG))
        if not 0.0 <= min_abs_b_deg <= 90.0:
            raise ValueError(f"min_abs_b_deg must be in [0, 90], got {min_abs_b_deg}")
        self.min_abs_b_deg = float(min_abs_b_deg)
        self.kinds = frozenset(kinds)
        self._b_cache: dict[tuple[float, float], float] = {}

    @hookimpl
    def openastro_filter(self, context: DecisionContext,
                         candidates: Sequence[Candidate]) -> list[Rejection]:
        """One :class:`Rejection` per survey/science candidate too close to the plane.

        The rejection records ``|b|`` (degrees, rounded to 0.01) as its value
        and ``min_abs_b_deg`` as its limit.
        """
        subject = [c for c in candidates if c.kind in self.kinds]
        if not subject:
            return []
        abs_b = np.abs(self._latitudes(subject))
        return [Rejection(c.key, NAME, round(float(b), 2), self.min_abs_b_deg)
                for c, b in zip(subject, abs_b, strict=True) if b < self.min_abs_b_deg]

    def _latitudes(self, candidates: Sequence[Candidate]) -> np.ndarray:
        """Galactic latitudes, computed once per position (queues repeat targets)."""
        cache = self._b_cache
        positions = [(c.ra_deg, c.dec_deg) for c in candidates]
        if len(cache) > _CACHE_SIZE:
            cache.clear()
        missing = list(dict.fromkeys(p for p in positions if p not in cache))
        if missing:
            ra, dec = np.array(missing, dtype=float).T
            cache.update(zip(missing, galactic_latitude_deg(ra, dec).tolist(), strict=True))
        return np.fromiter((cache[p] for p in positions), float, len(positions))
