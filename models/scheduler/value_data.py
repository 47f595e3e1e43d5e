"""The value network's dataset: outcomes of observations on simulated nights.

Nights of :class:`~models.scheduler.env.SchedulingEnv` are played by a mixed
behaviour (the greedy baseline, or a random feasible candidate, chosen per
decision), so observations are made under every kind of condition: good and
poor seeing, thin cloud, high airmass, faint targets. Each observation gives one
row: its :data:`~models.scheduler.features.VALUE_FEATURES` (what was known when
it was chosen), the science value it actually yielded, and the hand-written
value formula's prediction for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.scheduler.env import EnvConfig, SchedulingEnv

__all__ = ["ValueSet", "collect"]


@dataclass
class ValueSet:
    """Observations: features ``x``, realised science value ``y``, the formula's value
    ``formula``, and the night (episode) each came from."""

    x: np.ndarray
    y: np.ndarray
    formula: np.ndarray
    night: np.ndarray

    def __len__(self) -> int:
        return self.y.size


def collect(config: EnvConfig, seeds: list[int], *, greedy_share: float = 0.5,
            cache: Path | None = None, progress=None) -> ValueSet:
    """Play one night per seed and return every observation made.

    Parameters
    ----------
    config : EnvConfig
        Which nights (start dates) and network.
    seeds : list of int
        Episode seeds (weather, requests kept, alerts, luck).
    greedy_share : float
        Probability that a decision follows the greedy baseline (else random).
    cache : Path, optional
        ``.npz`` file to read the set from, or to write it to.
    progress : callable, optional
        ``progress(i, n)`` after each night.
    """
    if cache is not None and cache.is_file():
        with np.load(cache) as z:
            return ValueSet(z["x"], z["y"], z["formula"], z["night"])
    env = SchedulingEnv(config)
    xs, ys, fs, nights = [], [], [], []
    for i, seed in enumerate(seeds):
        env.reset(seed=seed)
        rng = np.random.default_rng(seed + 7919)
        done = False
        while not done:
            n = env.pending["rows"].size
            a = env.greedy_action() if rng.random() < greedy_share else int(rng.integers(n))
            _, _, done, _, info = env.step(a)
            rec = info["observation"]
            xs.append(rec["value_features"])
            ys.append(rec["value"])
            fs.append(rec["formula"])
            nights.append(seed)
        if progress is not None:
            progress(i + 1, len(seeds))
    out = ValueSet(np.array(xs, np.float32), np.array(ys, np.float32),
                   np.array(fs, np.float32), np.array(nights))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(cache, x=out.x, y=out.y, formula=out.formula, night=out.night)
    return out
