"""Batched beam search: all inputs and all beams advance together, one step at a time."""

from __future__ import annotations

import torch

from interpnet.model.explainer import LRCNExplainer


def length_penalty(lengths: torch.Tensor, alpha: float) -> torch.Tensor:
    """GNMT length penalty ((5 + len) / 6) ** alpha; alpha = 0 disables it."""
    return ((5.0 + lengths.float()) / 6.0) ** alpha


@torch.no_grad()
def beam_search(
    explainer: LRCNExplainer,
    cond: torch.Tensor,
    bos_id: int,
    eos_id: int,
    beam_width: int = 3,
    max_length: int = 30,
    alpha: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Beam search over a batch. Beams are ranked by total log-probability during the search;
    the final choice among the ``beam_width`` beams divides by the length penalty.

    Returns token ids (B, L) like :func:`greedy_decode` and the chosen beams' log-probabilities.
    """
    if beam_width < 1:
        raise ValueError(f"beam_width must be >= 1, got {beam_width}")
    batch, width, device = cond.shape[0], beam_width, cond.device
    cond = cond.repeat_interleave(width, dim=0)
    state = explainer.init_state(batch * width, device)
    token = torch.full((batch * width,), bos_id, dtype=torch.long, device=device)
    scores = torch.full((batch, width), float("-inf"), device=device)
    scores[:, 0] = 0.0  # only one live beam at the start, so beams are distinct
    finished = torch.zeros(batch, width, dtype=torch.bool, device=device)
    lengths = torch.zeros(batch, width, dtype=torch.long, device=device)
    history = torch.zeros(batch, width, 0, dtype=torch.long, device=device)
    offsets = (torch.arange(batch, device=device) * width).unsqueeze(1)
    for _ in range(max_length):
        logp, state = explainer.step(token, cond, state)
        vocab = logp.shape[-1]
        logp = logp.view(batch, width, vocab)
        # A finished beam continues only with <pad> (id 0) at no cost.
        done = torch.full_like(logp, float("-inf"))
        done[..., 0] = 0.0
        logp = torch.where(finished.unsqueeze(-1), done, logp)
        total = (scores.unsqueeze(-1) + logp).view(batch, width * vocab)
        scores, flat = total.topk(width, dim=1)
        parent, token2d = flat // vocab, flat % vocab
        history = torch.cat(
            [history.gather(1, parent.unsqueeze(-1).expand_as(history)), token2d.unsqueeze(-1)],
            dim=2,
        )
        was_finished = finished.gather(1, parent)
        lengths = lengths.gather(1, parent) + (~was_finished).long()
        finished = was_finished | (token2d == eos_id)
        state = explainer.reorder_state(state, (parent + offsets).view(-1))
        token = token2d.view(-1)
        if bool(finished.all()):
            break
    normalized = scores / length_penalty(lengths.clamp(min=1), alpha)
    best = normalized.argmax(dim=1)
    rows = torch.arange(batch, device=device)
    return history[rows, best], scores[rows, best]
