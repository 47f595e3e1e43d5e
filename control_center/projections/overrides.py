"""The overrides in force, folded from the log."""

from __future__ import annotations

from control_center.events import ObservationAssigned
from control_center.events.override import (
    AssignmentVetoed,
    PriorityChanged,
    TargetForced,
    TelescopePaused,
    TelescopeResumed,
)
from control_center.projections.base import Projection


class OverridesInForce(Projection):
    """Pauses, vetoes, forced targets and priority changes observers made.

    A forced target stays in force until the telescope is assigned that request
    (or another target is forced on it); vetoes and priority changes last.
    """

    name = "overrides-in-force"
    version = 1
    handles = (TelescopePaused, TelescopeResumed, AssignmentVetoed, TargetForced,
               PriorityChanged, ObservationAssigned)

    def __init__(self) -> None:
        self._paused: dict[str, dict] = {}      # "site" or "site/telescope" -> override
        self._vetoes: list[dict] = []
        self._forced: dict[str, dict] = {}      # telescope -> override
        self._priorities: dict[str, dict] = {}  # request id -> override

    def apply_event(self, event) -> None:
        if isinstance(event, TelescopePaused):
            self._paused[_scope_key(event.site, event.telescope)] = {
                "override": "pause", "site": event.site, "telescope": event.telescope,
                "observer": event.observer, "reason": event.reason}
        elif isinstance(event, TelescopeResumed):
            self._paused.pop(_scope_key(event.site, event.telescope), None)
            if not event.telescope:   # resuming a site resumes its telescopes too
                for key in [k for k in self._paused if k.startswith(event.site + "/")]:
                    del self._paused[key]
        elif isinstance(event, AssignmentVetoed):
            self._vetoes.append({"override": "veto", "request_id": event.request_id,
                                 "telescope": event.telescope, "observer": event.observer,
                                 "reason": event.reason})
        elif isinstance(event, TargetForced):
            self._forced[event.telescope] = {
                "override": "force", "telescope": event.telescope,
                "request_id": event.request_id, "observer": event.observer,
                "reason": event.reason}
        elif isinstance(event, PriorityChanged):
            self._priorities[event.request_id] = {
                "override": "priority", "request_id": event.request_id,
                "priority": event.priority, "previous": event.previous,
                "observer": event.observer, "reason": event.reason}
        elif isinstance(event, ObservationAssigned):
            forced = self._forced.get(event.telescope)
            if forced is not None and forced["request_id"] == event.request_id:
                del self._forced[event.telescope]

    def paused(self, site: str, telescope: str) -> dict | None:
        """The pause keeping ``telescope`` (at ``site``) idle, or None."""
        return self._paused.get(_scope_key(site, telescope)) or self._paused.get(site)

    def for_decision(self, telescope: str) -> list[dict]:
        """The overrides a decision for ``telescope`` must honour and record."""
        out = [v for v in self._vetoes if v["telescope"] in ("", telescope)]
        if telescope in self._forced:
            out.append(self._forced[telescope])
        out += self._priorities.values()
        return [dict(o) for o in out]

    def to_state(self) -> dict:
        return {"paused": self._paused, "vetoes": self._vetoes, "forced": self._forced,
                "priorities": self._priorities}

    def load_state(self, state: dict) -> None:
        self._paused, self._vetoes = state["paused"], state["vetoes"]
        self._forced, self._priorities = state["forced"], state["priorities"]


def _scope_key(site: str, telescope: str) -> str:
    return f"{site}/{telescope}" if telescope else site
