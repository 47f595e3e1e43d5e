"""A night's observable windows of targets from each telescope: the constraints' static part.

The same sky model (:class:`SpanEphemeris`, :class:`SiteSky`), horizon
(:class:`UsableAltitude`) and :class:`Limits` as the constraints plugin, on a
fine time grid: twilight, altitude (with the horizon map), airmass and Moon
distance. Weather, seeing, exposure lengths and what the other telescopes do
are decided at run time and are not part of it.

Each constraint becomes a margin that is non-negative where it is met (in
degrees of altitude, Sun altitude or Moon distance); a target is observable
where the smallest applicable margin is, and window edges are interpolated
between grid samples where that margin crosses zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np

from control_center.network import Network, Site, Telescope
from plugins.constraints.ephemeris import SpanEphemeris, to_seconds
from plugins.constraints.limits import Limits
from plugins.constraints.sky import SiteSky, UsableAltitude

__all__ = [
    "STATIC_CONSTRAINTS",
    "Target",
    "Visibility",
    "Window",
    "airmass_altitude_deg",
    "network_visibility",
    "night_of",
    "static_margins",
]

STATIC_CONSTRAINTS = ("twilight", "altitude", "airmass", "moon")
_CHUNK = 256
"""Targets per vectorised block (bounds memory: targets x grid samples)."""


@dataclass(frozen=True)
class Target:
    """A target of the visibility table.

    ``filter`` (when set) must be in a telescope's wheel; ``kind`` selects the
    per-kind exemptions of :class:`Limits`; ``not_before`` / ``not_after``
    clip the windows.
    """

    name: str
    ra_deg: float
    dec_deg: float
    kind: str = "science"
    filter: str | None = None
    not_before: datetime | None = None
    not_after: datetime | None = None


@dataclass(frozen=True)
class Window:
    """A stretch of time during which a target is observable."""

    start: datetime
    end: datetime
    max_altitude_deg: float

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600.0


@dataclass(frozen=True)
class Visibility:
    """A target's windows from one telescope during one night.

    ``blocked_by`` names, when there is no window, the constraint that rules
    the target out for most of the dark time (``instrument`` when the
    telescope lacks the target's filter, ``twilight`` when the site has no
    dark time, ``not-before`` / ``not-after`` for a time window outside the dark).
    """

    target: Target
    site: str
    telescope: str
    windows: tuple[Window, ...]
    blocked_by: str = ""

    @property
    def hours(self) -> float:
        return sum(w.hours for w in self.windows)


def night_of(site: Site, day: date) -> tuple[datetime, datetime]:
    """The night of ``day`` at ``site``: local mean solar noon to the next noon (UTC)."""
    east = (site.longitude_deg + 180.0) % 360.0 - 180.0          # the schema allows 0..360
    noon = datetime.combine(day, time(12), tzinfo=UTC) - timedelta(hours=east / 15.0)
    return noon, noon + timedelta(days=1)


def airmass_altitude_deg(max_airmass: float) -> float:
    """Altitude (deg) at which ``control_center.astro.airmass`` equals ``max_airmass``."""
    from control_center import astro

    if max_airmass <= 1.0:
        return 90.0
    lo, hi = 0.0, 90.0
    for _ in range(60):
        mid = (lo + hi) / 2.0
        lo, hi = (mid, hi) if astro.airmass(mid) > max_airmass else (lo, mid)
    return hi


def static_margins(sky: SiteSky, usable: UsableAltitude, limits: Limits, vectors: np.ndarray,
                   times_s: np.ndarray) -> dict[str, np.ndarray]:
    """Margin of each static constraint for each target at each time (met where >= 0).

    Parameters
    ----------
    sky, usable, limits
        The site, the telescope's usable altitude and the limits.
    vectors : ndarray (3, N)
        Targets as unit vectors of date (``sky.of_date(ephemeris.target_vectors(...))``).
    times_s : ndarray (T,)
        POSIX seconds.

    Returns
    -------
    dict
        ``twilight`` (T,), ``altitude``, ``airmass``, ``moon`` (N, T) and the
        targets' ``alt`` (N, T) in degrees.
    """
    alt, az = sky.altaz(vectors[:, :, None], times_s[None, :],
                        with_azimuth=not usable.constant)
    floor = usable.at(az) if az is not None else usable.floor_deg
    moon_unit, moon_alt, illumination = sky.moon(times_s)
    cos_sep = np.einsum("it,in->nt", moon_unit, vectors)
    separation = np.degrees(np.arccos(np.clip(cos_sep, -1.0, 1.0)))
    return {
        "twilight": limits.twilight_sun_alt_deg - sky.sun_altitude(times_s),
        "altitude": alt - floor,
        "airmass": alt - airmass_altitude_deg(limits.max_airmass),
        "moon": np.maximum(separation - limits.moon_separation(illumination), -moon_alt),
        "alt": alt,
    }


def network_visibility(network: Network, targets: Sequence[Target], day: date, *,
                       limits: Limits | None = None, step_s: float = 60.0,
                       telescopes: Sequence[str] | None = None,
                       default_filter: str | None = None) -> list[Visibility]:
    """Observable windows of every target from every telescope on the night of ``day``.

    Parameters
    ----------
    network : Network
    targets : sequence of Target
    day : date
        The night starting on the evening of this (local) date at each site.
    limits : Limits, optional
        Default :class:`Limits` (the constraints plugin's defaults).
    step_s : float
        Grid step; window edges are interpolated between samples.
    telescopes : sequence of str, optional
        Only these telescopes (default: all).
    default_filter : str, optional
        Filter of targets that name none; a telescope without it cannot observe them.

    Returns
    -------
    list of Visibility
        Ordered by target, then telescope in network order.
    """
    limits = limits or Limits()
    pairs = [(s, t) for s, t in network.telescopes() if telescopes is None or t.name in telescopes]
    spans = {s.name: night_of(s, day) for s, _ in pairs}
    if not pairs:
        return []
    ephemeris = SpanEphemeris(min(b for b, _ in spans.values()),
                              max(e for _, e in spans.values()))
    out: dict[tuple[int, int], Visibility] = {}
    for p, (site, scope) in enumerate(pairs):
        sky = SiteSky(site, ephemeris)
        start, end = spans[site.name]
        for first in range(0, len(targets), _CHUNK):
            block = targets[first:first + _CHUNK]
            for i, vis in enumerate(_telescope_windows(sky, scope, limits, block, start, end,
                                                       step_s, default_filter)):
                out[first + i, p] = vis
    return [out[key] for key in sorted(out)]


def _telescope_windows(sky: SiteSky, scope: Telescope, limits: Limits,
                       targets: Sequence[Target], start: datetime, end: datetime,
                       step_s: float, default_filter: str | None) -> list[Visibility]:
    usable = UsableAltitude(sky.site, scope)
    t0 = to_seconds(start)
    times = t0 + np.arange(int((to_seconds(end) - t0) // step_s) + 1) * step_s
    vectors = sky.of_date(sky.ephemeris.target_vectors([t.ra_deg for t in targets],
                                                       [t.dec_deg for t in targets]))
    margins = static_margins(sky, usable, limits, vectors, times)
    dark = margins["twilight"] >= 0
    out = []
    for i, target in enumerate(targets):
        exempt = limits.exempt(target.kind)
        applied = [c for c in STATIC_CONSTRAINTS if c not in exempt]
        wanted = target.filter or default_filter
        if wanted is not None and wanted not in scope.filters:
            out.append(Visibility(target, sky.site.name, scope.name, (), "instrument"))
            continue
        rows = {c: np.broadcast_to(margins[c], margins["alt"].shape)[i] for c in applied}
        margin = np.min(np.stack(list(rows.values())), axis=0) if rows else np.ones(times.size)
        unclipped = _windows(times, margin, margins["alt"][i])
        windows = _clip(unclipped, target)
        if windows:
            blocked = ""
        elif unclipped:
            late = target.not_before is not None and target.not_before >= unclipped[-1].end
            blocked = "not-before" if late else "not-after"
        else:
            blocked = _blocked_by(rows, dark)
        out.append(Visibility(target, sky.site.name, scope.name, tuple(windows), blocked))
    return out


def _windows(times: np.ndarray, margin: np.ndarray, alt: np.ndarray) -> list[Window]:
    """Runs of ``margin >= 0``, edges interpolated to where the margin crosses zero."""
    ok = margin >= 0
    if not ok.any():
        return []
    edges = np.flatnonzero(np.diff(ok.astype(np.int8)))
    starts = [0] if ok[0] else []
    ends = []
    for e in edges:
        (starts if ok[e + 1] else ends).append(e + 1 if ok[e + 1] else e)
    if ok[-1]:
        ends.append(len(ok) - 1)
    out = []
    for a, b in zip(starts, ends, strict=True):
        begin = times[a] if a == 0 else _crossing(times, margin, a - 1)
        finish = times[b] if b == len(ok) - 1 else _crossing(times, margin, b)
        out.append(Window(_utc(begin), _utc(finish), round(float(alt[a:b + 1].max()), 2)))
    return out


def _crossing(times: np.ndarray, margin: np.ndarray, i: int) -> float:
    """Time between samples ``i`` and ``i + 1`` where the margin crosses zero."""
    m0, m1 = float(margin[i]), float(margin[i + 1])
    frac = 0.0 if m1 == m0 or not np.isfinite(m1 - m0) else min(max(-m0 / (m1 - m0), 0.0), 1.0)
    return float(times[i] + frac * (times[i + 1] - times[i]))


def _clip(windows: list[Window], target: Target) -> list[Window]:
    """Windows cut to the target's ``not_before`` / ``not_after``."""
    out = []
    for w in windows:
        start = max(w.start, target.not_before) if target.not_before else w.start
        end = min(w.end, target.not_after) if target.not_after else w.end
        if end > start:
            out.append(Window(start, end, w.max_altitude_deg))
    return out


def _blocked_by(rows: dict[str, np.ndarray], dark: np.ndarray) -> str:
    """The constraint that fails most often during the dark (see :class:`Visibility`)."""
    if "twilight" in rows and not dark.any():
        return "twilight"
    when = dark if "twilight" in rows else np.ones(dark.size, dtype=bool)
    failing = {c: int((m[when] < 0).sum()) for c, m in rows.items() if c != "twilight"}
    return max(failing, key=lambda c: failing[c], default="twilight")


def _utc(t_s: float) -> datetime:
    return datetime.fromtimestamp(round(t_s), tz=UTC)
