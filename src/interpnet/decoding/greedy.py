"""Batched greedy decoding: one Python loop over time steps for the whole batch."""

from __future__ import annotations

import torch

from interpnet.model.explainer import LRCNExplainer


@torch.no_grad()
def greedy_decode(
    explainer: LRCNExplainer,
    cond: torch.Tensor,
    bos_id: int,
    eos_id: int,
    max_length: int = 30,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode a batch greedily from conditioning vectors ``cond`` (from ``explainer.condition``).

    Returns token ids (B, L) (``<eos>`` then ``<pad>``=0 after a sentence ends) and the total
    log-probability of each sentence (B,).
    """
    batch = cond.shape[0]
    state = explainer.init_state(batch, cond.device)
    token = torch.full((batch,), bos_id, dtype=torch.long, device=cond.device)
    finished = torch.zeros(batch, dtype=torch.bool, device=cond.device)
    scores = torch.zeros(batch, device=cond.device)
    out = []
    for _ in range(max_length):
        logp, state = explainer.step(token, cond, state)
        best, token = logp.max(dim=-1)
        scores += torch.where(finished, torch.zeros_like(best), best)
        token = token.masked_fill(finished, 0)
        out.append(token)
        finished |= token == eos_id
        if bool(finished.all()):
            break
    return torch.stack(out, dim=1), scores
