"""The request queue: what is still wanted, folded from the log."""

from __future__ import annotations

from datetime import datetime

from control_center.events import (
    ObservationCompleted,
    ObservationFailed,
    ObservationRequested,
    PriorityChanged,
)
from control_center.plugin_api.types import QueuedRequest
from control_center.projections.base import Projection


class RequestQueue(Projection):
    """Pending observation requests and how many exposures each filter still needs."""

    name = "request-queue"
    version = 3
    handles = (ObservationRequested, ObservationCompleted, ObservationFailed, PriorityChanged)

    def __init__(self) -> None:
        self._requests: dict[str, dict] = {}
        self._pending: list[QueuedRequest] | None = None

    def apply_event(self, event) -> None:
        if isinstance(event, ObservationRequested):
            self._pending = None
            self._requests[event.request_id] = {
                "request_id": event.request_id, "program": event.program, "kind": event.kind,
                "target": event.target, "ra_deg": event.ra_deg, "dec_deg": event.dec_deg,
                "filters": list(event.filters), "exposure_s": event.exposure_s,
                "priority": event.priority, "repeats": event.repeats, "completed_by_filter": {},
                "failures": 0, "not_before": _iso(event.not_before),
                "not_after": _iso(event.not_after),
            }
        elif isinstance(event, ObservationCompleted):
            request = self._requests.get(event.request_id)
            if request is not None:
                self._pending = None
                done = request["completed_by_filter"]
                done[event.filter] = done.get(event.filter, 0) + 1
        elif isinstance(event, ObservationFailed):
            request = self._requests.get(event.request_id)
            if request is not None:
                self._pending = None
                request["failures"] += 1
        elif isinstance(event, PriorityChanged):
            request = self._requests.get(event.request_id)
            if request is not None:
                self._pending = None
                request["priority"] = event.priority

    def pending(self) -> list[QueuedRequest]:
        """Requests that still want exposures, in submission order."""
        if self._pending is None:
            requests = (QueuedRequest(**{**r, "filters": tuple(r["filters"]),
                                         "completed_by_filter": dict(r["completed_by_filter"]),
                                         "not_before": _time(r["not_before"]),
                                         "not_after": _time(r["not_after"])})
                        for r in self._requests.values())
            self._pending = [r for r in requests if not r.done]
        return list(self._pending)

    def to_state(self) -> dict:
        return {"requests": self._requests}

    def load_state(self, state: dict) -> None:
        self._requests = state["requests"]
        self._pending = None


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


def _time(iso: str | None) -> datetime | None:
    return None if iso is None else datetime.fromisoformat(iso)
