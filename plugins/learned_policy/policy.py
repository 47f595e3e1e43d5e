"""Choose with the policy network, keeping each telescope's memory across decisions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from control_center.plugin_api import (
    Candidate,
    Choice,
    DecisionContext,
    NightPlan,
    Score,
    hookimpl,
)
from models.scheduler.decision_features import RemembersTheNight, policy_inputs

__all__ = ["NAME", "LearnedPolicy"]

NAME = "learned-policy"


class LearnedPolicy(RemembersTheNight):
    """The ``learned-policy`` plugin.

    Parameters
    ----------
    model : PolicyRunner, optional
        Default: the shipped ``policy-v1.onnx`` (loaded on first use).

    Attributes
    ----------
    states : dict
        Telescope name -> (features of its previous choice, recurrent memory).
    """

    def __init__(self, model=None) -> None:
        super().__init__()
        self._model = model
        self.states: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def model(self):
        if self._model is None:
            from models.scheduler.serve import PolicyRunner

            self._model = PolicyRunner()
        return self._model

    @hookimpl
    def openastro_night_started(self, night: NightPlan) -> None:
        super().openastro_night_started(night)
        self.states.clear()

    @hookimpl
    def openastro_choose(self, context: DecisionContext, candidates: Sequence[Candidate],
                         scores: Sequence[Score]) -> Choice | None:
        if context.settings.policy != NAME or not candidates:
            return None
        self.memory.see(context.now, context.conditions_by_site)
        telescope = context.telescope.telescope.name
        cand, ctx = policy_inputs(context, candidates, scores, self.memory)
        prev, h = self.states.get(telescope) or self.model.initial_state()
        logits, value, h_out = self.model.run(cand, ctx, prev, h)
        best = int(np.argmax(logits))
        self.states[telescope] = (cand[best].copy(), h_out)
        chosen = candidates[best]
        p = np.exp(logits - logits.max())
        p /= p.sum()
        return Choice(chosen.key,
                      f"policy network: p={p[best]:.2f} of {len(candidates)} feasible, "
                      f"critic {value:.1f}: {chosen.target} in {chosen.filter}")
