"""The limits the constraints enforce (defaults are typical for small robotic telescopes)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Limits:
    """Hard limits; a candidate breaking any one is rejected."""

    twilight_sun_alt_deg: float = -12.0
    """Science needs the Sun below this (nautical twilight)."""
    max_airmass: float = 2.5
    max_seeing_arcsec: float = 3.5
    moon_min_separation_deg: float = 10.0
    moon_separation_per_illumination_deg: float = 30.0
    """Required Moon distance grows with illumination: min + this x illumination."""
    calibration_kinds: tuple[str, ...] = ("calibration",)

    def moon_separation(self, illumination: float) -> float:
        return self.moon_min_separation_deg + self.moon_separation_per_illumination_deg * float(
            np.clip(illumination, 0.0, 1.0))
