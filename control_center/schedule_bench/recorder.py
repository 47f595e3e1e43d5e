"""An in-process plugin that remembers every candidate a night offered.

The hindsight bound may schedule anything the night made available: the
programme book, and every candidate the generators proposed (survey fields,
calibrations, alert follow-ups...). The log keeps the proposals but not their
magnitudes; this plugin sees them whole through ``openastro_filter`` (it
rejects nothing) and keeps, per candidate key, the candidate with the highest
priority it was offered at and when it was first offered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from control_center.plugin_api import Candidate, DecisionContext, Rejection, hookimpl

__all__ = ["CandidateRecorder", "SeenCandidate"]

NAME = "schedule-bench-recorder"


@dataclass
class SeenCandidate:
    """A candidate as offered during a night: its best priority and first offer."""

    candidate: Candidate
    first_seen: datetime


class CandidateRecorder:
    """Records candidates; never rejects one (registered with ``extra=``)."""

    def __init__(self) -> None:
        self.seen: dict[str, SeenCandidate] = {}

    @hookimpl
    def openastro_filter(self, context: DecisionContext,
                         candidates: Sequence[Candidate]) -> list[Rejection]:
        for c in candidates:
            known = self.seen.get(c.key)
            if known is None:
                self.seen[c.key] = SeenCandidate(c, context.now)
            elif c.priority > known.candidate.priority:
                known.candidate = c
        return []
