"""The Queue view's fold: the night's requests, their priority and progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from control_center.events import (
    ObservationAssigned,
    ObservationCompleted,
    ObservationFailed,
    ObservationRequested,
)
from control_center.events.override import AssignmentVetoed, PriorityChanged, TargetForced
from control_center.ui.model.views import RequestRow

__all__ = ["QueueFold"]


@dataclass
class _Request:
    event: ObservationRequested
    position: int
    priority: float
    done_by_filter: dict[str, int] = field(default_factory=dict)
    failures: int = 0
    observing_on: dict[str, str] = field(default_factory=dict)
    """observation id -> telescope, for observations under way."""
    vetoed: set[str] = field(default_factory=set)
    """Telescopes an observer vetoed it on ("" : everywhere)."""
    forced_on: str = ""


class QueueFold:
    """Requests of the night in submission order; :meth:`rows` sorts them for display."""

    handles = (ObservationRequested, ObservationAssigned, ObservationCompleted,
               ObservationFailed, PriorityChanged, AssignmentVetoed, TargetForced)

    def __init__(self) -> None:
        self.version = 0
        self._requests: dict[str, _Request] = {}
        self._rows: tuple[RequestRow, ...] | None = None

    def apply(self, event: Any, position: int) -> None:
        if isinstance(event, ObservationRequested):
            self._requests[event.request_id] = _Request(event, position, float(event.priority))
        else:
            request = self._requests.get(event.request_id)
            if request is None:
                return   # generated work (survey, calibrations...) not in the queue
            if isinstance(event, PriorityChanged):
                request.priority = float(event.priority)
            elif isinstance(event, AssignmentVetoed):
                request.vetoed.add(event.telescope)
            elif isinstance(event, TargetForced):
                request.forced_on = event.telescope
            elif isinstance(event, ObservationAssigned):
                request.observing_on[event.observation_id] = event.telescope
                if request.forced_on == event.telescope:
                    request.forced_on = ""
            else:
                request.observing_on.pop(event.observation_id, None)
                if isinstance(event, ObservationCompleted):
                    done = request.done_by_filter
                    done[event.filter] = done.get(event.filter, 0) + 1
                else:
                    request.failures += 1
        self.version += 1
        self._rows = None

    def wanted_positions(self) -> list[tuple[str, float, float]]:
        """``(request_id, ra, dec)`` of the requests not done yet."""
        out = []
        for r in self._requests.values():
            e = r.event
            done = sum(min(e.repeats, r.done_by_filter.get(f, 0)) for f in e.filters)
            if done < e.repeats * len(e.filters) and "" not in r.vetoed:
                out.append((e.request_id, float(e.ra_deg), float(e.dec_deg)))
        return out

    def wanted_requests(self) -> list[tuple]:
        """``(request_id, ra, dec, not_before, not_after)`` of the requests not done yet
        (nor vetoed everywhere)."""
        out = []
        for r in self._requests.values():
            e = r.event
            done = sum(min(e.repeats, r.done_by_filter.get(f, 0)) for f in e.filters)
            if done < e.repeats * len(e.filters) and "" not in r.vetoed:
                out.append((e.request_id, float(e.ra_deg), float(e.dec_deg), e.not_before,
                            e.not_after))
        return out

    def clear(self) -> None:
        self._requests.clear()
        self._rows = None
        self.version += 1

    def rows(self) -> tuple[RequestRow, ...]:
        """Requests under way first, then pending by priority, then done."""
        if self._rows is None:
            rows = [_row(r) for r in self._requests.values()]
            order = {"observing": 0, "pending": 1, "done": 2}
            rows.sort(key=lambda r: (order[r.state], -r.priority, r.position))
            self._rows = tuple(rows)
        return self._rows


def _row(r: _Request) -> RequestRow:
    e = r.event
    filters = tuple(e.filters)
    done = sum(min(e.repeats, r.done_by_filter.get(f, 0)) for f in filters)
    wanted = e.repeats * len(filters)
    state = "observing" if r.observing_on else ("done" if done >= wanted else "pending")
    return RequestRow(request_id=e.request_id, program=e.program, kind=e.kind, target=e.target,
                      priority=r.priority, filters=filters, done=done, wanted=wanted,
                      failures=r.failures, state=state,
                      observing_on=", ".join(sorted(set(r.observing_on.values()))),
                      position=r.position,
                      vetoed="everywhere" if "" in r.vetoed else ", ".join(sorted(r.vetoed)),
                      forced_on=r.forced_on)
