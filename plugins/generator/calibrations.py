"""Calibrations when data quality calls for them: flats, darks, focus, pointing, standards.

:class:`CalibrationPlanner` learns each telescope's data quality from the log
(:mod:`plugins.generator.calibration_quality`) and proposes, only for the
telescope that needs it, candidates of kind ``calibration`` with request ids
``calibration:<telescope>:<what>:<n>``:

=============  ===========================================  ============================
what           due when                                     points at
=============  ===========================================  ============================
``dark``       once a night after the site opens; again     the current pointing
               when the camera temperature moved
``standard``   once a night after the site opens; when the  the Landolt field highest
               zero point drifted (in that filter)          in the sky
``focus``      delivered FWHM worse than the seeing says,   the current pointing
               several frames in a row
``pointing``   after many slews, or a large reported        the meridian, 30 deg from
               pointing offset                              the zenith
``flat-<f>``   the telescope is free in twilight (40-5 min  near the zenith
               before dusk, 5-40 min after dawn)
=============  ===========================================  ============================

A due calibration is proposed until it is observed (``ObservationCompleted``)
or has failed ``max_failures`` times (each failure pauses it for ``retry_after``);
``n`` counts the telescope's calibrations
of that kind, so each has its own id.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from control_center.events import (
    FrameAnalyzed,
    ObservationAssigned,
    ObservationCompleted,
    ObservationFailed,
    SiteConditionsChanged,
)
from control_center.network import Network
from control_center.plugin_api import (
    Candidate,
    DecisionContext,
    LogEvent,
    NightPlan,
    hookimpl,
)
from plugins.generator import calibration_targets as where
from plugins.generator.calibration_quality import QualityPolicy, ScopeQuality

__all__ = ["CalibrationPlanner", "CalibrationPolicy"]

PREFIX = "calibration:"
KIND = "calibration"


@dataclass(frozen=True)
class CalibrationPolicy:
    """Priorities and exposures of the calibrations, and the quality thresholds."""

    priority: dict[str, float] = field(default_factory=lambda: {
        "focus": 9.5, "dark": 9.0, "standard": 9.0, "pointing": 8.5, "flat": 9.0})
    exposure_s: dict[str, float] = field(default_factory=lambda: {
        "focus": 15.0, "dark": 60.0, "standard": 20.0, "pointing": 5.0, "flat": 5.0})
    max_failures: int = 3
    retry_after: timedelta = timedelta(minutes=15)
    """A failed calibration is proposed again after this (a closed dome, a cloud)."""
    quality: QualityPolicy = field(default_factory=QualityPolicy)


@dataclass
class _Due:
    """A calibration one telescope needs."""

    request_id: str
    telescope: str
    what: str
    reason: str
    filter: str | None = None
    in_flight: bool = False
    failures: int = 0
    retry_at: datetime | None = None


class CalibrationPlanner:
    """Stateful generator of calibration candidates.

    Parameters
    ----------
    policy : CalibrationPolicy, optional
    """

    def __init__(self, policy: CalibrationPolicy | None = None) -> None:
        self.policy = policy or CalibrationPolicy()
        self.quality: dict[str, ScopeQuality] = {}
        self.pending: dict[tuple[str, str], _Due] = {}
        self.done: dict[str, str] = {}
        """Finished calibrations: request id -> ``observed`` or ``failed``."""
        self._by_request: dict[str, _Due] = {}
        self._counter: dict[tuple[str, str], int] = {}
        self._tonight: dict[str, set[str]] = {}
        self._network: Network | None = None
        self._conditions: dict[str, SiteConditionsChanged] = {}
        self._frames: dict[str, dict] = {}
        self._lock = threading.Lock()

    # -- set-up ---------------------------------------------------------------------------

    @hookimpl
    def openastro_configure(self, network: Network) -> None:
        self._network = network

    @hookimpl
    def openastro_night_started(self, night: NightPlan) -> None:
        with self._lock:
            self._network = self._network or night.network
            self._tonight.clear()
            self._frames.clear()
            for due in list(self.pending.values()):
                if due.what in ("dark", "standard") or due.what.startswith("flat"):
                    self._close(due, "expired")

    def _scope(self, telescope: str) -> ScopeQuality:
        q = self.quality.get(telescope)
        if q is None:
            q = self.quality[telescope] = ScopeQuality(self.policy.quality)
        return q

    # -- learning ---------------------------------------------------------------------------

    @hookimpl
    def openastro_event(self, event: LogEvent) -> None:
        with self._lock:
            if isinstance(event, SiteConditionsChanged):
                self._conditions[event.site] = event
            elif isinstance(event, FrameAnalyzed):
                self._frame(event)
            elif isinstance(event, ObservationAssigned):
                self._scope(event.telescope).slewed_to(event.ra_deg, event.dec_deg)
                due = self._by_request.get(event.request_id)
                if due is not None:
                    due.in_flight = True
            elif isinstance(event, ObservationCompleted):
                measures = self._frames.pop(event.observation_id, {})
                due = self._ours(event.request_id)
                if due is not None:
                    self._calibrated(due, filter=event.filter)
                elif not event.request_id.startswith(PREFIX):
                    self._measure(event, measures)
            elif isinstance(event, ObservationFailed):
                self._frames.pop(event.observation_id, None)
                due = self._by_request.get(event.request_id)
                if due is not None:
                    due.in_flight = False
                    due.failures += 1
                    due.retry_at = event.sim_time + self.policy.retry_after
                    if due.failures >= self.policy.max_failures:
                        self._calibrated(due, how="failed")

    def _frame(self, event: FrameAnalyzed) -> None:
        measures = dict(event.measures or {})
        self._frames[event.observation_id] = measures
        q = self._scope(event.telescope)
        if measures.get("camera_temperature_c") is not None:
            q.temperature_c = float(measures["camera_temperature_c"])
            if q.dark_temperature_c is None:
                q.dark_temperature_c = q.temperature_c
        if measures.get("pointing_offset_arcsec") is not None:
            q.pointing_offset_arcsec = float(measures["pointing_offset_arcsec"])

    def _measure(self, event: ObservationCompleted, measures: dict) -> None:
        """Seeing and zero point of a science frame against what the site reports."""
        from simulator.bands import BANDS
        from simulator.outcome import delivered_seeing

        q = self._scope(event.telescope)
        site_now = self._conditions.get(event.site)
        found = self._site_and_scope(event.site, event.telescope)
        if site_now is None or found is None or event.filter not in BANDS:
            return
        site, scope = found
        measured = measures.get("fwhm_arcsec")
        fwhm = measured or event.seeing_arcsec
        if fwhm:
            expected = float(delivered_seeing(
                site_now.seeing_arcsec, min(event.airmass, 10.0), event.filter,
                vibration_arcsec=site.effects.vibration_arcsec, wind_m_s=site_now.wind_m_s,
                pixel_scale_arcsec=scope.pixel_scale_arcsec))
            q.seeing(float(fwhm), expected, measured=bool(measured))
        zp = measures.get("zero_point")
        if zp is not None:
            top = float(zp) + BANDS[event.filter].extinction * event.airmass
            q.zero_point(event.filter, top,
                         site_now.cloud_cover <= self.policy.quality.photometric_max_cloud)

    def _site_and_scope(self, site_name: str, telescope: str):
        if self._network is None:
            return None
        for site, scope in self._network.telescopes():
            if site.name == site_name and scope.name == telescope:
                return site, scope
        return None

    def _ours(self, request_id: str) -> _Due | None:
        """The calibration a request id names: pending, or parsed from the id (one
        proposed before this planner was started)."""
        due = self._by_request.get(request_id)
        if due is not None or not request_id.startswith(PREFIX):
            return due
        parts = request_id[len(PREFIX):].rsplit(":", 2)
        if len(parts) != 3 or not parts[2].isdigit():
            return None
        return _Due(request_id, parts[0], parts[1], "proposed earlier")

    def _calibrated(self, due: _Due, how: str = "observed", filter: str | None = None) -> None:
        q = self._scope(due.telescope)
        if due.what == "focus":
            q.focused()
        elif due.what == "standard":
            q.standardised(filter if how == "observed" else None)
        elif due.what == "pointing":
            q.pointing_checked()
        elif due.what == "dark":
            q.dark_taken()
        self._tonight.setdefault(due.telescope, set()).add(due.what)
        self._close(due, how)

    def _close(self, due: _Due, how: str) -> None:
        key = (due.telescope, due.what)
        pending = self.pending.pop(key, None)
        if pending is not None:
            self._by_request.pop(pending.request_id, None)
        n = int(due.request_id.rsplit(":", 1)[1])
        self._counter[key] = max(self._counter.get(key, 0), n + 1)
        self.done[due.request_id] = how

    # -- proposing --------------------------------------------------------------------------

    def due(self, context: DecisionContext) -> list[_Due]:
        """The calibrations ``context.telescope`` needs now (created as they become due)."""
        scope = context.telescope.telescope
        name = scope.name
        q = self._scope(name)
        tonight = self._tonight.get(name, set())
        wanted: list[tuple[str, str, str | None]] = []
        if "dark" not in tonight:
            wanted.append(("dark", "once a night after opening", None))
        elif q.temperature_changed:
            why = (f"camera temperature now {q.temperature_c:.1f} C, "
                   f"{q.dark_temperature_c:.1f} C at the last dark")
            wanted.append(("dark", why, None))
        drifted = q.drifted_filters
        if drifted:
            wanted.append(("standard", f"zero point drifted in {drifted[0]}", drifted[0]))
        elif "standard" not in tonight:
            wanted.append(("standard", "once a night after opening", None))
        if q.focus_due:
            why = (f"FWHM worse than the seeing in {self.policy.quality.focus_frames} "
                   f"frames in a row")
            wanted.append(("focus", why, None))
        if q.pointing_due:
            wanted.append(("pointing", f"{q.slews} slews since the last check", None))
        if where.twilight(context) is not None:
            wanted += [(f"flat-{f}", "free in twilight", f) for f in scope.filters
                       if f"flat-{f}" not in tonight]
        out = []
        for what, reason, filter_name in wanted:
            due = self.pending.get((name, what))
            if due is None:
                n = self._counter.get((name, what), 0)
                due = _Due(f"{PREFIX}{name}:{what}:{n}", name, what, reason, filter_name)
                self.pending[(name, what)] = due
                self._by_request[due.request_id] = due
            out.append(due)
        return out

    @hookimpl
    def openastro_propose(self, context: DecisionContext) -> list[Candidate]:
        if not context.conditions.open:
            return []
        with self._lock:
            ready = [d for d in self.due(context) if not d.in_flight
                     and (d.retry_at is None or context.now >= d.retry_at)]
            return [c for c in (self._candidate(d, context) for d in ready) if c is not None]

    def _candidate(self, due: _Due, context: DecisionContext) -> Candidate | None:
        state = context.telescope
        scope = state.telescope
        kind = "flat" if due.what.startswith("flat") else due.what
        current = state.filter if state.filter in scope.filters else scope.filters[0]
        filter_name = due.filter if due.filter in scope.filters else current
        if kind == "standard":
            field_ = where.standard_field(context)
            if field_ is None:
                return None
            target, ra, dec = field_.name, field_.ra_deg, field_.dec_deg
        elif kind in ("dark", "focus"):
            ra, dec, label = where.current_or_zenith(context)
            target = f"{kind} at {label}"
        elif kind == "pointing":
            ra, dec = where.meridian_field(context)
            target = "pointing check on the meridian"
        else:
            ra, dec = where.zenith(context)
            target = f"twilight flat in {filter_name}"
        return Candidate(request_id=due.request_id, target=target, ra_deg=float(ra),
                         dec_deg=float(dec), filter=filter_name,
                         exposure_s=self.policy.exposure_s[kind], program="calibration",
                         kind=KIND, priority=self.policy.priority[kind],
                         proposed_by="calibrations")

    def reason(self, request_id: str) -> str | None:
        """Why a pending calibration is due (None when not pending)."""
        due = self._by_request.get(request_id)
        return None if due is None else due.reason
