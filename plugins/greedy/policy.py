"""Highest expected value first; ties go to the smaller uncertainty, then the key."""

from __future__ import annotations

from collections.abc import Sequence

from control_center.plugin_api import Candidate, Choice, DecisionContext, Score, hookimpl

NAME = "greedy"


@hookimpl
def openastro_choose(context: DecisionContext, candidates: Sequence[Candidate],
                     scores: Sequence[Score]) -> Choice | None:
    if context.settings.policy != NAME or not scores:
        return None
    best = max(scores, key=lambda s: (s.value, -s.sigma, s.candidate))
    chosen = next(c for c in candidates if c.key == best.candidate)
    return Choice(
        best.candidate,
        f"highest expected value {best.value:.2f}±{best.sigma:.2f} of {len(scores)} feasible: "
        f"{chosen.target} in {chosen.filter}",
    )
