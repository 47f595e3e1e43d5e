"""The ``lightcurves`` plugin: what the photometry chain's findings ask the network to do.

=====================================  =============================================
event                                  proposed (request id)
=====================================  =============================================
``CalibrationDriftDetected``           a standard field (Landolt, highest in the sky)
                                       in the drifting band, for the site's
                                       telescopes with that filter:
                                       ``lightcurve-cal:<site>:<band>:<n>``
``LightCurveAlert`` ``new-transient``  the target again, preferably from another site
                                       (confirmation), ``repeats`` times:
                                       ``lightcurve-fu:<target>:<band>:new-transient:<n>``
``LightCurveAlert`` ``variability``    the target, ``repeats`` times at least
                                       ``spacing`` apart (time series):
                                       ``lightcurve-fu:<target>:<band>:variability:<n>``
=====================================  =============================================

A proposal stays until observed (``ObservationCompleted``) as often as asked,
fails ``max_failures`` times (each failure pauses it for ``retry_after``) or
its window closes; the drift and the alert also trigger a decision so an idle
telescope can take the work at once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from control_center.events import ObservationAssigned, ObservationCompleted, ObservationFailed
from control_center.events.photometry import CalibrationDriftDetected, LightCurveAlert
from control_center.plugin_api import Candidate, DecisionContext, LogEvent, NightPlan, hookimpl
from simulator.catalogue import standard_fields
from simulator.horizon import HorizonFrame

__all__ = ["LightCurvePolicy", "LightCurveWork"]

CAL_PREFIX = "lightcurve-cal:"
FU_PREFIX = "lightcurve-fu:"


@dataclass(frozen=True)
class LightCurvePolicy:
    """Priorities, exposures, repeats and windows of the proposals."""

    calibration_priority: float = 9.0
    calibration_exposure_s: float = 30.0
    transient_priority: float = 8.5
    variability_priority: float = 6.5
    followup_exposure_s: float = 120.0
    repeats: dict[str, int] = field(default_factory=lambda: {"new-transient": 2,
                                                             "variability": 3})
    spacing: timedelta = timedelta(minutes=30)
    window: timedelta = timedelta(hours=12)
    max_failures: int = 3
    retry_after: timedelta = timedelta(minutes=15)
    min_margin_deg: float = 10.0


@dataclass
class _Work:
    request_id: str
    kind: str              # calibration, new-transient, variability
    band: str
    target: str
    ra_deg: float | None
    dec_deg: float | None
    site: str | None       # calibration: only this site
    avoid_site: str | None
    until: datetime
    repeats: int = 1
    done: int = 0
    failures: int = 0
    in_flight: bool = False
    retry_at: datetime | None = None
    last_done: datetime | None = None
    reason: str = ""


class LightCurveWork:
    """Stateful generator of calibration and follow-up candidates from light curves.

    Parameters
    ----------
    policy : LightCurvePolicy, optional
    """

    def __init__(self, policy: LightCurvePolicy | None = None) -> None:
        self.policy = policy or LightCurvePolicy()
        self.pending: dict[str, _Work] = {}
        self.done: dict[str, str] = {}
        """Finished proposals: request id -> ``observed``, ``failed`` or ``expired``."""
        self._counter: dict[str, int] = {}
        self._triggers: dict[object, str] = {}
        self._standards = standard_fields()
        self._lock = threading.Lock()

    @hookimpl
    def openastro_night_started(self, night: NightPlan) -> None:
        with self._lock:
            for request_id, work in list(self.pending.items()):
                if work.until <= night.start:
                    self._finish(request_id, "expired")

    # -- learning -------------------------------------------------------------------------

    @hookimpl
    def openastro_event(self, event: LogEvent) -> None:
        with self._lock:
            if isinstance(event, CalibrationDriftDetected):
                self._drift(event)
            elif isinstance(event, LightCurveAlert):
                self._alert(event)
            else:
                self._progress(event)

    def _next_id(self, stem: str) -> str:
        n = self._counter.get(stem, 0) + 1
        self._counter[stem] = n
        return f"{stem}:{n}"

    def _drift(self, event: CalibrationDriftDetected) -> None:
        stem = f"{CAL_PREFIX}{event.site}:{event.band}"
        if any(w.request_id.startswith(stem + ":") for w in self.pending.values()):
            return
        work = _Work(self._next_id(stem), "calibration", event.band, "standard", None, None,
                     event.site, None, event.sim_time + self.policy.window,
                     reason=f"calibration drift at {event.site} in {event.band}: "
                            f"{event.reason}")
        self.pending[work.request_id] = work
        self._triggers[event.event_id] = work.reason

    def _alert(self, event: LightCurveAlert) -> None:
        if event.ra_deg != event.ra_deg or event.dec_deg != event.dec_deg:   # NaN: nowhere
            return
        stem = f"{FU_PREFIX}{event.target}:{event.band}:{event.kind}"
        if any(w.request_id.startswith(stem + ":") for w in self.pending.values()):
            return
        sites = list(event.sites or [])
        work = _Work(self._next_id(stem), event.kind, event.band, event.target, event.ra_deg,
                     event.dec_deg, None,
                     sites[0] if event.kind == "new-transient" and len(sites) == 1 else None,
                     event.sim_time + self.policy.window,
                     repeats=self.policy.repeats.get(event.kind, 1),
                     reason=f"{event.kind} of {event.target} in {event.band}: {event.reason}")
        self.pending[work.request_id] = work
        if event.kind == "new-transient":
            self._triggers[event.event_id] = work.reason

    def _progress(self, event: LogEvent) -> None:
        work = self.pending.get(getattr(event, "request_id", ""))
        if work is None:
            return
        if isinstance(event, ObservationAssigned):
            work.in_flight = True
        elif isinstance(event, ObservationCompleted):
            work.in_flight = False
            work.done += 1
            work.last_done = event.sim_time
            if work.done >= work.repeats:
                self._finish(work.request_id, "observed")
        elif isinstance(event, ObservationFailed):
            work.in_flight = False
            work.failures += 1
            work.retry_at = event.sim_time + self.policy.retry_after
            if work.failures >= self.policy.max_failures:
                self._finish(work.request_id, "failed")

    def _finish(self, request_id: str, how: str) -> None:
        self.pending.pop(request_id, None)
        self.done[request_id] = how

    # -- triggering and proposing -----------------------------------------------------------

    @hookimpl
    def openastro_trigger(self, event: LogEvent) -> str | None:
        if not isinstance(event, CalibrationDriftDetected | LightCurveAlert):
            return None
        with self._lock:
            return self._triggers.pop(event.event_id, None)

    @hookimpl
    def openastro_propose(self, context: DecisionContext) -> list[Candidate]:
        scope = context.telescope
        out = []
        with self._lock:
            for request_id, work in list(self.pending.items()):
                if context.now >= work.until:
                    self._finish(request_id, "expired")
                    continue
                if work.in_flight or (work.retry_at is not None and context.now < work.retry_at):
                    continue
                if work.band not in scope.telescope.filters:
                    continue
                if work.last_done is not None and context.now < work.last_done + \
                        self.policy.spacing:
                    continue
                candidate = self._candidate(context, work)
                if candidate is not None:
                    out.append(candidate)
        return out

    def _candidate(self, context: DecisionContext, work: _Work) -> Candidate | None:
        p = self.policy
        site = context.telescope.site.name
        if work.kind == "calibration":
            if site != work.site:
                return None
            where = self._standard(context)
            if where is None:
                return None
            return Candidate(work.request_id, where[0], where[1], where[2], work.band,
                             p.calibration_exposure_s, "calibration", "calibration",
                             p.calibration_priority, proposed_by="lightcurves",
                             not_after=work.until)
        priority = p.transient_priority if work.kind == "new-transient" else p.variability_priority
        if work.avoid_site is not None and site == work.avoid_site and work.done == 0:
            priority -= 1.0    # a confirmation from another site is worth more
        return Candidate(work.request_id, work.target, float(work.ra_deg), float(work.dec_deg),
                         work.band, p.followup_exposure_s, "followup", "followup", priority,
                         proposed_by="lightcurves", not_after=work.until)

    def _standard(self, context: DecisionContext) -> tuple[str, float, float] | None:
        site = context.telescope.site
        frame = HorizonFrame(site.latitude_deg, site.longitude_deg, context.now)
        alt, _ = frame.altaz_many([t.ra_deg for t in self._standards],
                                  [t.dec_deg for t in self._standards], context.now)
        best = int(alt.argmax())
        if alt[best] < context.telescope.telescope.min_altitude_deg + self.policy.min_margin_deg:
            return None
        t = self._standards[best]
        return t.name, t.ra_deg, t.dec_deg
