"""Events of observers' overrides: each records who (``observer``) and why.

Their actor is ``observer:<name>``; the decision loop honours each at the next
decision it concerns, and records the overrides in force with the decision.
"""

from __future__ import annotations

from control_center.eventlog.envelope import LogEvent


class TelescopePaused(LogEvent):
    """An observer paused a telescope (``telescope``) or a whole site (``telescope`` empty).

    A paused telescope gets no new work; what it is doing finishes.
    """

    site: str
    telescope: str
    observer: str
    reason: str


class TelescopeResumed(LogEvent):
    """An observer resumed a telescope or a whole site (``telescope`` empty)."""

    site: str
    telescope: str
    observer: str
    reason: str


class AssignmentVetoed(LogEvent):
    """An observer vetoed a request on one telescope (or everywhere: ``telescope`` empty)
    for the rest of the night."""

    request_id: str
    telescope: str
    observer: str
    reason: str


class TargetForced(LogEvent):
    """An observer forced a queued request onto a telescope: its next decision takes it
    if no hard constraint forbids it (then the rejection says why, and the force stays
    until it can be honoured or is replaced)."""

    telescope: str
    request_id: str
    observer: str
    reason: str


class PriorityChanged(LogEvent):
    """An observer changed a request's priority."""

    request_id: str
    priority: float
    previous: float
    observer: str
    reason: str


class ObservationRated(LogEvent):
    """An observer rated an observation as good or bad science (training data)."""

    observation_id: str
    rating: str
    observer: str
    note: str


class AlertAcknowledged(LogEvent):
    """An observer acknowledged an alert."""

    alert_id: str
    observer: str
    note: str
