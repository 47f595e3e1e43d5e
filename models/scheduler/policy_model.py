"""The policy network (Component 4): attention over the candidate set, recurrent memory.

Inputs (batch ``B``, ``N`` candidates -- any number, masked):

* ``cand`` ``(B, N, F)``: :data:`~models.scheduler.features.CANDIDATE_FEATURES`;
* ``mask`` ``(B, N)``: 1 for a real candidate, 0 for padding;
* ``ctx`` ``(B, G)``: :data:`~models.scheduler.features.CONTEXT_FEATURES`;
* ``prev`` ``(B, F)``: the features the telescope's previous choice had (zeros
  at the start of the night);
* ``h`` ``(B, H)``: the telescope's recurrent state.

A GRU cell folds the context and the previous choice into the telescope's
memory ``h'``; candidates are embedded, attend to each other (one layer of
multi-head self-attention, padding masked), and each gets a logit from its
embedding and a query made of ``h'`` and the context. Outputs: ``logits``
``(B, N)`` (padding at -1e9), ``value`` ``(B,)`` (the critic) and ``h_out``.

Action heads: the candidate set already enumerates the feasible (target,
telescope, exposure) triples of the deciding telescope -- the control center
decides for one telescope at a time and a generator proposes one exposure per
(request, filter) -- so the three heads are one joint softmax over the set
(factorising would put probability on combinations that are not feasible).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["PolicyNet"]

NEG = -1e9


class PolicyNet(nn.Module):
    """Actor-critic over a variable candidate set with a GRU memory (see the module doc)."""

    def __init__(self, n_cand: int, n_ctx: int, hidden: int = 64, heads: int = 4,
                 memory: int = 32) -> None:
        super().__init__()
        self.config = {"n_cand": n_cand, "n_ctx": n_ctx, "hidden": hidden, "heads": heads,
                       "memory": memory}
        self.heads, self.hidden, self.memory = heads, hidden, memory
        self.embed = nn.Sequential(nn.Linear(n_cand, hidden), nn.SiLU(),
                                   nn.Linear(hidden, hidden))
        self.ctx = nn.Sequential(nn.Linear(n_ctx, hidden), nn.SiLU())
        self.gru = nn.GRUCell(n_ctx + n_cand, memory)
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.attn_out = nn.Linear(hidden, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.query = nn.Linear(hidden + memory, hidden)
        self.score = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.SiLU(),
                                   nn.Linear(hidden, 1))
        self.critic = nn.Sequential(nn.Linear(2 * hidden + memory, hidden), nn.SiLU(),
                                    nn.Linear(hidden, 1))

    def forward(self, cand: torch.Tensor, mask: torch.Tensor, ctx: torch.Tensor,
                prev: torch.Tensor, h: torch.Tensor):
        b, n, _ = cand.shape
        m = mask.to(cand.dtype)
        h_out = self.gru(torch.cat([ctx, prev], dim=-1), h)
        e = self.embed(cand)                                            # B N D
        q, k, v = self.qkv(e).chunk(3, dim=-1)
        d = self.hidden // self.heads

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(b, n, self.heads, d).transpose(1, 2)      # B h N d

        att = split(q) @ split(k).transpose(-1, -2) / d**0.5              # B h N N
        att = att + (1.0 - m)[:, None, None, :] * NEG
        mixed = (att.softmax(-1) @ split(v)).transpose(1, 2).reshape(b, n, self.hidden)
        e = self.norm(e + self.attn_out(mixed))
        c = self.ctx(ctx)
        query = self.query(torch.cat([c, h_out], dim=-1))               # B D
        logits = self.score(torch.cat([e, query[:, None, :].expand(b, n, self.hidden)],
                                      dim=-1)).squeeze(-1)
        logits = logits * m + (1.0 - m) * NEG
        weights = (logits - logits.max(-1, keepdim=True).values).softmax(-1)
        pooled = (weights[..., None] * e).sum(1)
        value = self.critic(torch.cat([pooled, c, h_out], dim=-1)).squeeze(-1)
        return logits, value, h_out
