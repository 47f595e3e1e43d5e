"""The scheduler models' features from a live decision (serving side, numpy only).

Builds, from a :class:`~control_center.plugin_api.DecisionContext`, its feasible
candidates and their scores, the same arrays the training environment produces
(:mod:`models.scheduler.features`). What a single context does not hold -- the
conditions half an hour ago, the telescope's recent observation quality,
whether it has calibrated tonight -- is remembered by :class:`NightMemory`,
which the plugins feed from the events they see.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from control_center import astro
from control_center.events import ObservationCompleted, ObservationFailed
from control_center.plugin_api import (
    Candidate,
    Conditions,
    DecisionContext,
    NightPlan,
    Score,
    hookimpl,
)
from models.scheduler.features import (
    N_CANDIDATE,
    candidate_matrix,
    context_vector,
    kind_index,
    physics_matrix,
    value_matrix,
)
from models.scheduler.physics import SiteSky, expected_values
from simulator.bands import band
from simulator.horizon import HorizonFrame
from simulator.telescope import expected_duration_s

__all__ = ["NightMemory", "NightSkies", "PhysicsView", "physics_view", "policy_inputs",
           "value_inputs"]

FAILURE_DISCOUNT = 0.6
TREND = timedelta(minutes=30)
LATER = 3600.0
"""Look-ahead of the "value in 1 h" physics feature (seconds)."""


class NightSkies:
    """Each site's :class:`~models.scheduler.physics.SiteSky` for the current night,
    built on first use from the decision's night plan."""

    def __init__(self) -> None:
        self._skies: dict[tuple[str, datetime], SiteSky] = {}

    def get(self, context: DecisionContext, site) -> SiteSky:
        key = (site.name, context.night.start)
        sky = self._skies.get(key)
        if sky is None:
            if len(self._skies) > 32:
                self._skies.clear()
            sky = SiteSky(site, context.night.start,
                          max(context.night.end, context.night.start + timedelta(hours=1))
                          + timedelta(hours=2))
            self._skies[key] = sky
        return sky


@dataclass
class PhysicsView:
    """The outcome physics of a decision's candidates under the conditions now."""

    value: np.ndarray
    """Expected science value on the deciding telescope."""
    duration: np.ndarray
    """Telescope time each takes (s)."""
    best_elsewhere: np.ndarray
    """Best expected value on any open telescope of the network (this one included)."""
    value_later: np.ndarray
    """Expected value here an hour later under the same conditions."""

    @property
    def rate(self) -> np.ndarray:
        """Expected value per second of telescope time."""
        return self.value / np.maximum(self.duration, 1.0)


def physics_view(context: DecisionContext, candidates: Sequence[Candidate],
                 skies: NightSkies) -> PhysicsView:
    """Expected values of ``candidates`` from :mod:`models.scheduler.physics`, with
    the conditions each site reports now (a persistence forecast)."""
    from simulator.horizon import to_seconds

    scope = context.telescope
    n = len(candidates)
    requests = {r.request_id: r for r in context.queue}
    ra = np.fromiter((c.ra_deg for c in candidates), float, n)
    dec = np.fromiter((c.dec_deg for c in candidates), float, n)
    exposure = np.fromiter((c.exposure_s for c in candidates), float, n)
    priority = np.fromiter((c.priority for c in candidates), float, n)
    filters = np.array([c.filter for c in candidates], dtype=object)
    v_mag = np.array([_v_mag(c, requests) for c in candidates], dtype=float)
    duration = np.asarray(expected_duration_s(
        scope.telescope, scope.pointing_ra_deg, scope.pointing_dec_deg, scope.filter, ra, dec,
        list(filters), exposure), dtype=float)
    now = to_seconds(context.now)
    t = now + float(np.median(duration)) / 2.0 if n else now
    here = expected_values(skies.get(context, scope.site), scope.telescope, t, ra, dec, v_mag,
                           filters, exposure, priority, context.conditions)
    later = expected_values(skies.get(context, scope.site), scope.telescope, t + LATER, ra, dec,
                            v_mag, filters, exposure, priority, context.conditions)
    best = here.copy()
    for name, other in context.telescopes.items():
        site = other.site
        cond = context.conditions_by_site.get(site.name)
        if name == scope.telescope.name or cond is None or not cond.open \
                or site.name in context.offline_sites:
            continue
        best = np.maximum(best, expected_values(skies.get(context, site), other.telescope, t, ra,
                                                dec, v_mag, filters, exposure, priority, cond))
    return PhysicsView(here, duration, best, later)


def _v_mag(c: Candidate, requests: dict) -> float:
    if c.v_mag is not None:
        return float(c.v_mag)
    r = requests.get(c.request_id)
    return np.nan if r is None or r.v_mag is None else float(r.v_mag)


@dataclass
class NightMemory:
    """What the plugins remember through a night (per site and per telescope)."""

    conditions: dict[str, list[tuple[datetime, float]]] = field(default_factory=dict)
    """Site -> (time, cloud cover) seen at decisions, in time order."""
    quality: dict[str, list[float]] = field(default_factory=dict)
    calibrated: set[str] = field(default_factory=set)
    assigned: dict[str, tuple[str, str, float]] = field(default_factory=dict)
    """Request id -> (telescope, kind, priority) of assignments not yet finished."""

    def clear(self) -> None:
        self.conditions.clear()
        self.quality.clear()
        self.calibrated.clear()
        self.assigned.clear()

    def see(self, now: datetime, conditions_by_site) -> None:
        """Remember every site's cloud cover at ``now``."""
        for site, c in conditions_by_site.items():
            seen = self.conditions.setdefault(site, [])
            if not seen or seen[-1][0] < now:
                seen.append((now, float(c.cloud_cover)))
                del seen[:-64]

    def cloud_trend(self, site: str, now: datetime, cloud_now: float) -> float:
        """Cloud cover now minus about 30 minutes ago (0 when nothing older is known)."""
        past = [c for t, c in self.conditions.get(site, ()) if t <= now - TREND]
        if past:
            return cloud_now - past[-1]
        earlier = [c for t, c in self.conditions.get(site, ()) if t < now]
        return cloud_now - earlier[0] if earlier else 0.0

    def on_assigned(self, telescope: str, candidate: Candidate) -> None:
        self.assigned[candidate.request_id] = (telescope, candidate.kind, candidate.priority)

    def on_finished(self, request_id: str, success: bool, science_value: float = 0.0) -> None:
        """An observation of ``request_id`` ended (its quality is value / priority)."""
        telescope, kind, priority = self.assigned.pop(request_id, (None, "", 0.0))
        if telescope is None:
            return
        q = science_value / priority if success and priority > 0 else 0.0
        self.quality.setdefault(telescope, []).append(float(np.clip(q, 0.0, 1.0)))
        if success and kind == "calibration":
            self.calibrated.add(telescope)


def _dark(context: DecisionContext, site: str) -> tuple[float, float]:
    """Hours since the current dark interval began and hours of it left (0, 0 outside)."""
    now = context.now
    for begin, end in context.night.dark.get(site, ()):
        if begin <= now < end:
            return (now - begin).total_seconds() / 3600.0, (end - now).total_seconds() / 3600.0
    return 0.0, 0.0


@dataclass
class _Geometry:
    airmass: np.ndarray
    alt: np.ndarray
    alt_later: np.ndarray
    duration: np.ndarray
    setup: np.ndarray
    exposure: np.ndarray
    priority: np.ndarray
    failures: np.ndarray
    remaining: np.ndarray
    v_mag: np.ndarray


def _geometry(context: DecisionContext, candidates: Sequence[Candidate]) -> _Geometry:
    site = context.telescope.site
    scope = context.telescope
    n = len(candidates)
    ra = np.fromiter((c.ra_deg for c in candidates), float, n)
    dec = np.fromiter((c.dec_deg for c in candidates), float, n)
    exposure = np.fromiter((c.exposure_s for c in candidates), float, n)
    filters = [c.filter for c in candidates]
    frame = HorizonFrame(site.latitude_deg, site.longitude_deg, context.now)
    alt, _ = frame.altaz_many(ra, dec, context.now)
    alt_later, _ = frame.altaz_many(ra, dec, context.now + timedelta(hours=1))
    duration = expected_duration_s(scope.telescope, scope.pointing_ra_deg, scope.pointing_dec_deg,
                                   scope.filter, ra, dec, filters, exposure)
    requests = {r.request_id: r for r in context.queue}
    failures = np.zeros(n)
    remaining = np.ones(n)
    for i, c in enumerate(candidates):
        r = requests.get(c.request_id)
        if r is not None:
            failures[i] = r.failures
            remaining[i] = r.remaining(c.filter) / max(r.repeats, 1) if c.filter in r.filters \
                else 1.0
    return _Geometry(
        airmass=np.minimum(astro.airmass(alt), 10.0), alt=alt, alt_later=alt_later,
        duration=duration, setup=duration - exposure - scope.telescope.readout_s,
        exposure=exposure, priority=np.fromiter((c.priority for c in candidates), float, n),
        failures=failures, remaining=remaining,
        v_mag=np.array([np.nan if c.v_mag is None else c.v_mag for c in candidates], float))


def value_inputs(context: DecisionContext, candidates: Sequence[Candidate],
                 memory: NightMemory | None = None) -> np.ndarray:
    """Rows of :data:`~models.scheduler.features.VALUE_FEATURES` for ``candidates``."""
    g = _geometry(context, candidates)
    c: Conditions = context.conditions
    site = context.telescope.site.name
    since_dusk, _ = _dark(context, site)
    trend = memory.cloud_trend(site, context.now, c.cloud_cover) if memory else 0.0
    return value_matrix(
        priority=g.priority * FAILURE_DISCOUNT ** g.failures, exposure_s=g.exposure,
        v_mag=g.v_mag, airmass=g.airmass, cloud=c.cloud_cover, humidity=c.humidity,
        wind_m_s=c.wind_m_s, seeing_arcsec=c.seeing_arcsec, sky_v_mag=c.sky_v_mag_arcsec2,
        aperture_m=context.telescope.telescope.aperture_m,
        wavelength_nm=np.array([_wavelength(x.filter) for x in candidates]),
        efficiency=g.exposure / np.maximum(g.duration, 1.0), hours_since_dusk=since_dusk,
        cloud_trend=trend, failures=g.failures, kind=kind_index([x.kind for x in candidates]))


def _wavelength(name: str) -> float:
    try:
        return band(name).wavelength_nm
    except (KeyError, ValueError):
        return 550.0


def policy_inputs(context: DecisionContext, candidates: Sequence[Candidate],
                  scores: Sequence[Score], memory: NightMemory,
                  physics: PhysicsView | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Candidate matrix and context vector of one decision (aligned with ``candidates``).

    With ``physics`` the rows end with :data:`~models.scheduler.features.PHYSICS_FEATURES`
    (:data:`~models.scheduler.features.POLICY_FEATURES`, policy-v2); without, they are
    :data:`~models.scheduler.features.CANDIDATE_FEATURES` (policy-v1).
    """
    g = _geometry(context, candidates)
    by_key = {s.candidate: s for s in scores}
    value = np.array([by_key[c.key].value if c.key in by_key else 0.0 for c in candidates])
    sigma = np.array([by_key[c.key].sigma if c.key in by_key else 0.0 for c in candidates])
    window = np.array([(c.not_after - context.now).total_seconds() / 3600.0
                       if c.not_after is not None else np.nan for c in candidates])
    completion = _programme_completion(context)
    mean_completion = float(np.mean(list(completion.values()))) if completion else 0.0
    deficit = np.array([completion.get(c.program, mean_completion) - mean_completion
                        for c in candidates])
    cand = candidate_matrix(
        priority=g.priority, exposure_s=g.exposure, duration_s=g.duration, score=value,
        sigma=sigma, airmass=g.airmass, alt_deg=g.alt, alt_later_deg=g.alt_later,
        min_alt_deg=context.telescope.telescope.min_altitude_deg, window_left_h=window,
        remaining_frac=g.remaining, failures=g.failures, setup_s=g.setup,
        kind=kind_index([c.kind for c in candidates]), program_deficit=deficit)
    if physics is not None:
        cand = np.concatenate([cand, physics_matrix(
            value=physics.value, duration_s=physics.duration,
            best_elsewhere=physics.best_elsewhere, value_later=physics.value_later)], axis=1)
    assert cand.shape[1] >= N_CANDIDATE
    return cand, _context(context, len(candidates), memory)


def _programme_completion(context: DecisionContext) -> dict[str, float]:
    want: dict[str, float] = {}
    got: dict[str, float] = {}
    for r in context.queue:
        total = r.repeats * len(r.filters)
        want[r.program] = want.get(r.program, 0.0) + total
        got[r.program] = got.get(r.program, 0.0) + sum(
            min(r.completed_by_filter.get(f, 0), r.repeats) for f in r.filters)
    return {p: got[p] / want[p] for p in want if want[p] > 0}


def _context(context: DecisionContext, n: int, memory: NightMemory) -> np.ndarray:
    c = context.conditions
    scope = context.telescope
    site = scope.site.name
    _, dark_left = _dark(context, site)
    others = [(name, cond) for name, cond in context.conditions_by_site.items() if name != site]
    reachable = [cond for name, cond in others if name not in context.offline_sites]
    open_other = [cond for cond in reachable if cond.open]
    span = (context.night.end - context.night.start).total_seconds()
    q = memory.quality.get(scope.telescope.name, [])[-3:]
    sites = {s.name for s in context.night.network.sites} or {site}
    return context_vector(
        cloud=c.cloud_cover, humidity=c.humidity, wind_m_s=c.wind_m_s,
        seeing_arcsec=c.seeing_arcsec, sky_v_mag=c.sky_v_mag_arcsec2, open=c.open,
        cloud_trend=memory.cloud_trend(site, context.now, c.cloud_cover),
        dark_left_h=dark_left,
        night_elapsed=float(np.clip((context.now - context.night.start).total_seconds()
                                    / max(span, 1.0), 0.0, 1.0)),
        other_open_frac=len(open_other) / max(len(others), 1),
        aperture_m=scope.telescope.aperture_m,
        recent_quality=float(np.mean(q)) if q else 0.5,
        calibrated=scope.telescope.name in memory.calibrated, n_candidates=n,
        offline_frac=len(context.offline_sites & sites) / len(sites),
        other_cloud=float(np.mean([o.cloud_cover for o in open_other])) if open_other else 1.0)


class RemembersTheNight:
    """Base of the plugins that feed the models their night so far: a
    :class:`NightMemory` kept from the night's assignments and outcomes."""

    def __init__(self) -> None:
        self.memory = NightMemory()

    @hookimpl
    def openastro_night_started(self, night: NightPlan) -> None:
        self.memory.clear()

    @hookimpl
    def openastro_event(self, event) -> None:
        if isinstance(event, ObservationCompleted):
            self.memory.on_finished(event.request_id, True, event.science_value)
        elif isinstance(event, ObservationFailed):
            self.memory.on_finished(event.request_id, False)

    @hookimpl
    def openastro_assigned(self, context: DecisionContext, candidate: Candidate) -> None:
        self.memory.on_assigned(context.telescope.telescope.name, candidate)
