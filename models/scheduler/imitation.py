"""Imitation of the teacher by the policy network (torch, training side).

The recorded decisions (:mod:`models.scheduler.nightloop`) come in sequences,
one per telescope and night. Each epoch first unrolls the network's GRU over
every sequence (no gradient) to get the memory each decision started from,
then fits the candidate logits to the teacher's choices by cross-entropy over
minibatches of decisions (gradient through one GRU step: truncated
back-propagation of length one, as in :mod:`models.scheduler.ppo`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from models.scheduler.nightloop import Decisions

__all__ = ["fit_imitation", "imitation_accuracy"]


def _memories(net, decisions: Decisions) -> list[np.ndarray]:
    """The GRU memory each decision of each sequence starts from."""
    out = []
    with torch.no_grad():
        for seq in decisions.sequences:
            ctx = torch.from_numpy(np.stack(seq["ctx"]).astype(np.float32))
            prev = torch.from_numpy(np.stack(seq["prev"]).astype(np.float32))
            h = torch.zeros(1, net.memory)
            hs = []
            for t in range(ctx.shape[0]):
                hs.append(h[0].numpy().copy())
                h = net.gru(torch.cat([ctx[t:t + 1], prev[t:t + 1]], dim=-1), h)
            out.append(np.stack(hs))
    return out


def _flatten(decisions: Decisions, memories: list[np.ndarray]):
    rows = []
    for seq, hs in zip(decisions.sequences, memories, strict=True):
        for t, label in enumerate(seq["label"]):
            rows.append((seq["cand"][t], seq["ctx"][t], seq["prev"][t], hs[t], int(label)))
    return rows


def _batch(rows):
    n = max(r[0].shape[0] for r in rows)
    f = rows[0][0].shape[1]
    cand = np.zeros((len(rows), n, f), np.float32)
    mask = np.zeros((len(rows), n), np.float32)
    for i, r in enumerate(rows):
        cand[i, :r[0].shape[0]] = r[0]
        mask[i, :r[0].shape[0]] = 1.0
    stack = (lambda k: torch.from_numpy(np.stack([r[k] for r in rows]).astype(np.float32)))
    return (torch.from_numpy(cand), torch.from_numpy(mask), stack(1), stack(2), stack(3),
            torch.tensor([r[4] for r in rows]))


def fit_imitation(net, decisions: Decisions, *, epochs: int, seed: int, lr: float = 2e-3,
                  batch_candidates: int = 24000, per_epoch: int | None = None,
                  progress: Callable[[int, int, float], None] | None = None) -> list[float]:
    """Fit ``net`` to the teacher's choices; returns the mean loss of each epoch.

    Minibatches are decisions of similar candidate counts, at most
    ``batch_candidates`` padded candidates each; each epoch sees at most
    ``per_epoch`` decisions (a random subset; all by default).
    """
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    history = []
    for epoch in range(epochs):
        net.train()
        rows = _flatten(decisions, _memories(net, decisions))
        pick = np.arange(len(rows))
        if per_epoch is not None and per_epoch < len(rows):
            pick = rng.choice(len(rows), per_epoch, replace=False)
        order = sorted(pick.tolist(), key=lambda i: (rows[i][0].shape[0], rng.random()))
        batches, cur = [], []
        for i in order:
            cur.append(i)
            if len(cur) * rows[i][0].shape[0] >= batch_candidates:
                batches.append(cur)
                cur = []
        if cur:
            batches.append(cur)
        rng.shuffle(batches)
        total, count = 0.0, 0
        for b in batches:
            cand, mask, ctx, prev, h, label = _batch([rows[i] for i in b])
            logits, _, _ = net(cand, mask, ctx, prev, h)
            loss = loss_fn(logits, label)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            total += loss.item() * len(b)
            count += len(b)
        history.append(round(total / max(count, 1), 4))
        if progress is not None:
            progress(epoch + 1, epochs, history[-1])
    net.eval()
    return history


def imitation_accuracy(net, decisions: Decisions) -> float:
    """Fraction of decisions where the network's argmax is the teacher's choice."""
    if not len(decisions):
        return float("nan")
    rows = _flatten(decisions, _memories(net, decisions))
    hits = 0
    with torch.no_grad():
        for k in range(0, len(rows), 64):
            chunk = rows[k:k + 64]
            cand, mask, ctx, prev, h, label = _batch(chunk)
            logits, _, _ = net(cand, mask, ctx, prev, h)
            hits += int((logits.argmax(-1) == label).sum())
    return hits / len(rows)
