"""Batched step-by-step decoding (greedy, or any per-step token choice): one Python loop over
time steps for the whole batch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from interpnet.decoding.batch import batch_size, device_of
from interpnet.decoding.ngram import writable
from interpnet.decoding.protocols import Explainer

Chooser = Callable[[torch.Tensor], torch.Tensor]  # log-probs (B, V) -> next tokens (B,)


@torch.no_grad()
def decode_loop(
    explainer: Explainer,
    cond: Any,
    bos_id: int,
    eos_id: int,
    choose: Chooser,
    max_length: int = 30,
    no_repeat_ngram: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode a batch, picking each next token with ``choose``, which sees the model's
    log-probabilities with ``<pad>``, ``<bos>`` and the words that would repeat an n-gram of
    ``no_repeat_ngram`` tokens set to -inf (:func:`~interpnet.decoding.ngram.writable`;
    0 = no blocking). Returns token ids
    (B, L) (``<eos>`` then ``<pad>``=0 after a sentence ends) and each sentence's total model
    log-probability (B,), unblocked: the model's own log-probability of the chosen words."""
    batch, device = batch_size(cond), device_of(cond)
    state = explainer.init_state(batch, device)
    token = torch.full((batch,), bos_id, dtype=torch.long, device=device)
    finished = torch.zeros(batch, dtype=torch.bool, device=device)
    scores = torch.zeros(batch, device=device)
    out = torch.zeros(batch, max_length, dtype=torch.long, device=device)
    steps = 0
    while steps < max_length:
        logp, state = explainer.step(token, cond, state)
        token = choose(writable(logp, out[:, :steps], no_repeat_ngram, bos_id, eos_id))
        picked = logp.gather(1, token.unsqueeze(1)).squeeze(1)
        scores += torch.where(finished, torch.zeros_like(picked), picked)
        token = token.masked_fill(finished, 0)
        out[:, steps] = token
        steps += 1
        finished |= token == eos_id
        if bool(finished.all()):
            break
    return out[:, :steps], scores


@torch.no_grad()
def greedy_decode(
    explainer: Explainer,
    cond: Any,
    bos_id: int,
    eos_id: int,
    max_length: int = 30,
    no_repeat_ngram: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode a batch greedily from conditioning vectors ``cond`` (from ``explainer.condition``),
    never repeating an n-gram of ``no_repeat_ngram`` tokens (0 = off).

    Returns token ids (B, L) and the model's total log-probability of each sentence (B,).
    """
    return decode_loop(
        explainer, cond, bos_id, eos_id, lambda lp: lp.argmax(dim=-1), max_length, no_repeat_ngram
    )
