"""Priority regions of the survey: where on the sky fields are worth most, and how deep.

A region is a band of galactic latitude ``|b|`` and ecliptic latitude
``|beta|`` with a *weight* (0-1, its scientific priority) and the *depth* (V
limiting magnitude at SNR 5) its science needs. A field's value is the best,
over the regions that contain it, of ``weight x yield(depth)`` (see
:mod:`plugins.generator.survey_yield`), so a field is judged by the best use it
can be put to under the present conditions.

Default regions
---------------
==================  ============  ============  ======  =====  =================================
region              ``|b|`` deg   ``|beta|``    weight  depth  why
==================  ============  ============  ======  =====  =================================
``extragalactic``   30-90         any           1.0     21.5   faint galaxies, few stars, low dust
``solar-system``    10-90         0-10          0.7     20.0   moving objects along the ecliptic
``intermediate-b``  10-30         any           0.5     21.0   halo and thick-disc fields
``galactic-plane``  0-10          any           0.15    20.5   crowded and extincted: de-weighted
==================  ============  ============  ======  =====  =================================

The ``|b|`` ranges cover the whole sky, so every field belongs to at least one
region. Under poor seeing or a bright sky the reachable depth drops and the
faint-requiring extragalactic fields lose to the shallower solar-system sweep.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["DEFAULT_REGIONS", "SurveyRegion", "check_regions", "membership"]


@dataclass(frozen=True)
class SurveyRegion:
    """A priority region of the survey.

    Parameters
    ----------
    name : str
    weight : float
        Scientific priority of its fields, 0-1.
    depth_mag : float
        Limiting magnitude (SNR 5) its science needs.
    abs_b_deg : tuple of float
        Range of ``|galactic latitude|`` (deg), inclusive low, exclusive high
        (90 is inclusive).
    abs_beta_deg : tuple of float
        Range of ``|ecliptic latitude|`` (deg), same convention.
    """

    name: str
    weight: float
    depth_mag: float
    abs_b_deg: tuple[float, float] = (0.0, 90.0)
    abs_beta_deg: tuple[float, float] = (0.0, 90.0)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("survey region needs a name")
        if not (math.isfinite(self.weight) and 0.0 <= self.weight <= 1.0):
            raise ValueError(f"survey region {self.name!r}: weight must be in [0, 1], "
                             f"got {self.weight}")
        if not (math.isfinite(self.depth_mag) and 5.0 <= self.depth_mag <= 30.0):
            raise ValueError(f"survey region {self.name!r}: depth_mag must be in [5, 30], "
                             f"got {self.depth_mag}")
        for label, (lo, hi) in (("abs_b_deg", self.abs_b_deg),
                                ("abs_beta_deg", self.abs_beta_deg)):
            if not 0.0 <= lo < hi <= 90.0:
                raise ValueError(f"survey region {self.name!r}: {label} must be a range "
                                 f"0 <= low < high <= 90, got ({lo}, {hi})")

    def contains(self, b_deg, beta_deg) -> np.ndarray:
        """Whether fields at galactic latitude ``b_deg`` and ecliptic ``beta_deg`` are inside."""
        return _within(np.abs(b_deg), self.abs_b_deg) & _within(np.abs(beta_deg),
                                                                 self.abs_beta_deg)


def _within(value: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    lo, hi = bounds
    return (value >= lo) & ((value < hi) | (hi >= 90.0))


DEFAULT_REGIONS: tuple[SurveyRegion, ...] = (
    SurveyRegion("extragalactic", 1.0, 21.5, abs_b_deg=(30.0, 90.0)),
    SurveyRegion("solar-system", 0.7, 20.0, abs_b_deg=(10.0, 90.0), abs_beta_deg=(0.0, 10.0)),
    SurveyRegion("intermediate-b", 0.5, 21.0, abs_b_deg=(10.0, 30.0)),
    SurveyRegion("galactic-plane", 0.15, 20.5, abs_b_deg=(0.0, 10.0)),
)
"""The survey's default regions (see the module docstring)."""


def check_regions(regions: Sequence[SurveyRegion]) -> tuple[SurveyRegion, ...]:
    """Validate a region list: non-empty, unique names, every item a :class:`SurveyRegion`."""
    regions = tuple(regions)
    if not regions:
        raise ValueError("the survey needs at least one region")
    for r in regions:
        if not isinstance(r, SurveyRegion):
            raise TypeError(f"survey regions must be SurveyRegion, got {type(r).__name__}")
    names = [r.name for r in regions]
    if len(set(names)) != len(names):
        raise ValueError(f"survey region names must be unique, got {names}")
    return regions


def membership(regions: Sequence[SurveyRegion], b_deg, beta_deg) -> np.ndarray:
    """Boolean matrix (regions x fields): which region contains which field."""
    return np.stack([r.contains(b_deg, beta_deg) for r in regions])
