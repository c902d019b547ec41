"""Sampling explanations: temperature and nucleus (top-p) sampling, several per input."""

from __future__ import annotations

from typing import Any

import torch

from interpnet.decoding.batch import batch_size, device_of, index_rows
from interpnet.decoding.greedy import decode_loop
from interpnet.decoding.protocols import Explainer


def nucleus_filter(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """Zero all but the smallest set of most probable tokens whose mass reaches ``top_p``
    (Holtzman et al. 2020); the most probable token is always kept. Rows are renormalised."""
    if top_p >= 1.0:
        return probs
    sorted_p, order = probs.sort(dim=-1, descending=True)
    before = sorted_p.cumsum(dim=-1) - sorted_p  # mass of the tokens ranked above each one
    keep_sorted = before < top_p
    keep_sorted[..., 0] = True
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
    kept = probs * keep
    return kept / kept.sum(dim=-1, keepdim=True)


@torch.no_grad()
def sample(
    explainer: Explainer,
    cond: Any,
    bos_id: int,
    eos_id: int,
    num_samples: int = 1,
    max_length: int = 30,
    temperature: float = 1.0,
    top_p: float = 1.0,
    generator: torch.Generator | None = None,
    uniforms: torch.Tensor | None = None,
    no_repeat_ngram: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``num_samples`` sentences per input, drawn from the explainer's distribution sharpened
    or flattened by ``temperature`` and cut to its top-p nucleus.

    ``uniforms`` (B * num_samples, max_length), numbers in [0, 1), draws each token by the
    inverse of its distribution's cumulative sum instead of from ``generator``: a row's
    sentence then depends on its own numbers only, so any subset of the rows (a process's
    share of a batch) gets the sentences the whole batch would.

    ``no_repeat_ngram`` > 0 bans the words that would repeat an n-gram of that many tokens
    before the temperature and the nucleus (the draws are then no longer the model's own:
    policy-gradient training keeps 0).

    Returns token ids (B * num_samples, L), the samples of input i at rows
    ``i * num_samples ...``, and each sentence's log-probability under the model itself
    (temperature 1, no nucleus, no blocking), the number reranking uses.
    """
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")

    rows = batch_size(cond) * num_samples
    cond = index_rows(cond, torch.arange(rows, device=device_of(cond)) // num_samples)
    if uniforms is not None and tuple(uniforms.shape) != (rows, max_length):
        raise ValueError(
            f"uniforms must have shape {(rows, max_length)}, got {tuple(uniforms.shape)}"
        )
    step = iter(range(max_length))

    def choose(logp: torch.Tensor) -> torch.Tensor:
        probs = nucleus_filter(torch.softmax(logp.float() / temperature, dim=-1), top_p)
        if uniforms is None:
            return torch.multinomial(probs, 1, generator=generator).squeeze(1)
        cdf = probs.cumsum(dim=-1)
        u = uniforms[:, next(step)].to(cdf) * cdf[:, -1]
        return (cdf <= u[:, None]).sum(dim=-1).clamp(max=probs.shape[-1] - 1)

    return decode_loop(explainer, cond, bos_id, eos_id, choose, max_length, no_repeat_ngram)
