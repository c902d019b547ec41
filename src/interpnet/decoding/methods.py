"""The decoding methods, by name: each turns a batch's conditioning into candidate sentences
(token ids (B, K, T), the model's log-probabilities (B, K), lengths (B, K)) and the index (B,)
of the one the method itself would keep. ``Decoding(method=...)`` names one; a method of your
own goes in with :func:`register_method`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from interpnet.decoding.batch import batch_size
from interpnet.decoding.beam import beam_candidates, length_penalty
from interpnet.decoding.contrastive import contrastive_decode
from interpnet.decoding.greedy import greedy_decode
from interpnet.decoding.protocols import Explainer
from interpnet.decoding.retrieve import retrieve_candidates
from interpnet.decoding.sampling import sample

Candidates = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
# (explainer, conditioning, bos_id, eos_id, decoding, generator, labels) -> Candidates
Method = Callable[[Explainer, Any, int, int, Any, "torch.Generator | None", Any], Candidates]
DECODING_METHODS: dict[str, Method] = {}


def register_method(*names: str) -> Callable[[Method], Method]:
    """Decorator: the function decodes for ``Decoding(method=name)``, for each of ``names``."""

    def wrap(fn: Method) -> Method:
        for name in names:
            DECODING_METHODS[name] = fn
        return fn

    return wrap


def _one_each(ids: torch.Tensor, logp: torch.Tensor) -> Candidates:
    """One candidate per input."""
    ids, logp = ids.unsqueeze(1), logp.unsqueeze(1)
    return ids, logp, _lengths(ids), torch.zeros(ids.shape[0], dtype=torch.long)


@register_method("greedy")
def greedy_candidates(explainer, cond, bos_id, eos_id, d, generator, labels) -> Candidates:
    return _one_each(
        *greedy_decode(explainer, cond, bos_id, eos_id, d.max_length, d.no_repeat_ngram)
    )


@register_method("beam", "diverse-beam")
def beam_method(explainer, cond, bos_id, eos_id, d, generator, labels) -> Candidates:
    groups = d.groups if d.method == "diverse-beam" else 1
    ids, logp, lengths, _ = beam_candidates(
        explainer,
        cond,
        bos_id,
        eos_id,
        d.beam_width,
        d.max_length,
        groups,
        d.diversity,
        d.no_repeat_ngram,
    )
    best = (logp / length_penalty(lengths.clamp(min=1), d.alpha)).argmax(dim=1)
    return ids, logp, lengths, best.cpu()


@register_method("sample")
def sample_candidates(explainer, cond, bos_id, eos_id, d, generator, labels) -> Candidates:
    batch = batch_size(cond)
    ids, logp = sample(
        explainer,
        cond,
        bos_id,
        eos_id,
        d.num_samples,
        d.max_length,
        d.temperature,
        d.top_p,
        generator,
        no_repeat_ngram=d.no_repeat_ngram,
    )
    ids, logp = ids.view(batch, d.num_samples, -1), logp.view(batch, d.num_samples)
    lengths = _lengths(ids)
    return ids, logp, lengths, (logp / lengths.clamp(min=1)).argmax(dim=1).cpu()


@register_method("contrastive")
def contrastive_candidates(explainer, cond, bos_id, eos_id, d, generator, labels) -> Candidates:
    return _one_each(
        *contrastive_decode(
            explainer,
            cond,
            bos_id,
            eos_id,
            d.contrast,
            d.plausibility,
            d.distractor,
            d.max_length,
            labels,
            d.bank,
            d.no_repeat_ngram,
        )
    )


@register_method("retrieve")
def retrieve_method(explainer, cond, bos_id, eos_id, d, generator, labels) -> Candidates:
    return retrieve_candidates(explainer, cond, bos_id, labels, d.references)


def _lengths(ids: torch.Tensor) -> torch.Tensor:
    return (ids != 0).sum(dim=-1)


METHODS = tuple(DECODING_METHODS)  # the built-in ones
