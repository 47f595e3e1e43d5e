"""The limits the constraints enforce (defaults are typical for small robotic telescopes)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CONSTRAINTS", "Limits"]

CONSTRAINTS = ("coordinates", "instrument", "not-before", "not-after", "twilight",
               "cloud-cover", "humidity", "wind", "weather", "seeing", "altitude", "airmass",
               "moon", "setting", "night-end", "exclusive")
"""Every constraint, in the order a candidate's first broken one is attributed."""


@dataclass(frozen=True)
class Limits:
    """Hard limits; a candidate breaking any one is rejected.

    Raises
    ------
    ValueError
        If a per-kind entry names an unknown constraint or a limit is not positive.
    """

    twilight_sun_alt_deg: float = -12.0
    """Science needs the Sun below this (nautical twilight)."""
    max_airmass: float = 2.5
    """Kasten & Young airmass (``control_center.astro.airmass``)."""
    max_seeing_arcsec: float = 3.5
    seeing_by_kind: tuple[tuple[str, float], ...] = (("opportunistic", 5.0),)
    """Seeing limits that replace ``max_seeing_arcsec`` for some candidate kinds."""
    max_cloud_cover: float = 0.7
    max_humidity: float = 0.85
    max_wind_m_s: float = 15.0
    moon_min_separation_deg: float = 10.0
    moon_separation_per_illumination_deg: float = 30.0
    """Required Moon distance grows with illumination: min + this x illumination."""
    exempt_by_kind: tuple[tuple[str, tuple[str, ...]], ...] = (
        ("calibration", ("twilight", "moon", "seeing", "night-end")),)
    """Constraints that do not apply to some candidate kinds (calibrations run in
    twilight, whatever the Moon and the seeing)."""

    def __post_init__(self) -> None:
        for kind, names in self.exempt_by_kind:
            unknown = sorted(set(names) - set(CONSTRAINTS))
            if unknown:
                raise ValueError(f"exempt_by_kind[{kind!r}] names unknown constraint(s) "
                                 f"{', '.join(unknown)}; known: {', '.join(CONSTRAINTS)}")
        for name in ("max_airmass", "max_seeing_arcsec", "max_wind_m_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        for kind, seeing in self.seeing_by_kind:
            if not seeing > 0:
                raise ValueError(f"seeing_by_kind[{kind!r}] must be positive, got {seeing}")

    def max_seeing(self, kind: str) -> float:
        """Seeing limit (arcsec) of a candidate kind."""
        return dict(self.seeing_by_kind).get(kind, self.max_seeing_arcsec)

    def exempt(self, kind: str) -> frozenset[str]:
        """Constraints a candidate kind is exempt from."""
        return frozenset(dict(self.exempt_by_kind).get(kind, ()))

    def moon_separation(self, illumination):
        """Smallest Moon distance (deg) for an illuminated fraction (scalar or array)."""
        value = (self.moon_min_separation_deg + self.moon_separation_per_illumination_deg
                 * np.clip(illumination, 0.0, 1.0))
        return float(value) if np.ndim(value) == 0 else value
