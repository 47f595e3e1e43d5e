"""A night of the network: sites report, telescopes free up, decisions assign work.

:class:`NightRun` is a discrete-event loop over a clock. Sites are reached
through :class:`SiteLink` objects (in-process simulated sites now; gRPC site
nodes implement the same protocol). Everything that happens is appended to the
log before it takes effect; the night report is folded from the log alone.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from control_center import astro
from control_center.clock import SimulatedClock
from control_center.decision import DecisionLoop
from control_center.eventlog.envelope import STREAM_NAMESPACE, LogEvent, stream_id
from control_center.events import (
    NightEnded,
    NightStarted,
    ObservationAssigned,
    ObservationCompleted,
    ObservationFailed,
    ObservationRequested,
    SiteConditionsChanged,
    SiteHealthChanged,
    TransientDetected,
)
from control_center.events.override import (
    AssignmentVetoed,
    PriorityChanged,
    TargetForced,
    TelescopeResumed,
)
from control_center.events.photometry import FramePhotometryMeasured
from control_center.events.site import FrameAnalyzed
from control_center.network import Network, Site, Telescope
from control_center.photometry.ingest import frame_photometry_fields
from control_center.photometry.reactor import PhotometryReactor, Reaction
from control_center.plugin_api.types import (
    Candidate,
    Conditions,
    NightPlan,
    QueuedRequest,
    Score,
    Settings,
    TelescopeState,
)
from control_center.projections.overrides import OverridesInForce
from control_center.projections.request_queue import RequestQueue
from control_center.sites.detections import transient_detected_fields
from simulator.telescope import expected_duration_s
from site_node.backends.base import ObservationCommand

__all__ = ["NightRun", "SiteLink"]

RETRY_AFTER = timedelta(minutes=10)
"""After a site failed to take or report an observation, ask again this much later."""
TWILIGHT_WORK = timedelta(minutes=40)
"""Telescopes decide from this long before dark until this long after: the constraints
keep science to the dark, calibrations (twilight flats) use the edges."""
IDLE_RECHECK = timedelta(minutes=5)
"""A telescope left without work decides again this much later (or sooner, woken by a
weather change, an alert, a detection or any plugin's trigger): targets rise, windows open."""
CORE = "control-center"


class SiteLink(Protocol):
    """How the control center reaches one site (a site node, or simulated in-process)."""

    def condition_changes(self) -> list[tuple[datetime, Conditions]]:
        """Times at which the site reports new conditions, with the conditions."""

    def submit(self, command: ObservationCommand) -> str:
        """Send an observation to the site; returns its observation id."""

    def result(self, observation_id: str) -> Any:
        """Wait for an observation's result: it has ``start``, ``end`` and ``outcome``
        (and, from a site node, the frame's ``analysis`` and raw ``result``), and
        ``detections``: the transients the site found, recorded as ``TransientDetected``
        (:mod:`control_center.sites.detections`: the edge pipeline's vetted candidates
        from a site node, depth-limited simulated detections from an in-process site).

        Raises an exception whose message says why when the site cannot deliver.
        """


@dataclass
class _Scope:
    site: Site
    telescope: Telescope
    pointing: tuple[float, float] | None = None
    filter: str | None = None
    busy_with: str | None = None
    busy_until: datetime | None = None
    token: int = 0
    """Bumped whenever a new "free" is scheduled; older ones are then stale."""

    def state(self) -> TelescopeState:
        ra, dec = self.pointing if self.pointing else (None, None)
        return TelescopeState(self.site, self.telescope, ra, dec, self.filter, self.busy_with,
                              self.busy_until)


@dataclass(order=True)
class _Happening:
    when: datetime
    seq: int
    kind: str = field(compare=False)
    data: dict = field(compare=False, default_factory=dict)


class NightRun:
    """Runs the network from ``start`` for ``hours`` on a simulated clock.

    Parameters
    ----------
    network : Network
    log : EventLog
    host : PluginHost
    settings : Settings
    sites : Mapping[str, SiteLink]
        One link per site of the network.
    requests : list of QueuedRequest
        The programme book submitted at the start of the night.
    start : datetime
    hours : float
    seed : int
    alerts : sequence of (datetime, payload, source)
        Alerts that arrive during the night (e.g. a simulated stream): each is
        ingested at its time (``payload`` is what
        :func:`control_center.alerts.ingest` takes: bytes or a path).
    alert_folder : AlertFolder, optional
        A watched folder; files dropped in it are ingested as they appear.

    Notes
    -----
    Events reach the plugins, the request queue and the triggers in log
    order, including events other processes append to the same log while the
    night runs (an alert from ``openastro alert``, an observer's override):
    exactly what ``openastro replay --verify`` feeds them again.
    """

    def __init__(self, network: Network, log, host, settings: Settings,
                 sites: Mapping[str, SiteLink], requests: list[QueuedRequest], *,
                 start: datetime, hours: float, seed: int,
                 alerts: Sequence[tuple[datetime, Any, str]] = (),
                 alert_folder: Any = None) -> None:
        self.network, self.log, self.host, self.settings = network, log, host, settings
        self.sites = sites
        self.requests = requests
        self.start, self.end = start, start + timedelta(hours=hours)
        self.seed = seed
        self.clock = SimulatedClock(start)
        # Ids are derived, not random: the same log, seed and start give the same night.
        self.night_id = uuid.uuid5(STREAM_NAMESPACE, f"night:{seed}:{start.isoformat()}:"
                                                     f"{log.last_position()}")
        self.loop = DecisionLoop(host, log, settings, self.night_id.int % (1 << 63))
        self.queue = RequestQueue()
        self.overrides = OverridesInForce()
        self.conditions: dict[str, Conditions] = {}
        self.scopes = {t.name: _Scope(s, t) for s, t in network.telescopes()}
        self._heap: list[_Happening] = []
        self._seq = itertools.count()
        self._v_mag = {r.request_id: r.v_mag for r in requests}
        self.plan: NightPlan | None = None
        self._to_send: list[tuple[_Scope, ObservationCommand, Candidate, LogEvent]] = []
        self._abandoned: set[str] = set()
        self._health_changes: queue.SimpleQueue = queue.SimpleQueue()
        self.offline: set[str] = set()
        self.alerts = list(alerts)
        self.alert_folder = alert_folder
        self._stop = threading.Event()
        self._seen = log.last_position()
        """Last log position whose event this night has processed."""
        self.photometry = PhotometryReactor()
        self._reactions: list[Reaction] = []
        """Events the photometry chain answered, recorded after the ones that caused them."""

    def health_listener(self, site: str, address: str = ""):
        """A callback for a site link's health changes: ``(old, new, reason)``.

        It may be called from any thread; the change is recorded (and acted on)
        by the night's own loop.
        """
        def on_change(old: str, new: str, reason: str) -> None:
            self._health_changes.put((site, address, old, new, reason))
        return on_change

    # -- scheduling helpers --------------------------------------------------------------

    def _at(self, when: datetime, kind: str, **data: Any) -> None:
        heapq.heappush(self._heap, _Happening(when, next(self._seq), kind, data))

    def _record(self, event_cls: type[LogEvent], *, stream: uuid.UUID, actor: str = CORE,
                causation: LogEvent | None = None, **fields: Any) -> LogEvent:
        with self.log.batch(actor=actor, sim_time=self.clock.now(),
                            correlation_id=self.night_id) as batch:
            event = batch.add(event_cls, stream=stream, causation=causation, **fields)
        self._after_append([event], [r.position for r in batch.recorded])
        return event

    def _after_append(self, events: list[LogEvent], positions: list[int]) -> None:
        """Process events this night just appended, after any appended by others."""
        if positions and positions[0] != self._seen + 1:
            self._catch_up(until=positions[0] - 1)
        for event in events:
            self._process(event)
        if positions:
            self._seen = positions[-1]
        self._flush_reactions()

    def _catch_up(self, until: int | None = None) -> None:
        """Process events other writers appended to the log since the last one seen."""
        if until is None and self.log.last_position() <= self._seen:
            return
        for recorded in self.log.read(after=self._seen):
            if until is not None and recorded.position > until:
                break
            self._process(recorded.event)
            self._seen = recorded.position
        if until is None:   # else the caller, _after_append, flushes after its own events
            self._flush_reactions()

    def _flush_reactions(self) -> None:
        """Record what the photometry chain answered to the events processed."""
        while self._reactions:
            r = self._reactions.pop(0)
            self._record(r.event_class, stream=r.stream, actor=r.actor, causation=r.cause,
                         **r.fields)

    def _process(self, event: LogEvent) -> None:
        self._reactions += self.photometry.react(event)
        self.queue.apply_event(event)
        self.overrides.apply_event(event)
        self._honour(event)
        self.host.notify("openastro_event", event=event)
        for plugin, reason in self.host.call_all("openastro_trigger", event=event):
            self._wake_idle(None, f"{plugin}: {reason}", event)

    def _honour(self, event: LogEvent) -> None:
        """An observer's override: wake the telescopes whose choice it may change."""
        if isinstance(event, TelescopeResumed | TargetForced):
            scope = self.scopes.get(event.telescope)
            if scope is not None:
                if scope.busy_with is None:
                    self._free_at(scope, self.clock.now(), f"override: {event.type_name}", event)
            else:
                self._wake_idle(event.site, f"override: {event.type_name}", event)
        elif isinstance(event, AssignmentVetoed | PriorityChanged):
            self._wake_idle(None, f"override: {event.type_name}", event)

    def _wake_idle(self, site: str | None, reason: str, cause: LogEvent | None, *,
                   elsewhere_than: str | None = None) -> None:
        """Ask every idle telescope (of ``site``, or all but ``elsewhere_than``) to decide now."""
        for scope in self.scopes.values():
            name = scope.site.name
            if scope.busy_with is None and (site is None or name == site) \
                    and name != elsewhere_than:
                self._free_at(scope, self.clock.now(), reason, cause)

    def _free_at(self, scope: _Scope, when: datetime, trigger: str,
                 cause: LogEvent | None) -> None:
        """Schedule a decision for ``scope``; it replaces any decision scheduled before."""
        scope.token += 1
        self._at(when, "free", telescope=scope.telescope.name, trigger=trigger, cause=cause,
                 token=scope.token)

    # -- the night -----------------------------------------------------------------------

    def run(self) -> uuid.UUID:
        """Run the night to its end; returns the night id (the correlation id)."""
        self._open_night()
        while self._heap and not self._stop.is_set():
            self._drain_health_changes()
            self._poll_alert_folder()
            self._catch_up()
            happening = heapq.heappop(self._heap)
            if happening.when > self.end and happening.kind != "finish":
                continue
            self.clock.advance_to(happening.when)
            getattr(self, f"_on_{happening.kind}")(**happening.data)
        self._drain_health_changes()
        self._catch_up()
        reason = ("interrupted by the observer" if self._stop.is_set()
                  else "end of the simulated span")
        self._record(NightEnded, stream=self.night_id, reason=reason)
        return self.night_id

    def stop(self) -> None:
        """Ask :meth:`run` (in another thread) to end the night after the current step."""
        self._stop.set()

    def _open_night(self) -> None:
        dark = {s.name: tuple(astro.dark_intervals(s.location, self.start, self.end))
                for s in self.network.sites}
        self.plan = NightPlan(self.start, self.end, self.network, dark)
        self.host.notify("openastro_night_started", night=self.plan)
        with self.log.batch(actor=CORE, sim_time=self.start,
                            correlation_id=self.night_id) as batch:
            opened = batch.add(
                NightStarted, stream=self.night_id, network_name=self.network.name,
                network_source=self.network.source, start=self.start, end=self.end,
                seed=self.seed,
                sites={s.name: {"dark": [[b.isoformat(), e.isoformat()] for b, e in dark[s.name]],
                                "telescopes": [t.name for t in s.telescopes]}
                       for s in self.network.sites},
                policy=self.settings.policy,
                plugins=[p.name for p in self.host.plugins()],
                network=self.network.to_dict(), settings=asdict(self.settings),
                plugin_versions=plugin_versions(self.host),
            )
            for r in self.requests:
                batch.add(ObservationRequested, stream=stream_id("request", r.request_id),
                          causation=opened, request_id=r.request_id, program=r.program,
                          kind=r.kind, target=r.target, ra_deg=r.ra_deg, dec_deg=r.dec_deg,
                          filters=list(r.filters), exposure_s=r.exposure_s,
                          priority=r.priority, repeats=r.repeats, not_before=r.not_before,
                          not_after=r.not_after)
            events = list(batch.events)
        self._after_append(events, [r.position for r in batch.recorded])
        for when, payload, source in self.alerts:
            if self.start <= when <= self.end:
                self._at(when, "alert", payload=payload, source=source)
        for name, link in self.sites.items():
            for when, conditions in link.condition_changes():
                if when <= self.end:
                    self._at(max(when, self.start), "conditions", site=name,
                             conditions=conditions)
        for scope in self.scopes.values():
            self._free_at(scope, self.start, "night-start", opened)

    def _on_alert(self, payload: Any, source: str) -> None:
        self._ingest_alert(payload, source)

    def _poll_alert_folder(self) -> None:
        if self.alert_folder is None:
            return
        for path in self.alert_folder.poll():
            self._ingest_alert(path, str(path))

    def _ingest_alert(self, payload: Any, source: str) -> None:
        """Record an alert (or why it was rejected); plugins see it in log order."""
        from control_center.alerts import ingest

        ingest(self.log, payload, network=self.network, sim_time=self.clock.now(),
               source=source)
        self._catch_up()

    def _drain_health_changes(self) -> None:
        while not self._health_changes.empty():
            site, address, old, new, reason = self._health_changes.get()
            event = self._record(SiteHealthChanged, stream=stream_id("site", site),
                                 actor=CORE, site=site, state=new, previous=old, reason=reason,
                                 address=address)
            if new == "offline":
                self.offline.add(site)
                self._wake_idle(None, f"site-lost: {site}", event, elsewhere_than=site)
            elif site in self.offline:
                self.offline.discard(site)
                self._wake_idle(site, "site-back-online", event)

    def _on_conditions(self, site: str, conditions: Conditions) -> None:
        previous = self.conditions.get(site)
        was_open = previous is not None and previous.open
        self.conditions[site] = conditions
        event = self._record(
            SiteConditionsChanged, stream=stream_id("site", site), actor=f"site:{site}",
            site=site, cloud_cover=round(conditions.cloud_cover, 4),
            humidity=round(conditions.humidity, 4), wind_m_s=round(conditions.wind_m_s, 3),
            seeing_arcsec=round(conditions.seeing_arcsec, 3),
            sky_v_mag_arcsec2=round(conditions.sky_v_mag_arcsec2, 3), open=conditions.open,
            reason=conditions.reason,
        )
        if conditions.open and site not in self.offline:
            self._wake_idle(site, "site-opened" if not was_open else "conditions-changed", event)

    def _work_window_now(self, site: str) -> tuple[bool, datetime | None]:
        """Whether ``site`` may work now (dark, or twilight within :data:`TWILIGHT_WORK`
        of it), else when it may next."""
        now = self.clock.now()
        for begin, end in self.plan.dark[site]:
            begin, end = begin - TWILIGHT_WORK, end + TWILIGHT_WORK
            if begin <= now < end:
                return True, None
            if begin > now:
                return False, begin
        return False, None

    def _on_free(self, telescope: str, trigger: str, cause: LogEvent | None = None,
                 token: int = 0) -> None:
        scope = self.scopes[telescope]
        if scope.busy_with is not None or token != scope.token:
            return
        site = scope.site.name
        working, next_window = self._work_window_now(site)
        if not working:
            if next_window is not None:
                self._free_at(scope, next_window, "dusk", cause)
            return
        if site not in self.conditions or site in self.offline:
            return   # woken when the site reports conditions or comes back online
        if self.overrides.paused(site, telescope) is not None:
            return   # woken when an observer resumes it
        decision = self.loop.decide(
            now=self.clock.now(), trigger=trigger, night=self.plan, telescope=scope.state(),
            conditions_by_site=dict(self.conditions), queue=self.queue.pending(),
            busy_targets={n: s.busy_with for n, s in self.scopes.items() if s.busy_with},
            telescopes={n: s.state() for n, s in self.scopes.items()},
            offline_sites=frozenset(self.offline),
            overrides=self.overrides.for_decision(telescope), cause=cause,
            correlation_id=self.night_id,
            assign=lambda candidate, score, batch, chosen: self._assign(
                scope, candidate, score, batch, chosen),
        )
        self._after_append(decision.events, decision.positions)
        self._send_assigned()
        if decision.chosen is None and self.conditions[site].open:
            self._free_at(scope, self.clock.now() + IDLE_RECHECK, "idle-recheck",
                          decision.last_event)

    def _assign(self, scope: _Scope, candidate: Candidate, score: Score | None, batch,
                chosen: LogEvent) -> None:
        """Record the assignment in the decision's batch; the command is sent after commit."""
        now = self.clock.now()
        ra, dec = scope.pointing if scope.pointing else (None, None)
        duration = float(expected_duration_s(scope.telescope, ra, dec, scope.filter,
                                             [candidate.ra_deg], [candidate.dec_deg],
                                             [candidate.filter], [candidate.exposure_s])[0])
        observation_id = str(uuid.uuid5(chosen.event_id, "observation"))
        assigned = batch.add(
            ObservationAssigned, stream=stream_id("observation", observation_id),
            new_stream=True, causation=chosen, observation_id=observation_id, request_id=candidate.request_id,
            site=scope.site.name, telescope=scope.telescope.name, target=candidate.target,
            ra_deg=candidate.ra_deg, dec_deg=candidate.dec_deg, filter=candidate.filter,
            exposure_s=candidate.exposure_s, expected_start=now,
            expected_end=now + timedelta(seconds=duration),
            expected_value=score.value if score else 0.0,
        )
        command = ObservationCommand(
            observation_id=observation_id, request_id=candidate.request_id,
            telescope=scope.telescope.name, ra_deg=candidate.ra_deg, dec_deg=candidate.dec_deg,
            filter=candidate.filter, exposure_s=candidate.exposure_s, target=candidate.target,
            priority=candidate.priority, start=now,
            v_mag=candidate.v_mag if candidate.v_mag is not None
            else self._v_mag.get(candidate.request_id))
        scope.busy_with = candidate.request_id
        scope.busy_until = assigned.expected_end
        self._to_send.append((scope, command, candidate, assigned))
        self._at(assigned.expected_end, "finish", telescope=scope.telescope.name,
                 candidate=candidate, assigned=assigned)

    def _send_assigned(self) -> None:
        """Send the commands of the decision just recorded (the log comes first).

        A site that cannot take its command fails the observation at once and is
        set offline until its link reports it back.
        """
        to_send, self._to_send = self._to_send, []
        for scope, command, candidate, assigned in to_send:
            try:
                self.sites[scope.site.name].submit(command)
            except (RuntimeError, OSError, TimeoutError) as exc:
                self._abandoned.add(command.observation_id)
                self._finish_failed(scope, candidate, assigned, f"site unavailable: {exc}")

    def _on_finish(self, telescope: str, candidate: Candidate, assigned: LogEvent,
                   observation: Any = None) -> None:
        scope = self.scopes[telescope]
        site = scope.site.name
        if assigned.observation_id in self._abandoned:
            return
        if observation is None:
            try:
                observation = self.sites[site].result(assigned.observation_id)
            except (RuntimeError, OSError, TimeoutError) as exc:  # its message says why
                self._finish_failed(scope, candidate, assigned, f"site unavailable: {exc}")
                return
            if observation.end > self.clock.now():   # took longer than planned
                self._at(observation.end, "finish", telescope=telescope, candidate=candidate,
                         assigned=assigned, observation=observation)
                return
        outcome = observation.outcome
        common = {"observation_id": assigned.observation_id, "request_id": candidate.request_id,
                  "site": site, "telescope": telescope, "filter": candidate.filter,
                  "started": observation.start, "ended": observation.end}
        with self.log.batch(actor=f"site:{site}", sim_time=self.clock.now(),
                            correlation_id=self.night_id) as batch:
            raw = getattr(observation, "result", None)
            if raw is not None and getattr(observation, "has_frame", False):
                from control_center.sites.link import frame_analyzed_fields

                batch.add(FrameAnalyzed, stream=assigned.originator_id, causation=assigned,
                          **frame_analyzed_fields(raw))
                batch.add(FramePhotometryMeasured, stream=assigned.originator_id,
                          causation=assigned, **frame_photometry_fields(raw, assigned))
            if outcome.success:
                done = batch.add(ObservationCompleted, stream=assigned.originator_id,
                                 causation=assigned, snr=round(outcome.snr, 2),
                                 seeing_arcsec=round(outcome.seeing_arcsec, 3),
                                 airmass=round(outcome.airmass, 4),
                                 science_value=round(outcome.science_value, 4), **common)
                for found in getattr(observation, "detections", None) or ():
                    fields = transient_detected_fields(
                        found, observation_id=assigned.observation_id, site=site,
                        telescope=telescope, filter=candidate.filter,
                        target_ra_deg=candidate.ra_deg, target_dec_deg=candidate.dec_deg,
                        followup=candidate.kind == "followup")
                    if fields is not None:
                        batch.add(TransientDetected, stream=assigned.originator_id,
                                  causation=done, **fields)
            else:
                batch.add(ObservationFailed, stream=assigned.originator_id, causation=assigned,
                          reason=outcome.reason, **common)
            events = list(batch.events)
        self._after_append(events, [r.position for r in batch.recorded])
        self._free_after(scope, candidate, events[-1])

    def _finish_failed(self, scope: _Scope, candidate: Candidate, assigned: LogEvent,
                       reason: str) -> None:
        """The site could not run or report an observation: record it, try later.

        The telescope is asked again after ``RETRY_AFTER`` (or when its link
        reports the site back online), never in a tight loop.
        """
        event = self._record(
            ObservationFailed, stream=assigned.originator_id, actor=CORE, causation=assigned,
            observation_id=assigned.observation_id, request_id=candidate.request_id,
            site=scope.site.name, telescope=scope.telescope.name, filter=candidate.filter,
            started=assigned.expected_start, ended=self.clock.now(), reason=reason)
        scope.busy_with, scope.busy_until = None, None
        if self.clock.now() < self.end:
            self._free_at(scope, self.clock.now() + RETRY_AFTER, "retry-after-site-failure",
                          event)
            self._wake_idle(None, f"work-released-by: {scope.site.name}", event,
                            elsewhere_than=scope.site.name)

    def _free_after(self, scope: _Scope, candidate: Candidate, event: LogEvent) -> None:
        scope.busy_with, scope.busy_until = None, None
        scope.pointing = (candidate.ra_deg, candidate.dec_deg)
        scope.filter = candidate.filter
        if self.clock.now() < self.end:
            self._free_at(scope, self.clock.now(), "observation-ended", event)


def plugin_versions(host) -> dict[str, str]:
    """Which distribution and version provided each loaded plugin."""
    from control_center import __version__

    return {p.name: f"openastro {__version__}" if p.origin == "built-in" else p.origin
            for p in host.plugins() if p.error is None}
