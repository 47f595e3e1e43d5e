"""Score candidates with the value ensemble, robust to the weather ahead.

The conditions during an observation are not the conditions now. The scorer
draws ``scenarios`` weather scenarios for the exposure (cloud cover moved along
its recent trend with a spread that grows with it, seeing log-normal +-20 %),
evaluates the ensemble in each, and scores each candidate by the mean over
scenarios; sigma combines the ensemble's own uncertainty with the spread across
scenarios. A candidate that is only good if the sky stays as it is now scores
below one that is good in most scenarios. Scenarios are drawn from the
decision's seed, so a decision is reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from control_center.plugin_api import (
    Candidate,
    DecisionContext,
    Score,
    hookimpl,
)
from models.scheduler.decision_features import RemembersTheNight, value_inputs
from models.scheduler.features import VALUE_FEATURES

__all__ = ["NAME", "ValueNetworkScorer", "weather_scenarios"]

NAME = "value-network"
CLOUD = VALUE_FEATURES.index("cloud cover")
SEEING = VALUE_FEATURES.index("seeing / 2 arcsec")
TREND = VALUE_FEATURES.index("cloud change over the last 30 min")


def weather_scenarios(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` copies of the feature rows ``x`` under perturbed weather, shape (n, rows, F).

    Cloud cover moves by its trend over the last 30 minutes (the exposure lies ahead)
    plus noise of 0.05 + |trend|; seeing scales by a log-normal factor (sigma 0.2).
    Scenario 0 is the persistence forecast (conditions stay as they are).
    """
    out = np.repeat(np.asarray(x, np.float32)[None], n, axis=0)
    if n <= 1:
        return out
    trend = out[1:, :, TREND]
    cloud = out[1:, :, CLOUD] + trend * rng.uniform(0.0, 1.0, (n - 1, 1)) \
        + (0.05 + np.abs(trend)) * rng.standard_normal((n - 1, 1))
    out[1:, :, CLOUD] = np.clip(cloud, 0.0, 1.0)
    out[1:, :, SEEING] *= np.exp(0.2 * rng.standard_normal((n - 1, 1))).astype(np.float32)
    return out


class ValueNetworkScorer(RemembersTheNight):
    """The ``value-network`` scorer plugin.

    Parameters
    ----------
    model : ValueNetwork, optional
        Default: the shipped ``value-v1.onnx`` (loaded on first use).
    scenarios : int
        Weather scenarios per decision (1: conditions as they are now).
    """

    def __init__(self, model=None, scenarios: int = 8) -> None:
        super().__init__()
        self._model = model
        self.scenarios = scenarios

    @property
    def model(self):
        if self._model is None:
            from models.scheduler.serve import ValueNetwork

            self._model = ValueNetwork()
        return self._model

    @hookimpl
    def openastro_score(self, context: DecisionContext,
                        candidates: Sequence[Candidate]) -> list[Score] | None:
        if context.settings.scorer != NAME:
            return None
        if not candidates:
            return []
        self.memory.see(context.now, context.conditions_by_site)
        mean, sigma = self.robust_values(context, candidates)
        return [Score(c.key, v, s) for c, v, s in zip(
            candidates, np.round(mean, 4).tolist(), np.round(sigma, 4).tolist(), strict=True)]

    def robust_values(self, context: DecisionContext,
                      candidates: Sequence[Candidate]) -> tuple[np.ndarray, np.ndarray]:
        """Mean over weather scenarios of the expected value, and the combined sigma."""
        x = value_inputs(context, candidates, self.memory)
        rng = np.random.default_rng(context.seed)
        xs = weather_scenarios(x, self.scenarios, rng)
        mean, sigma = self.model.predict(xs.reshape(-1, x.shape[1]))
        mean = np.maximum(mean.reshape(self.scenarios, -1), 0.0)
        sigma = sigma.reshape(self.scenarios, -1)
        expected = mean.mean(0)
        spread = np.sqrt(np.mean(sigma**2, 0) + mean.var(0))
        return expected, spread
