"""Proximal policy optimisation for :class:`~models.scheduler.policy_model.PolicyNet`.

Our own implementation (torch): clipped surrogate objective, generalised
advantage estimation, a value loss and an entropy bonus over the masked
candidate set. The recurrent state is kept per telescope while acting; each
step stores the state it started from, and updates recompute one GRU step from
it (truncated back-propagation of length one, as in recurrent PPO baselines).

Training starts from behaviour cloning of the greedy baseline (the policy then
begins at greedy's value and PPO improves from there); both are seeded and run
on one CPU thread.

Any environment with the observation dict of
:class:`~models.scheduler.env.SchedulingEnv` (``cand``, ``mask``, ``ctx``,
``telescope``), a ``greedy_action()`` and ``n_telescopes`` works, e.g. the
tiny instance of :mod:`models.scheduler.bellman`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["PPOConfig", "Rollout", "collect", "evaluate_policy", "ppo_update", "train_ppo"]


@dataclass(frozen=True)
class PPOConfig:
    gamma: float = 0.995
    lam: float = 0.95
    clip: float = 0.2
    epochs: int = 4
    minibatch: int = 256
    lr: float = 3e-4
    entropy: float = 0.005
    value_coef: float = 0.5
    reward_scale: float = 0.2
    max_grad_norm: float = 0.5


@dataclass
class Rollout:
    cand: np.ndarray
    mask: np.ndarray
    ctx: np.ndarray
    prev: np.ndarray
    h: np.ndarray
    action: np.ndarray
    logp: np.ndarray
    value: np.ndarray
    reward: np.ndarray
    done: np.ndarray
    episode_returns: list[float]
    episode_values: list[float]


def _n_telescopes(env) -> int:
    return getattr(env, "n_telescopes", None) or len(env.scopes)


def collect(env, net, seeds, *, mode: str = "sample", rng: np.random.Generator | None = None,
            reset_options=None) -> Rollout:
    """Play one episode per seed. ``mode``: "sample" (the policy's distribution),
    "argmax" (deterministic) or "greedy" (the baseline's action; for cloning)."""
    buf = {k: [] for k in ("cand", "mask", "ctx", "prev", "h", "action", "logp", "value",
                           "reward", "done")}
    returns, values = [], []
    n_tel = _n_telescopes(env)
    memory = net.memory
    n_feat = net.config["n_cand"]
    rng = rng or np.random.default_rng(0)
    for seed in seeds:
        obs, _ = env.reset(seed=int(seed), options=reset_options)
        h = np.zeros((n_tel, memory), np.float32)
        prev = np.zeros((n_tel, n_feat), np.float32)
        done, total = False, 0.0
        if env.pending is None:
            returns.append(0.0)
            values.append(float(getattr(env, "total_value", 0.0)))
            continue
        while not done:
            k = int(obs["telescope"])
            with torch.no_grad():
                logits, value, h_out = net(torch.from_numpy(obs["cand"][None]),
                                           torch.from_numpy(obs["mask"][None].astype(np.float32)),
                                           torch.from_numpy(obs["ctx"][None]),
                                           torch.from_numpy(prev[k][None]),
                                           torch.from_numpy(h[k][None]))
            logp_all = torch.log_softmax(logits[0], -1).numpy()
            if mode == "greedy":
                a = env.greedy_action()
            elif mode == "argmax":
                a = int(np.argmax(logits[0].numpy()))
            else:
                p = np.exp(logp_all - logp_all.max())
                p = p * obs["mask"]
                a = int(rng.choice(p.size, p=p / p.sum()))
            for key, val in (("cand", obs["cand"]), ("mask", obs["mask"]), ("ctx", obs["ctx"]),
                             ("prev", prev[k].copy()), ("h", h[k].copy())):
                buf[key].append(val)
            buf["action"].append(a)
            buf["logp"].append(logp_all[a])
            buf["value"].append(float(value[0]))
            prev[k] = obs["cand"][a]
            h[k] = h_out[0].numpy()
            obs, r, done, _, _ = env.step(a)
            buf["reward"].append(r)
            buf["done"].append(done)
            total += r
        returns.append(total)
        values.append(float(getattr(env, "total_value", total)))
    arr = {k: np.array(v) for k, v in buf.items()}
    return Rollout(arr["cand"].astype(np.float32), arr["mask"].astype(np.float32),
                   arr["ctx"].astype(np.float32), arr["prev"].astype(np.float32),
                   arr["h"].astype(np.float32), arr["action"].astype(np.int64),
                   arr["logp"].astype(np.float32), arr["value"].astype(np.float32),
                   arr["reward"].astype(np.float32), arr["done"].astype(bool), returns, values)


def advantages(ro: Rollout, cfg: PPOConfig) -> tuple[np.ndarray, np.ndarray]:
    """GAE advantages and returns (rewards scaled by ``cfg.reward_scale``)."""
    r = ro.reward * cfg.reward_scale
    n = r.size
    adv = np.zeros(n, np.float32)
    last = 0.0
    for t in range(n - 1, -1, -1):
        nonterminal = 0.0 if ro.done[t] else 1.0
        next_value = ro.value[t + 1] if (t + 1 < n and not ro.done[t]) else 0.0
        delta = r[t] + cfg.gamma * next_value * nonterminal - ro.value[t]
        last = delta + cfg.gamma * cfg.lam * nonterminal * last
        adv[t] = last
    return adv, adv + ro.value


def _tensors(ro: Rollout, idx):
    return (torch.from_numpy(ro.cand[idx]), torch.from_numpy(ro.mask[idx]),
            torch.from_numpy(ro.ctx[idx]), torch.from_numpy(ro.prev[idx]),
            torch.from_numpy(ro.h[idx]))


def ppo_update(net, opt, ro: Rollout, cfg: PPOConfig, gen: torch.Generator) -> dict:
    """Clipped-surrogate epochs over one rollout; returns mean losses."""
    adv, ret = advantages(ro, cfg)
    adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    n = adv.size
    stats = {"policy": 0.0, "value": 0.0, "entropy": 0.0, "clipped": 0.0}
    count = 0
    for _ in range(cfg.epochs):
        order = torch.randperm(n, generator=gen).numpy()
        for s in range(0, n, cfg.minibatch):
            idx = order[s:s + cfg.minibatch]
            logits, value, _ = net(*_tensors(ro, idx))
            logp_all = torch.log_softmax(logits, -1)
            a = torch.from_numpy(ro.action[idx])
            logp = logp_all.gather(1, a[:, None]).squeeze(1)
            ratio = torch.exp(logp - torch.from_numpy(ro.logp[idx]))
            A = torch.from_numpy(adv[idx])
            surrogate = torch.min(ratio * A, ratio.clamp(1 - cfg.clip, 1 + cfg.clip) * A)
            m = torch.from_numpy(ro.mask[idx])
            p = logp_all.exp() * m
            entropy = -(p * torch.where(m > 0, logp_all, torch.zeros_like(logp_all))).sum(-1)
            v_loss = ((value - torch.from_numpy(ret[idx])) ** 2).mean()
            loss = -surrogate.mean() + cfg.value_coef * v_loss - cfg.entropy * entropy.mean()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.max_grad_norm)
            opt.step()
            stats["policy"] += float(-surrogate.mean().detach())
            stats["value"] += float(v_loss.detach())
            stats["entropy"] += float(entropy.mean().detach())
            stats["clipped"] += float(((ratio - 1).abs() > cfg.clip).float().mean())
            count += 1
    return {k: v / max(count, 1) for k, v in stats.items()}


def behaviour_clone(net, opt, ro: Rollout, epochs: int, gen: torch.Generator,
                    minibatch: int = 256) -> float:
    """Cross-entropy towards the actions in ``ro`` (the greedy baseline's); returns the loss."""
    n = ro.action.size
    loss_v = 0.0
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen).numpy()
        for s in range(0, n, minibatch):
            idx = order[s:s + minibatch]
            logits, _, _ = net(*_tensors(ro, idx))
            loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(ro.action[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_v = float(loss.detach())
    return loss_v


def train_ppo(env, net, *, seed: int, iterations: int, episodes_per_iter: int,
              bc_episodes: int = 0, bc_epochs: int = 3, cfg: PPOConfig = PPOConfig(),
              progress=None, reset_options=None) -> list[dict]:
    """Clone greedy on ``bc_episodes`` nights, then run ``iterations`` of PPO.

    Episode seeds are ``seed * 100000 + i``; returns one row of figures per iteration.
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    history = []
    next_seed = seed * 100000
    if bc_episodes:
        bc_opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        ro = collect(env, net, range(next_seed, next_seed + bc_episodes), mode="greedy",
                     reset_options=reset_options)
        next_seed += bc_episodes
        loss = behaviour_clone(net, bc_opt, ro, bc_epochs, gen)
        history.append({"iteration": 0, "bc_loss": round(loss, 4),
                        "mean_value": float(np.mean(ro.episode_values))})
    for it in range(1, iterations + 1):
        net.eval()
        ro = collect(env, net, range(next_seed, next_seed + episodes_per_iter), rng=rng,
                     reset_options=reset_options)
        next_seed += episodes_per_iter
        net.train()
        stats = ppo_update(net, opt, ro, cfg, gen)
        net.eval()
        row = {"iteration": it, "mean_return": float(np.mean(ro.episode_returns)),
               "mean_value": float(np.mean(ro.episode_values)), "steps": int(ro.action.size),
               **{k: round(v, 4) for k, v in stats.items()}}
        history.append(row)
        if progress is not None:
            progress(it, iterations, row)
    return history


def evaluate_policy(env, net, seeds, reset_options=None) -> tuple[list[float], list[float]]:
    """Science value per night of the deterministic policy and of greedy on the same nights."""
    ours = collect(env, net, seeds, mode="argmax", reset_options=reset_options).episode_values
    greedy = collect(env, net, seeds, mode="greedy", reset_options=reset_options).episode_values
    return ours, greedy
