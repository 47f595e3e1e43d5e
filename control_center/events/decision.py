"""Events of one decision: trigger -> propose -> filter -> score -> choose.

All events of a decision share one stream (the decision id) and are saved in
one batch, so the log never holds half a decision. Candidates, rejections and
scores are stored as column tables (``{"field": [values...]}``): a decision
weighs hundreds of candidates, and columns keep the log compact; ``rows()``
gives them back as one dict per row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from control_center.eventlog.envelope import LogEvent

CANDIDATE_FIELDS = ("request_id", "target", "ra_deg", "dec_deg", "filter", "exposure_s",
                    "program", "kind", "priority", "proposed_by", "not_before", "not_after")
"""Logs written before time windows existed lack the last two columns."""
REJECTION_FIELDS = ("candidate", "constraint", "value", "limit", "plugin")
SCORE_FIELDS = ("candidate", "value", "sigma")


def to_columns(rows: Sequence[Mapping], fields: Sequence[str]) -> dict[str, list]:
    """A column table of ``fields`` from a sequence of row mappings."""
    return {f: [r[f] for r in rows] for f in fields}


def to_rows(table: Mapping[str, list]) -> list[dict]:
    """The rows of a column table, one dict each."""
    names = list(table)
    return [dict(zip(names, values, strict=True)) for values in zip(*table.values(), strict=True)]


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
    """Every candidate the generators proposed (columns :data:`CANDIDATE_FIELDS`)."""

    candidates: dict

    def rows(self) -> list[dict]:
        """One dict per candidate, with its ``key`` (``request_id/filter``)."""
        return [r | {"key": f"{r['request_id']}/{r['filter']}"}
                for r in to_rows(self.candidates)]


class CandidatesRejected(LogEvent):
    """Rejections (columns :data:`REJECTION_FIELDS`): which candidate, the
    constraint, the value that broke its limit, and the plugin that said so."""

    rejections: dict

    def rows(self) -> list[dict]:
        return to_rows(self.rejections)


class CandidatesScored(LogEvent):
    """Scores of the feasible candidates (columns :data:`SCORE_FIELDS`)."""

    scorer: str
    scores: dict

    def rows(self) -> list[dict]:
        return to_rows(self.scores)


class AssignmentChosen(LogEvent):
    """The policy's choice: a candidate for the telescope, and why."""

    policy: str
    candidate: dict
    reason: str


class NoAssignment(LogEvent):
    """The decision ended without an assignment (closed, nothing feasible...)."""

    policy: str
    reason: str
