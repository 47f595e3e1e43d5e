"""The ``coordination`` plugin: what the sites of the network do together.

- Simultaneous observations (:mod:`plugins.coordination.simultaneous`).
- Relay coverage and the monitoring cadence (:mod:`plugins.coordination.relay`).
- Confirmation of detections at other sites is the follow-up generator's job;
  division of labour between sites lives in the value formula
  (:mod:`plugins.value_formula.labour`).

Everything the plugin remembers is learnt from the log (``openastro_event``):
which telescope started which request when, and each monitoring request's last
successful exposure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from control_center.events import ObservationAssigned, ObservationCompleted, ObservationFailed
from control_center.plugin_api import (
    Candidate,
    DecisionContext,
    LogEvent,
    NightPlan,
    Rejection,
    hookimpl,
)
from plugins.coordination.relay import LastExposure, cadence_rejections, relay_proposals
from plugins.coordination.simultaneous import partner_proposals

__all__ = ["RELAY_PROGRAMS", "SIMULTANEOUS_PROGRAMS", "Coordination"]

SIMULTANEOUS_PROGRAMS = ("campaign",)
"""Programmes of the demo book that want two or more sites at once."""
RELAY_PROGRAMS = ("monitoring",)
"""Programmes of the demo book monitored all night, relayed from site to site."""


class Coordination:
    """Multi-site coordination: simultaneous partners, relay hand-overs, monitoring cadence.

    Parameters
    ----------
    simultaneous_programs : sequence of str
        Requests of these programmes want several sites at once.
    relay_programs : sequence of str
        Requests of these programmes are monitored at ``cadence_s`` and relayed.
    partner_boost : float
        Priority added to a partner observation (capped at 10).
    relay_boost : float
        Priority added to a monitoring request at the site taking it over.
    cadence_s : float
        Shortest interval between two exposures of a monitoring request.
    handoff_horizon_s : float
        A site can continue a monitoring request when the target stays above its
        floor (and the site stays dark) this long.
    """

    def __init__(self, simultaneous_programs: Sequence[str] = SIMULTANEOUS_PROGRAMS,
                 relay_programs: Sequence[str] = RELAY_PROGRAMS, *, partner_boost: float = 3.0,
                 relay_boost: float = 2.0, cadence_s: float = 1200.0,
                 handoff_horizon_s: float = 3600.0) -> None:
        if isinstance(simultaneous_programs, str) or isinstance(relay_programs, str):
            raise TypeError("programmes are given as a sequence of names, not a string")
        if cadence_s < 0 or handoff_horizon_s <= 0:
            raise ValueError(f"cadence_s must be >= 0 and handoff_horizon_s > 0, got "
                             f"{cadence_s} and {handoff_horizon_s}")
        self.simultaneous_programs = frozenset(simultaneous_programs)
        self.relay_programs = frozenset(relay_programs)
        self.partner_boost = partner_boost
        self.relay_boost = relay_boost
        self.cadence = timedelta(seconds=cadence_s)
        self.horizon = timedelta(seconds=handoff_horizon_s)
        self._started: dict[str, datetime] = {}
        """Request id -> expected start of its latest assignment (primaries and partners)."""
        self._filter_of: dict[str, str] = {}
        """Telescope -> filter of the observation it is running."""
        self._last: dict[str, LastExposure] = {}

    @hookimpl
    def openastro_night_started(self, night: NightPlan) -> None:
        self._started.clear()
        self._filter_of.clear()
        self._last.clear()

    @hookimpl
    def openastro_event(self, event: LogEvent) -> None:
        if isinstance(event, ObservationAssigned):
            self._started[event.request_id] = event.expected_start
            self._filter_of[event.telescope] = event.filter
        elif isinstance(event, ObservationCompleted):
            self._filter_of.pop(event.telescope, None)
            if _is_primary(event.request_id):
                self._last[event.request_id] = LastExposure(event.site, event.telescope,
                                                            event.started)
        elif isinstance(event, ObservationFailed):
            self._filter_of.pop(event.telescope, None)

    @hookimpl
    def openastro_propose(self, context: DecisionContext) -> list[Candidate]:
        if not context.conditions.open or context.telescope.site.name in context.offline_sites:
            return []
        out = partner_proposals(context, self.simultaneous_programs, self.partner_boost,
                                self._started, self._started, self._filter_of)
        if self.relay_programs and self._last:
            out += relay_proposals(context, self.relay_programs, self.relay_boost,
                                   self._last, self.horizon)
        return out

    @hookimpl
    def openastro_filter(self, context: DecisionContext,
                         candidates: Sequence[Candidate]) -> list[Rejection]:
        if not self._last or not self.relay_programs:
            return []
        return cadence_rejections(context, candidates, self.relay_programs, self._last,
                                  self.cadence)


def _is_primary(request_id: str) -> bool:
    """Not a partner observation (``<request>@<site>``)."""
    return "@" not in request_id
