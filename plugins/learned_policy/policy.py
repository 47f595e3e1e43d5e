"""Choose with the policy network, keeping each telescope's memory across decisions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from control_center.plugin_api import (
    Candidate,
    Choice,
    DecisionContext,
    NightPlan,
    Score,
    hookimpl,
)
from models.scheduler.decision_features import (
    NightSkies,
    PhysicsView,
    RemembersTheNight,
    physics_view,
    policy_inputs,
)
from models.scheduler.features import N_CANDIDATE

__all__ = ["NAME", "LearnedPolicy", "PolicyStep"]

NAME = "learned-policy"


@dataclass
class PolicyStep:
    """One decision's inputs and the network's answer."""

    cand: np.ndarray
    ctx: np.ndarray
    prev: np.ndarray
    physics: PhysicsView | None
    logits: np.ndarray
    value: float
    h_out: np.ndarray


class LearnedPolicy(RemembersTheNight):
    """The ``learned-policy`` plugin.

    Parameters
    ----------
    model : PolicyRunner, optional
        Default: the shipped policy (``models/scheduler/policy-v2.onnx``, loaded on
        first use). A model whose candidate input is wider than
        :data:`~models.scheduler.features.CANDIDATE_FEATURES` also gets the
        outcome-physics features (:data:`~models.scheduler.features.PHYSICS_FEATURES`).
    name : str
        The policy name it answers to (``settings.policy``).

    Attributes
    ----------
    states : dict
        Telescope name -> (features of its previous choice, recurrent memory).
    """

    def __init__(self, model=None, name: str = NAME) -> None:
        super().__init__()
        self._model = model
        self.name = name
        self.skies = NightSkies()
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

    def step(self, context: DecisionContext, candidates: Sequence[Candidate],
             scores: Sequence[Score]) -> PolicyStep:
        """Features of the decision and the network's logits (the memory is not moved)."""
        self.memory.see(context.now, context.conditions_by_site)
        telescope = context.telescope.telescope.name
        physics = (physics_view(context, candidates, self.skies)
                   if self.model.n_cand > N_CANDIDATE else None)
        cand, ctx = policy_inputs(context, candidates, scores, self.memory, physics)
        prev, h = self.states.get(telescope) or self.model.initial_state()
        logits, value, h_out = self.model.run(cand, ctx, prev, h)
        return PolicyStep(cand, ctx, prev, physics, logits, value, h_out)

    def commit(self, context: DecisionContext, step: PolicyStep, chosen: int) -> None:
        """Move the telescope's memory on after choosing candidate ``chosen``."""
        self.states[context.telescope.telescope.name] = (step.cand[chosen].copy(), step.h_out)

    @hookimpl
    def openastro_choose(self, context: DecisionContext, candidates: Sequence[Candidate],
                         scores: Sequence[Score]) -> Choice | None:
        if context.settings.policy != self.name or not candidates:
            return None
        s = self.step(context, candidates, scores)
        best = int(np.argmax(s.logits))
        self.commit(context, s, best)
        chosen = candidates[best]
        p = np.exp(s.logits - s.logits.max())
        p /= p.sum()
        return Choice(chosen.key,
                      f"policy network: p={p[best]:.2f} of {len(candidates)} feasible, "
                      f"critic {s.value:.1f}: {chosen.target} in {chosen.filter}")
