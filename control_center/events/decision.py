"""Events of one decision: trigger -> propose -> filter -> score -> choose.

All events of a decision share one stream (the decision id) and are saved in
one batch, so the log never holds half a decision.
"""

from __future__ import annotations

from control_center.eventlog.envelope import LogEvent


class DecisionTriggered(LogEvent):
    """Why a decision is being made and for which telescope.

    ``inputs`` is the state the decision saw (conditions, pointing, filter,
    overrides in force, the random seed of the decision).
    """

    trigger: str
    site: str
    telescope: str
    inputs: dict


class CandidatesProposed(LogEvent):
    """Every candidate the generators proposed: a list of candidate dicts."""

    candidates: list


class CandidatesRejected(LogEvent):
    """Rejections: ``[{"candidate", "constraint", "value", "limit", "plugin"}]``."""

    rejections: list


class CandidatesScored(LogEvent):
    """Scores of the feasible candidates: ``[{"candidate", "value", "sigma"}]``."""

    scorer: str
    scores: list


class AssignmentChosen(LogEvent):
    """The policy's choice: a candidate for the telescope, and why."""

    policy: str
    candidate: dict
    reason: str


class NoAssignment(LogEvent):
    """The decision ended without an assignment (closed, nothing feasible...)."""

    policy: str
    reason: str
