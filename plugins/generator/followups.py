"""Follow-ups of detections: colour, variability, confirmation at another site, context.

:class:`FollowUps` learns detections from ``TransientDetected`` events. A
detection at a known position (a re-detection, within a few arcsec) adds a
sighting to that source; a new one gets the follow-ups of
:mod:`plugins.generator.followup_plans`, proposed as candidates of kind
``followup`` with request ids ``followup:<observation_id>:<n>:<what>``
(``n``: the detection's index in its observation). A follow-up is proposed
until it is observed (``ObservationCompleted``), fails ``max_failures`` times
(each failure pauses it for ``retry_after``) or leaves its time window; one a re-detection already achieved (seen at another
site: confirmed; in another band at the site: colour; 1.5 h later: variability)
is dropped. Detections a real/bogus model scored below
``FollowUpPolicy.min_real_score`` are ignored. A new detection also triggers a decision (Confirmation Mode), so idle
telescopes elsewhere can react at once.
"""

from __future__ import annotations

import threading
from datetime import datetime

from control_center.events import (
    ObservationAssigned,
    ObservationCompleted,
    ObservationFailed,
    TransientDetected,
)
from control_center.plugin_api import (
    Candidate,
    DecisionContext,
    LogEvent,
    NightPlan,
    Settings,
    hookimpl,
)
from plugins.generator.followup_context import HostFinder
from plugins.generator.followup_plans import FollowUp, FollowUpPolicy, plan_followups
from plugins.generator.followup_sources import Source, SourceBook

__all__ = ["FollowUps"]

PREFIX = "followup:"


class FollowUps:
    """Stateful generator of follow-up candidates.

    Parameters
    ----------
    policy : FollowUpPolicy, optional
        Priorities, windows and exposure depths.
    match_radius_arcsec : float
        Detections this close to a known source are that source again.
    hosts : HostFinder, optional
        Finds a detection's host galaxy (default: OpenNGC and the generated
        hosts of the run's seed).
    """

    def __init__(self, policy: FollowUpPolicy | None = None, *, match_radius_arcsec: float = 5.0,
                 hosts: HostFinder | None = None) -> None:
        self.policy = policy or FollowUpPolicy()
        self.sources = SourceBook(match_radius_arcsec)
        self.pending: dict[str, FollowUp] = {}
        self.done: dict[str, str] = {}
        """Finished follow-ups: request id -> how (observed, failed, expired, achieved)."""
        self._hosts = hosts
        self._seed = 0
        self._night_end: datetime | None = None
        self._per_observation: dict[str, int] = {}
        self._new_source_events: dict[object, str] = {}
        self._lock = threading.Lock()

    # -- set-up ---------------------------------------------------------------------------

    @hookimpl
    def openastro_configure(self, settings: Settings) -> None:
        self._seed = settings.seed

    @hookimpl
    def openastro_night_started(self, night: NightPlan) -> None:
        self.hosts.warm()        # catalogues loaded here, not inside a time-budgeted event
        with self._lock:
            self._night_end = night.end
            for request_id, item in list(self.pending.items()):
                if item.expired(night.start):
                    self._finish(request_id, "expired")
            self._per_observation.clear()
            self._new_source_events.clear()

    @property
    def hosts(self) -> HostFinder:
        if self._hosts is None:
            self._hosts = HostFinder(self._seed)
        return self._hosts

    # -- learning ---------------------------------------------------------------------------

    @hookimpl
    def openastro_event(self, event: LogEvent) -> None:
        if isinstance(event, TransientDetected):
            with self._lock:
                self._detected(event)
            return
        request_id = getattr(event, "request_id", "")
        if not request_id.startswith(PREFIX):
            return
        with self._lock:
            item = self.pending.get(request_id)
            if item is None:
                return
            if isinstance(event, ObservationAssigned):
                item.in_flight = event.telescope
            elif isinstance(event, ObservationCompleted):
                self._finish(request_id, "observed")
            elif isinstance(event, ObservationFailed):
                item.in_flight = None
                item.failures += 1
                item.retry_at = event.sim_time + self.policy.retry_after
                if item.failures >= self.policy.max_failures:
                    self._finish(request_id, "failed")

    def _detected(self, event: TransientDetected) -> None:
        if event.score is not None and event.score < self.policy.min_real_score:
            return
        n = self._per_observation.get(event.observation_id, 0)
        self._per_observation[event.observation_id] = n + 1
        source, new = self.sources.sighting(
            event.ra_deg, event.dec_deg, event.observation_id, n, event.site, event.telescope,
            event.filter, event.sim_time, event.mag, event.snr)
        if new:
            host = self.hosts.host(source.ra_deg, source.dec_deg)
            for item in plan_followups(source, host, self.policy, self._night_end):
                self.pending[item.request_id] = item
            self._new_source_events[event.event_id] = source.name
        else:
            self._achieved_by_sighting(source, event)

    def _achieved_by_sighting(self, source: Source, event: TransientDetected) -> None:
        """Drop follow-ups of ``source`` that this re-detection already achieved."""
        prefix = f"{PREFIX}{source.observation_id}:{source.n}:"
        achieved = {
            "confirmation": event.site != source.site,
            "colour": event.site == source.site and event.filter != source.filter,
            "variability": event.sim_time >= source.first_seen + self.policy.variability_delay,
        }
        for what, done in achieved.items():
            item = self.pending.get(prefix + what)
            if done and item is not None and item.in_flight is None:
                self._finish(item.request_id, "achieved")

    def _finish(self, request_id: str, how: str) -> None:
        self.pending.pop(request_id, None)
        self.done[request_id] = how

    # -- triggering and proposing -----------------------------------------------------------

    @hookimpl
    def openastro_trigger(self, event: LogEvent) -> str | None:
        if not isinstance(event, TransientDetected):
            return None
        with self._lock:
            name = self._new_source_events.pop(event.event_id, None)
        if name is None:
            return None
        return (f"new transient {name} at {event.site} (mag {event.mag:.1f}): "
                f"confirmation wanted at another site")

    @hookimpl
    def openastro_propose(self, context: DecisionContext) -> list[Candidate]:
        out: list[Candidate] = []
        with self._lock:
            for request_id, item in list(self.pending.items()):
                if item.expired(context.now):
                    self._finish(request_id, "expired")
                    continue
                candidate = item.candidate(context, self.policy)
                if candidate is not None:
                    out.append(candidate)
        return out

    def source_of(self, request_id: str) -> Source | None:
        """The source a pending follow-up is for (None when not pending)."""
        item = self.pending.get(request_id)
        return None if item is None else item.source
