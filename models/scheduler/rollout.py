"""Play nights with the exported (ONNX) policy, torch-free: evaluation and tests."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["OnnxAgent", "play", "tiny_policy_value"]


class OnnxAgent:
    """Greedy argmax of a :class:`~models.scheduler.serve.PolicyRunner`, with one memory
    (previous choice, GRU state) per telescope, as the ``learned-policy`` plugin keeps."""

    def __init__(self, runner) -> None:
        self.runner = runner
        self.states: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def reset(self) -> None:
        self.states.clear()

    def act(self, obs: dict) -> int:
        k = int(obs["telescope"])
        n = int(obs["mask"].sum())
        cand = obs["cand"][:n]
        prev, h = self.states.get(k) or self.runner.initial_state()
        logits, _, h_out = self.runner.run(cand, obs["ctx"], prev, h)
        a = int(np.argmax(logits))
        self.states[k] = (cand[a].copy(), h_out)
        return a


def play(env, runner, seed: int, options: dict | None = None) -> dict[str, Any]:
    """One night of ``env`` with the ONNX policy (or greedy when ``runner`` is None).

    Returns the science value, the total reward, the observations per site, and the
    observations made after a site was lost (``after_loss``: site, telescope, time).
    """
    obs, _ = env.reset(seed=seed, options=options)
    agent = OnnxAgent(runner) if runner is not None else None
    reward, done = 0.0, env.pending is None
    while not done:
        a = agent.act(obs) if agent is not None else env.greedy_action()
        obs, r, done, _, _ = env.step(a)
        reward += r
    lost = min(env.lost_at.values())
    per_site: dict[str, int] = {}
    for rec in env.log:
        per_site[rec["site"]] = per_site.get(rec["site"], 0) + 1
    return {"value": env.total_value, "reward": reward, "observations": len(env.log),
            "per_site": per_site,
            "after_loss": [{"site": r["site"], "telescope": r["telescope"], "t": r["t"]}
                           for r in env.log if r["t"] >= lost]}


def tiny_policy_value(runner, inst=None) -> float:
    """Exact expected value of the ONNX policy on the tiny Bellman instance."""
    from models.scheduler.bellman import TINY, policy_value

    agent = OnnxAgent(runner)
    return policy_value(lambda env: agent.act(env.obs), inst or TINY, reset=agent.reset)
