"""A tiny scheduling instance solved exactly by value iteration (the Bellman check).

One telescope, four targets, six slots, two weather states (clear, cloudy) that
follow a Markov chain. A target can be observed once, in one slot, while it is
up; its value is ``base x 1`` in clear weather and ``base x cloud_factor`` under
cloud. The optimum over all policies comes from backward induction on the state
(slot, weather, targets done)::

    V(s, w, D) = max_a [ r(a, w) + sum_w' P(w' | w) V(s + 1, w', D + a) ]

:class:`TinyEnv` offers the same observation as
:class:`~models.scheduler.env.SchedulingEnv` (candidate rows of
:data:`~models.scheduler.features.CANDIDATE_FEATURES`, context), so the same
:class:`~models.scheduler.policy_model.PolicyNet` and PPO train on it;
:func:`policy_value` gives a deterministic policy's exact expected value by
enumerating every weather path.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

from models.scheduler.features import N_CANDIDATE, N_CONTEXT, candidate_matrix, context_vector

__all__ = ["TINY", "TinyEnv", "TinyInstance", "optimal_value", "policy_value"]


@dataclass(frozen=True)
class TinyInstance:
    """Targets (base value, first and last slot up, cloud factor), slots and weather."""

    base: tuple[float, ...] = (10.0, 8.0, 7.0, 4.0)
    first: tuple[int, ...] = (0, 0, 2, 0)
    last: tuple[int, ...] = (5, 0, 5, 5)
    cloud_factor: tuple[float, ...] = (0.15, 0.9, 0.5, 1.0)
    slots: int = 6
    p_stay: float = 0.85
    p_clear0: float = 0.5

    def reward(self, target: int, cloudy: int) -> float:
        return self.base[target] * (self.cloud_factor[target] if cloudy else 1.0)

    def visible(self, slot: int, done: int) -> list[int]:
        return [i for i in range(len(self.base))
                if self.first[i] <= slot <= self.last[i] and not done >> i & 1]

    def p(self, w: int, w2: int) -> float:
        return self.p_stay if w == w2 else 1.0 - self.p_stay


TINY = TinyInstance()


def optimal_value(inst: TinyInstance = TINY) -> float:
    """The exact optimum of the expected total value (value iteration, backward)."""

    @cache
    def v(slot: int, w: int, done: int) -> float:
        if slot >= inst.slots:
            return 0.0
        options = inst.visible(slot, done)
        future = [(w2, inst.p(w, w2)) for w2 in (0, 1)]
        if not options:
            return sum(p * v(slot + 1, w2, done) for w2, p in future)
        return max(inst.reward(a, w) + sum(p * v(slot + 1, w2, done | 1 << a)
                                           for w2, p in future) for a in options)

    return inst.p_clear0 * v(0, 0, 0) + (1 - inst.p_clear0) * v(0, 1, 0)


def greedy_value(inst: TinyInstance = TINY) -> float:
    """Expected value of always taking the highest immediate value (the greedy baseline)."""
    return policy_value(lambda env: env.greedy_action(), inst)


class TinyEnv:
    """The tiny instance as an environment (see the module docstring)."""

    n_telescopes = 1

    def __init__(self, inst: TinyInstance = TINY) -> None:
        self.inst = inst
        self.pending = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        self.rng = np.random.default_rng(seed)
        path = (options or {}).get("weather")
        if path is None:
            w = int(self.rng.random() >= self.inst.p_clear0)
            path = [w]
            for _ in range(self.inst.slots - 1):
                w = w if self.rng.random() < self.inst.p_stay else 1 - w
                path.append(w)
        self.path = list(path)
        self.slot, self.done_mask, self.total_value = 0, 0, 0.0
        return self._advance(), {}

    def _advance(self):
        while self.slot < self.inst.slots:
            options = self.inst.visible(self.slot, self.done_mask)
            if options:
                self.pending = options
                self.obs = self._obs(options)
                return self.obs
            self.slot += 1
        self.pending = None
        return {"cand": np.zeros((4, N_CANDIDATE), np.float32), "mask": np.zeros(4, np.int8),
                "ctx": np.zeros(N_CONTEXT, np.float32), "telescope": 0}

    def _obs(self, options: list[int]):
        inst, w, s = self.inst, self.path[self.slot], self.slot
        n = len(options)
        value = np.array([inst.reward(i, w) for i in options])
        cand = candidate_matrix(
            priority=[inst.base[i] for i in options], exposure_s=np.full(n, 300.0),
            duration_s=np.full(n, 360.0), score=value, sigma=np.zeros(n),
            airmass=np.full(n, 1.2), alt_deg=np.full(n, 50.0),
            alt_later_deg=[50.0 if inst.last[i] > s else 10.0 for i in options],
            min_alt_deg=20.0, window_left_h=[(inst.last[i] - s + 1) for i in options],
            remaining_frac=np.ones(n), failures=np.zeros(n), setup_s=np.full(n, 30.0),
            kind=np.zeros(n, int),
            program_deficit=[1.0 - inst.cloud_factor[i] for i in options])
        padded = np.zeros((4, N_CANDIDATE), np.float32)
        padded[:n] = cand
        mask = np.zeros(4, np.int8)
        mask[:n] = 1
        ctx = context_vector(
            cloud=0.8 * w, humidity=0.5, wind_m_s=5.0, seeing_arcsec=1.0, sky_v_mag=21.0,
            open=True, cloud_trend=0.0, dark_left_h=inst.slots - s, night_elapsed=s / inst.slots,
            other_open_frac=0.0, aperture_m=1.0, recent_quality=0.5, calibrated=False,
            n_candidates=n, offline_frac=0.0, other_cloud=1.0)
        self._values = value
        return {"cand": padded, "mask": mask, "ctx": ctx, "telescope": 0}

    def greedy_action(self) -> int:
        return int(np.argmax(self._values))

    def step(self, action: int):
        target = self.pending[int(action)]
        r = self.inst.reward(target, self.path[self.slot])
        self.total_value += r
        self.done_mask |= 1 << target
        self.slot += 1
        obs = self._advance()
        return obs, r, self.pending is None, False, {}


def policy_value(choose: Callable[[TinyEnv], int], inst: TinyInstance = TINY,
                 reset: Callable[[], None] | None = None) -> float:
    """Exact expected value of a deterministic policy: every weather path, weighted.

    ``choose(env)`` returns the action for ``env``'s pending decision (it may read
    ``env`` and keep its own state; ``reset()`` is called before each path).
    """
    total = 0.0
    env = TinyEnv(inst)
    for path in itertools.product((0, 1), repeat=inst.slots):
        p = inst.p_clear0 if path[0] == 0 else 1 - inst.p_clear0
        for a, b in itertools.pairwise(path):
            p *= inst.p(a, b)
        if reset is not None:
            reset()
        env.reset(seed=0, options={"weather": path})
        while env.pending is not None:
            env.step(choose(env))
        total += p * env.total_value
    return total
