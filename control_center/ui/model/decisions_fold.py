"""The Decisions view's fold: the newest decisions, one row each with its reason.

A decision's events share its stream (trigger, candidates, rejections,
scores, outcome) and are saved together. The candidate tables are the
heaviest records of the log and the feed does not need them: only the trigger
and the outcome are decoded, and only for the newest :attr:`DecisionFeed.keep`
decisions of each burst, so a burst of thousands costs no more than the rows
that stay on screen.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from control_center.events import AssignmentChosen, DecisionTriggered, NoAssignment
from control_center.ui.model.views import DecisionRow

__all__ = ["DECISION_TYPES", "DecisionFeed"]

DECISION_TYPES = (DecisionTriggered, AssignmentChosen, NoAssignment)
"""Event types the feed reads (the candidate tables are skipped undecoded)."""


class DecisionFeed:
    """The newest ``keep`` decisions, oldest first.

    Parameters
    ----------
    keep : int
        Rows kept (older ones are dropped: memory stays bounded all night).
    """

    def __init__(self, keep: int = 500) -> None:
        self.keep = keep
        self.version = 0
        self._rows: OrderedDict[UUID, DecisionRow] = OrderedDict()

    def fold(self, records: Sequence[Any]) -> None:
        """Fold recorded ``DecisionTriggered``/``AssignmentChosen``/``NoAssignment``
        events (in log order); decodes newest first and stops at ``keep`` triggers."""
        if not records:
            return
        triggers: list[tuple[int, DecisionTriggered]] = []
        outcomes: dict[UUID, Any] = {}
        for recorded in reversed(records):
            event = recorded.event
            if isinstance(event, DecisionTriggered):
                triggers.append((recorded.position, event))
                if len(triggers) >= self.keep:
                    break
            elif event.originator_id not in outcomes:
                outcomes[event.originator_id] = event
        rows = self._rows
        for position, trigger in reversed(triggers):
            row = _row(position, trigger)
            outcome = outcomes.pop(trigger.originator_id, None)
            rows[trigger.originator_id] = _with_outcome(row, outcome) if outcome else row
        for stream, outcome in outcomes.items():   # decisions begun in an earlier read
            row = rows.get(stream)
            if row is not None:
                rows[stream] = _with_outcome(row, outcome)
        while len(rows) > self.keep:
            rows.popitem(last=False)
        self.version += 1

    def clear(self) -> None:
        self._rows.clear()
        self.version += 1

    def rows(self) -> tuple[DecisionRow, ...]:
        return tuple(self._rows.values())


def _row(position: int, t: DecisionTriggered) -> DecisionRow:
    return DecisionRow(position=position, decision_id=str(t.originator_id), sim_time=t.sim_time,
                       site=t.site, telescope=t.telescope, trigger=t.trigger, outcome="pending",
                       policy=str(t.inputs.get("policy", "")) if isinstance(t.inputs, dict)
                       else "")


def _with_outcome(row: DecisionRow, outcome: Any) -> DecisionRow:
    from dataclasses import replace

    if isinstance(outcome, AssignmentChosen):
        c = outcome.candidate or {}
        choice = " ".join(str(c.get(k)) for k in ("target", "filter") if c.get(k))
        return replace(row, outcome="assigned", choice=choice or str(c.get("key", "")),
                       reason=outcome.reason, policy=outcome.policy,
                       request_id=str(c.get("request_id", "")))
    if isinstance(outcome, NoAssignment):
        return replace(row, outcome="none", reason=outcome.reason, policy=outcome.policy)
    return row
