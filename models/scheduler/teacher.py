"""The policy's teacher: a one-step look-ahead on the outcome physics (numpy only).

At each decision it takes the candidate with the highest

    E[value here] / duration ** ALPHA * (E[value here] / best E[value] at any open
    telescope) ** BETA

where the expectations are the simulator's outcome model
(:mod:`models.scheduler.physics`) under the conditions each site reports *now*
(nothing a live control center would not know). Dividing by the telescope time
turns "the most valuable observation" into "the most value per hour of the
night"; the second factor leaves to a better telescope what it does clearly
better. When no candidate has physics value (twilight calibrations), it falls
back to the scorer's best.

The learned policy is trained to imitate it on the real night loop
(:mod:`models.scheduler.imitation`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from control_center.plugin_api import Score
from models.scheduler.decision_features import PhysicsView

__all__ = ["ALPHA", "BETA", "teacher_index", "teacher_objective"]

ALPHA = 1.0
"""Exponent of the duration (0: most value per observation, 1: most value per second)."""
BETA = 0.0
"""Exponent of the division-of-labour factor."""


def teacher_objective(view: PhysicsView, *, alpha: float = ALPHA,
                      beta: float = BETA) -> np.ndarray:
    """The teacher's objective per candidate (see the module docstring)."""
    value = np.asarray(view.value, dtype=float)
    out = value / np.maximum(np.asarray(view.duration, dtype=float), 1.0) ** alpha
    if beta:
        best = np.maximum(np.asarray(view.best_elsewhere, dtype=float), value)
        out = out * np.where(best > 1e-9, value / np.maximum(best, 1e-9), 0.0) ** beta
    return out


def teacher_index(view: PhysicsView, scores: Sequence[Score], keys: Sequence[str], *,
                  alpha: float = ALPHA, beta: float = BETA) -> int:
    """Index (into ``keys``, the candidates' keys) of the teacher's choice."""
    objective = teacher_objective(view, alpha=alpha, beta=beta)
    if objective.size and float(objective.max()) > 1e-9:
        return int(np.argmax(objective))
    by_key = {s.candidate: s for s in scores}
    values = np.array([by_key[k].value if k in by_key else -np.inf for k in keys])
    return int(np.argmax(values))
