"""Light curves of the programme's point-source targets: periodic variables and constant stars.

The demo programmes ``variables``, ``campaign`` and ``monitoring`` observe the
generated variable stars of :func:`simulator.catalogue.variable_stars` (named
``VAR-0001``...). Each gets a light curve, deterministic from the run seed and
its name (:func:`variability_of`):

================  =====  =========================================  ===============  ============
kind              share  shape                                      period (days)    amplitude
================  =====  =========================================  ===============  ============
``constant``      20 %   flat                                       -                0
``sinusoidal``    30 %   ``(1 - cos 2 pi phase) / 2``               0.1-2 (log)      0.1-0.5 mag
``eclipsing``     25 %   flat, V-shaped primary eclipse at phase    0.3-5 (log)      0.3-1.2 mag
                         0.5 (width 0.06-0.14), secondary at 0
                         (30 % of the primary's depth); maximum
                         light at phase 0.25
``rr-lyrae``      25 %   sawtooth: linear decline over 85 % of the  0.45-0.8         0.5-1.0 mag
                         period, fast rise over the last 15 %
================  =====  =========================================  ===============  ============

Pulsators are at maximum light at phase 0. The catalogue's ``v_mag`` is the
magnitude at maximum light: the star is
``amplitude * shape(phase)`` fainter at other phases (shape 0..1). Colours are
those of a star of B-V 0.65 (the frames' reference colour, so no colour term);
the amplitude is the same in every band. :func:`magnitude_at` is the truth an
evaluation compares the measured light curves with; the frames
(:func:`simulator.frames.frame_for_observation`) render the target at it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import numpy as np

from simulator._seeding import stream
from simulator.horizon import to_seconds
from simulator.starfield import _mag_in, band_magnitudes

__all__ = ["KINDS", "POOL_SIZE", "Variability", "magnitude_at", "programme_star",
           "target_v_mag", "variability_of"]

KINDS = ("constant", "sinusoidal", "eclipsing", "rr-lyrae")
_SHARES = (0.20, 0.30, 0.25, 0.25)
POOL_SIZE = 400
"""Generated variable stars the programmes draw from (:func:`simulator.demo_requests`)."""
_DAY_S = 86400.0
_COLOUR = 0.65
_RISE = 0.15
"""Fraction of an RR Lyrae period spent rising to maximum."""
_SECONDARY = 0.3
_NAME = re.compile(r"^VAR-\d{4,}$")


@dataclass(frozen=True)
class Variability:
    """The light curve of one programme star.

    Attributes
    ----------
    name : str
    kind : str
        One of :data:`KINDS`.
    ra_deg, dec_deg : float
        Where the star is (ICRS).
    v_mag : float
        V at maximum light (the catalogue magnitude).
    amplitude_mag : float
        Full range (0 for a constant star).
    period_days : float
        ``inf`` for a constant star.
    epoch_s : float
        A time of phase 0 (POSIX seconds).
    width : float
        Eclipse width in phase (eclipsing binaries; 0 otherwise).
    """

    name: str
    kind: str
    ra_deg: float
    dec_deg: float
    v_mag: float
    amplitude_mag: float
    period_days: float
    epoch_s: float
    width: float = 0.0

    def phase(self, time: datetime | float) -> float:
        """Phase in [0, 1) at ``time`` (datetime or POSIX seconds); 0 for a constant star."""
        if self.kind == "constant":
            return 0.0
        t = to_seconds(time) if isinstance(time, datetime) else float(time)
        return ((t - self.epoch_s) / (self.period_days * _DAY_S)) % 1.0

    def shape(self, phase: float) -> float:
        """How far from maximum light (0) toward minimum (1) the star is at ``phase``."""
        if self.kind == "sinusoidal":
            return 0.5 * (1.0 - math.cos(2.0 * math.pi * phase))
        if self.kind == "rr-lyrae":
            return phase / (1.0 - _RISE) if phase < 1.0 - _RISE else (1.0 - phase) / _RISE
        if self.kind == "eclipsing":
            half = self.width / 2.0
            primary = max(0.0, 1.0 - abs(phase - 0.5) / half)
            secondary = max(0.0, 1.0 - min(phase, 1.0 - phase) / half)
            return max(primary, _SECONDARY * secondary)
        return 0.0

    def v_at(self, time: datetime | float) -> float:
        """V magnitude at ``time``."""
        return self.v_mag + self.amplitude_mag * self.shape(self.phase(time))

    def magnitude(self, time: datetime | float, filter: str = "V") -> float:
        """Magnitude in ``filter`` at ``time`` (a B-V 0.65 star's colours)."""
        mags = band_magnitudes(np.array([self.v_at(time)]), np.array([_COLOUR]))
        return float(_mag_in(mags, filter)[0])

    def phase_of_maximum(self) -> float:
        """The phase of maximum light."""
        return 0.25 if self.kind == "eclipsing" else 0.0

    def phase_of_minimum(self) -> float:
        """The phase of minimum light (0 for a constant star)."""
        return {"sinusoidal": 0.5, "rr-lyrae": 1.0 - _RISE, "eclipsing": 0.5}.get(self.kind,
                                                                                    0.0)

    def next_time_at_phase(self, after: datetime | float, phase: float) -> float:
        """First POSIX time at or after ``after`` when the star is at ``phase``."""
        t = to_seconds(after) if isinstance(after, datetime) else float(after)
        if self.kind == "constant":
            return t
        period = self.period_days * _DAY_S
        return t + ((phase - self.phase(t)) % 1.0) * period


def _draw(seed: int, name: str, ra_deg: float, dec_deg: float, v_mag: float) -> Variability:
    u = stream(seed, "variability", name).random(5)
    kind = KINDS[int(np.searchsorted(np.cumsum(_SHARES), u[0] * sum(_SHARES), side="right"))]

    def log_uniform(lo: float, hi: float, x: float) -> float:
        return float(math.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * x))

    if kind == "constant":
        return Variability(name, kind, ra_deg, dec_deg, v_mag, 0.0, math.inf, 0.0)
    if kind == "sinusoidal":
        period, amplitude, width = log_uniform(0.1, 2.0, u[1]), 0.1 + 0.4 * u[2], 0.0
    elif kind == "eclipsing":
        period, amplitude = log_uniform(0.3, 5.0, u[1]), 0.3 + 0.9 * u[2]
        width = 0.06 + 0.08 * float(u[4])
    else:
        period, amplitude, width = 0.45 + 0.35 * u[1], 0.5 + 0.5 * u[2], 0.0
    epoch = float(u[3]) * period * _DAY_S
    return Variability(name, kind, ra_deg, dec_deg, v_mag, round(float(amplitude), 3),
                       round(float(period), 5), epoch, round(float(width), 4))


@lru_cache(maxsize=16)
def _pool(seed: int) -> dict[str, Variability]:
    from simulator.catalogue import variable_stars

    return {t.name: _draw(seed, t.name, t.ra_deg, t.dec_deg, t.v_mag)
            for t in variable_stars(seed, POOL_SIZE)}


def variability_of(seed: int, name: str) -> Variability:
    """The light curve of the generated variable star ``name`` of run ``seed``.

    Raises
    ------
    KeyError
        ``name`` is not one of the run's generated variable stars.
    """
    star = programme_star(seed, name)
    if star is None:
        raise KeyError(f"{name!r} is not a generated variable star of seed {seed} "
                       f"(VAR-0001..VAR-{POOL_SIZE:04d})")
    return star


def programme_star(seed: int, name: str | None) -> Variability | None:
    """The light curve of a programme target if it is a point source, else None.

    Point sources are the generated variable stars (``VAR-0001``...); galaxies,
    clusters, nebulae, survey and standard fields are rendered by the star
    field and galaxy catalogue, not as a programme star.
    """
    if not name or not _NAME.match(name):
        return None
    return _pool(seed).get(name)


def magnitude_at(seed: int, name: str, time: datetime | float, filter: str = "V") -> float:
    """The truth: magnitude of programme star ``name`` in ``filter`` at ``time``."""
    return variability_of(seed, name).magnitude(time, filter)


def target_v_mag(seed: int, name: str | None, v_mag: float | None,
                 time: datetime | float | None) -> float | None:
    """The V magnitude an exposure of target ``name`` starting at ``time`` meets.

    A programme star's magnitude then (:meth:`Variability.v_at`), else ``v_mag``
    (what the request says, also when ``time`` is None): what a simulated site
    uses for the target's SNR, so the outcome agrees with the frame.
    """
    star = programme_star(seed, name)
    return v_mag if star is None or time is None else star.v_at(time)
