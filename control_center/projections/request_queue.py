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
        self._built: dict[str, QueuedRequest] = {}
        """Each request as last built; dropped when an event changes it."""
        self._pending: list[QueuedRequest] | None = None

    def apply_event(self, event) -> None:
        if isinstance(event, ObservationRequested):
            self._requests[event.request_id] = {
                "request_id": event.request_id, "program": event.program, "kind": event.kind,
                "target": event.target, "ra_deg": event.ra_deg, "dec_deg": event.dec_deg,
                "filters": list(event.filters), "exposure_s": event.exposure_s,
                "priority": event.priority, "repeats": event.repeats, "completed_by_filter": {},
                "failures": 0, "not_before": _iso(event.not_before),
                "not_after": _iso(event.not_after),
            }
            self._changed(event.request_id)
            return
        request = self._requests.get(getattr(event, "request_id", None))
        if request is None:
            return
        if isinstance(event, ObservationCompleted):
            done = request["completed_by_filter"]
            done[event.filter] = done.get(event.filter, 0) + 1
        elif isinstance(event, ObservationFailed):
            request["failures"] += 1
        elif isinstance(event, PriorityChanged):
            request["priority"] = event.priority
        else:
            return
        self._changed(event.request_id)

    def _changed(self, request_id: str) -> None:
        self._built.pop(request_id, None)
        self._pending = None

    def pending(self) -> list[QueuedRequest]:
        """Requests that still want exposures, in submission order."""
        if self._pending is None:
            out = []
            for request_id, r in self._requests.items():
                built = self._built.get(request_id)
                if built is None:
                    built = self._built[request_id] = QueuedRequest(**{
                        **r, "filters": tuple(r["filters"]),
                        "completed_by_filter": dict(r["completed_by_filter"]),
                        "not_before": _time(r["not_before"]), "not_after": _time(r["not_after"])})
                if not built.done:
                    out.append(built)
            self._pending = out
        return list(self._pending)

    def to_state(self) -> dict:
        return {"requests": self._requests}

    def load_state(self, state: dict) -> None:
        self._requests = state["requests"]
        self._built, self._pending = {}, None


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


def _time(iso: str | None) -> datetime | None:
    return None if iso is None else datetime.fromisoformat(iso)
