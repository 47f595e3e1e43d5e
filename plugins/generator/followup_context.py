"""Context of a detection: the catalogued galaxy it most likely belongs to.

Candidates are the OpenNGC galaxies (through :func:`simulator.galaxies_in_field`,
with their isophotal sizes) and the run's generated transient hosts
(:func:`simulator.catalogue.transient_hosts`, taken as 1 arcmin across). The
host is the one at the smallest separation in units of its semi-major axis,
provided the detection lies within ``reach`` semi-major axes of its centre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Host", "HostFinder"]

_GENERATED_HOST_ARCMIN = 1.0
"""Assumed diameter of a generated transient host (distant, 14-18 mag)."""


@dataclass(frozen=True)
class Host:
    """A catalogued galaxy near a detection."""

    name: str
    ra_deg: float
    dec_deg: float
    v_mag: float
    major_arcmin: float
    separation_arcmin: float


class HostFinder:
    """Finds the host galaxy of a position.

    Parameters
    ----------
    seed : int
        Seed of the generated transient hosts (the run's seed).
    n_generated : int
        How many generated hosts exist (the demo programme draws from 100).
    search_arcmin : float
        Largest separation looked at.
    reach : float
        A galaxy hosts positions within this many semi-major axes of its centre.
    """

    def __init__(self, seed: int = 0, *, n_generated: int = 100, search_arcmin: float = 10.0,
                 reach: float = 1.5) -> None:
        self.seed, self.n_generated = seed, n_generated
        self.search_arcmin, self.reach = search_arcmin, reach
        self._generated: tuple[np.ndarray, ...] | None = None

    def _generated_hosts(self) -> tuple[np.ndarray, ...]:
        if self._generated is None:
            from simulator.catalogue import transient_hosts

            hosts = transient_hosts(self.seed, self.n_generated)
            self._generated = (np.array([h.name for h in hosts]),
                               np.array([h.ra_deg for h in hosts]),
                               np.array([h.dec_deg for h in hosts]),
                               np.array([h.v_mag for h in hosts]))
        return self._generated

    def warm(self) -> None:
        """Load the catalogues now (a first look-up otherwise pays for it)."""
        self._generated_hosts()
        self.host(0.0, 0.0)

    def host(self, ra_deg: float, dec_deg: float) -> Host | None:
        """The most likely host of a source at (RA, Dec), or None if no galaxy is near."""
        from simulator import galaxies_in_field

        radius = self.search_arcmin / 60.0
        ngc = galaxies_in_field(ra_deg, dec_deg, radius)
        names, ra, dec, v = self._generated_hosts()
        all_names = list(ngc.names) + list(names)
        all_ra = np.concatenate([ngc.ra_deg, ra])
        all_dec = np.concatenate([ngc.dec_deg, dec])
        all_v = np.concatenate([ngc.mag_in("V"), v])
        major = np.concatenate([ngc.major_arcmin, np.full(len(names), _GENERATED_HOST_ARCMIN)])
        sep = _separation_arcmin(all_ra, all_dec, ra_deg, dec_deg)
        scaled = sep / np.maximum(major / 2.0, 0.05)
        ok = (sep <= self.search_arcmin) & (scaled <= self.reach)
        if not ok.any():
            return None
        i = int(np.flatnonzero(ok)[np.argmin(scaled[ok])])
        return Host(str(all_names[i]), float(all_ra[i]), float(all_dec[i]), float(all_v[i]),
                    float(major[i]), float(sep[i]))


def _separation_arcmin(ra, dec, ra0: float, dec0: float) -> np.ndarray:
    d_ra, d_dec = np.radians(np.asarray(ra) - ra0), np.radians(np.asarray(dec) - dec0)
    a = (np.sin(d_dec / 2.0) ** 2
         + np.cos(np.radians(dec)) * math.cos(math.radians(dec0)) * np.sin(d_ra / 2.0) ** 2)
    return 60.0 * np.degrees(2.0 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))
