"""Batched beam search and diverse beam search: all inputs and all beams advance together,
one step at a time."""

from __future__ import annotations

from typing import Any

import torch

from interpnet.decoding.batch import batch_size, device_of, index_rows
from interpnet.decoding.ngram import writable
from interpnet.decoding.protocols import Explainer


def length_penalty(lengths: torch.Tensor, alpha: float) -> torch.Tensor:
    """GNMT length penalty ((5 + len) / 6) ** alpha; alpha = 0 disables it."""
    return ((5.0 + lengths.float()) / 6.0) ** alpha


@torch.no_grad()
def beam_candidates(
    explainer: Explainer,
    cond: Any,
    bos_id: int,
    eos_id: int,
    beam_width: int = 3,
    max_length: int = 30,
    groups: int = 1,
    diversity: float = 0.0,
    no_repeat_ngram: int = 0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """All final beams of a (diverse) beam search over a batch.

    With ``groups`` > 1 this is diverse beam search (Vijayakumar et al. 2018, Hamming
    diversity): the beams are split into groups of ``beam_width // groups``; at each step the
    groups choose in turn, and a token already chosen at this step by an earlier group costs
    ``diversity`` per choice. Ranking uses these penalised scores; the returned log-probabilities
    are the model's own.

    ``no_repeat_ngram`` > 0: a beam never extends with a word that would repeat one of its own
    n-grams of that many tokens (0 = off); the log-probabilities of the words it does choose
    are unchanged, so they stay the model's.

    Returns token ids (B, W, L), model log-probabilities (B, W), lengths (B, W) and the ranking
    scores (B, W).
    """
    if beam_width < 1:
        raise ValueError(f"beam_width must be >= 1, got {beam_width}")
    if groups < 1 or beam_width % groups:
        raise ValueError(f"groups ({groups}) must divide beam_width ({beam_width})")
    if diversity < 0:
        raise ValueError(f"diversity must be 0 or more, got {diversity}")
    batch, width, device = batch_size(cond), beam_width, device_of(cond)
    group_width = width // groups
    cond = index_rows(cond, torch.arange(batch, device=device).repeat_interleave(width))
    state = explainer.init_state(batch * width, device)
    token = torch.full((batch * width,), bos_id, dtype=torch.long, device=device)
    scores = torch.full((batch, width), float("-inf"), device=device)
    scores[:, ::group_width] = 0.0  # one live beam per group at the start: beams are distinct
    logprob = torch.zeros(batch, width, device=device)
    finished = torch.zeros(batch, width, dtype=torch.bool, device=device)
    lengths = torch.zeros(batch, width, dtype=torch.long, device=device)
    history = torch.zeros(batch, width, 0, dtype=torch.long, device=device)
    offsets = (torch.arange(batch, device=device) * width).unsqueeze(1)
    for _ in range(max_length):
        logp, state = explainer.step(token, cond, state)
        vocab = logp.shape[-1]
        logp = writable(logp.view(batch, width, vocab), history, no_repeat_ngram, bos_id, eos_id)
        # A finished beam continues only with <pad> (id 0) at no cost.
        done = torch.full_like(logp, float("-inf"))
        done[..., 0] = 0.0
        logp = torch.where(finished.unsqueeze(-1), done, logp)
        chosen = torch.zeros(batch, vocab, device=device)  # tokens picked by earlier groups
        new_scores, parents, tokens = [], [], []
        for g in range(groups):
            beams = slice(g * group_width, (g + 1) * group_width)
            penalty = diversity * chosen.unsqueeze(1) * (~finished[:, beams]).unsqueeze(-1)
            total = scores[:, beams].unsqueeze(-1) + logp[:, beams] - penalty
            s, flat = total.reshape(batch, group_width * vocab).topk(group_width, dim=1)
            new_scores.append(s)
            parents.append(flat // vocab + g * group_width)
            tokens.append(flat % vocab)
            chosen.scatter_add_(1, flat % vocab, torch.ones_like(s))
        scores = torch.cat(new_scores, dim=1)
        parent, token2d = torch.cat(parents, dim=1), torch.cat(tokens, dim=1)
        step_logp = logp.reshape(batch, width * vocab).gather(1, parent * vocab + token2d)
        logprob = logprob.gather(1, parent) + step_logp
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
    return history, logprob, lengths, scores


@torch.no_grad()
def beam_search(
    explainer: Explainer,
    cond: Any,
    bos_id: int,
    eos_id: int,
    beam_width: int = 3,
    max_length: int = 30,
    alpha: float = 0.0,
    no_repeat_ngram: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Beam search over a batch. Beams are ranked by total log-probability during the search;
    the final choice among the ``beam_width`` beams divides by the length penalty;
    ``no_repeat_ngram`` as in :func:`beam_candidates`.

    Returns token ids (B, L) like :func:`greedy_decode` and the chosen beams' log-probabilities.
    """
    history, logprob, lengths, _ = beam_candidates(
        explainer, cond, bos_id, eos_id, beam_width, max_length, no_repeat_ngram=no_repeat_ngram
    )
    normalized = logprob / length_penalty(lengths.clamp(min=1), alpha)
    best = normalized.argmax(dim=1)
    rows = torch.arange(batch_size(cond), device=device_of(cond))
    return history[rows, best], logprob[rows, best]
