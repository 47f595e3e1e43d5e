"""Observers' overrides: each appends one event carrying the observer's name.

The terminal UI and ``openastro override`` call these functions; a running
night follows the log, so it honours an override at the next decision it
concerns (and records it with that decision). Every function validates its
arguments against the network or the log first and raises
:class:`OverrideError` with a clear message; nothing is appended then.

Examples
--------
>>> pause(log, network, observer="ana", sim_time=now, site="la-palma",
...       reason="dome inspection")                                   # doctest: +SKIP
"""

from __future__ import annotations

from datetime import datetime

from control_center.eventlog.envelope import LogEvent, stream_id
from control_center.events import AlertReceived, ObservationAssigned, ObservationRequested
from control_center.events.override import (
    AlertAcknowledged,
    AssignmentVetoed,
    ObservationRated,
    PriorityChanged,
    TargetForced,
    TelescopePaused,
    TelescopeResumed,
)
from control_center.network import Network

__all__ = ["RATINGS", "OverrideError", "acknowledge_alert", "force", "pause", "rate", "resume",
           "set_priority", "veto"]

RATINGS = ("good", "bad")
MAX_PRIORITY = 10.0


class OverrideError(ValueError):
    """An override names something that does not exist or a value out of range."""


def pause(log, network: Network, *, observer: str, sim_time: datetime, site: str | None = None,
          telescope: str | None = None, reason: str = "") -> LogEvent:
    """Pause a telescope, or a whole site: no new work until resumed."""
    site, telescope = _scope(network, site, telescope)
    return _record(log, TelescopePaused, observer, sim_time, site=site, telescope=telescope,
                   reason=reason)


def resume(log, network: Network, *, observer: str, sim_time: datetime, site: str | None = None,
           telescope: str | None = None, reason: str = "") -> LogEvent:
    """Resume a paused telescope or site (resuming a site resumes its telescopes)."""
    site, telescope = _scope(network, site, telescope)
    return _record(log, TelescopeResumed, observer, sim_time, site=site, telescope=telescope,
                   reason=reason)


def veto(log, network: Network, *, observer: str, sim_time: datetime, request_id: str,
         telescope: str | None = None, reason: str = "") -> LogEvent:
    """Veto a request on one telescope (or everywhere) for the rest of the night."""
    if telescope is not None:
        _scope(network, None, telescope)
    _require_request(log, request_id)
    return _record(log, AssignmentVetoed, observer, sim_time, request_id=request_id,
                   telescope=telescope or "", reason=reason)


def force(log, network: Network, *, observer: str, sim_time: datetime, telescope: str,
          request_id: str, reason: str = "") -> LogEvent:
    """Force a queued request onto a telescope at its next decision."""
    _scope(network, None, telescope)
    _require_request(log, request_id)
    return _record(log, TargetForced, observer, sim_time, telescope=telescope,
                   request_id=request_id, reason=reason)


def set_priority(log, *, observer: str, sim_time: datetime, request_id: str, priority: float,
                 reason: str = "") -> LogEvent:
    """Change a request's priority (0-10)."""
    if not 0.0 <= float(priority) <= MAX_PRIORITY:
        raise OverrideError(f"priority must be in [0, {MAX_PRIORITY:g}], got {priority}")
    previous = _require_request(log, request_id)
    return _record(log, PriorityChanged, observer, sim_time, request_id=request_id,
                   priority=float(priority), previous=previous, reason=reason)


def rate(log, *, observer: str, sim_time: datetime, observation_id: str, rating: str,
         note: str = "") -> LogEvent:
    """Rate an observation as good or bad science (this feeds model training)."""
    if rating not in RATINGS:
        raise OverrideError(f"rating must be one of {', '.join(RATINGS)}, got {rating!r}")
    if not any(e.event.observation_id == observation_id
               for e in log.read(types=[ObservationAssigned])):
        raise OverrideError(f"no observation {observation_id!r} in {log.url}")
    return _record(log, ObservationRated, observer, sim_time, observation_id=observation_id,
                   rating=rating, note=note)


def acknowledge_alert(log, *, observer: str, sim_time: datetime, alert_id: str,
                      note: str = "") -> LogEvent:
    """Acknowledge an alert."""
    if not any(e.event.alert_id == alert_id for e in log.read(types=[AlertReceived])):
        raise OverrideError(f"no alert {alert_id!r} in {log.url}")
    return _record(log, AlertAcknowledged, observer, sim_time, alert_id=alert_id, note=note)


# -- helpers ---------------------------------------------------------------------------------

def _record(log, event_class, observer: str, sim_time: datetime, **fields) -> LogEvent:
    observer = observer.strip()
    if not observer or any(c.isspace() for c in observer):
        raise OverrideError(f"observer name must be one word, got {observer!r}")
    with log.batch(actor=f"observer:{observer}", sim_time=sim_time) as batch:
        return batch.add(event_class, stream=stream_id("observer", observer),
                         observer=observer, **fields)


def _scope(network: Network, site: str | None, telescope: str | None) -> tuple[str, str]:
    """(site, telescope or "") after checking both exist and belong together."""
    if telescope:
        for s, t in network.telescopes():
            if t.name == telescope:
                if site and site != s.name:
                    raise OverrideError(f"telescope {telescope!r} is at {s.name!r}, "
                                        f"not {site!r}")
                return s.name, telescope
        raise OverrideError(f"no telescope {telescope!r} in network {network.name!r}")
    if not site:
        raise OverrideError("name a site or a telescope")
    if site not in {s.name for s in network.sites}:
        raise OverrideError(f"no site {site!r} in network {network.name!r}")
    return site, ""


def _require_request(log, request_id: str) -> float:
    """The request's current priority; raises if the log has no such request."""
    priority = None
    for recorded in log.read(types=[ObservationRequested, PriorityChanged]):
        event = recorded.event
        if event.request_id == request_id:
            priority = event.priority
    if priority is None:
        raise OverrideError(f"no request {request_id!r} in {log.url}")
    return float(priority)
