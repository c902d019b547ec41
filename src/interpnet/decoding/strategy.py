"""Decoding a batch with a :class:`~interpnet.decoding.config.Decoding`: its method's
candidates (and the training references, with ``add_references``), then reranking."""

from __future__ import annotations

from typing import Any

import torch

from interpnet.decoding.config import Decoding
from interpnet.decoding.methods import DECODING_METHODS
from interpnet.decoding.protocols import Explainer
from interpnet.decoding.retrieve import retrieve_candidates


def decode_candidates(
    explainer: Explainer,
    cond: Any,
    bos_id: int,
    eos_id: int,
    decoding: Decoding,
    generator: torch.Generator | None = None,
    labels: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Candidates of every input: token ids (B, K, L), model log-probabilities (B, K), lengths
    in words incl. ``<eos>`` (B, K), and the index (B,) of the one kept without reranking.
    ``labels``: the inputs' predicted classes (for a bank distractor and retrieval). With
    ``add_references`` the references follow the method's own candidates, and the one kept
    without reranking is the best of all by mean word log-probability."""
    d = decoding
    own = _method_candidates(explainer, cond, bos_id, eos_id, d, generator, labels)
    if not d.add_references:
        return own
    refs = retrieve_candidates(explainer, cond, bos_id, labels, d.references)
    width = max(own[0].shape[-1], refs[0].shape[-1])
    ids = torch.cat([_pad_ids(own[0], width), _pad_ids(refs[0].to(own[0]), width)], dim=1)
    logp = torch.cat([own[1].float(), refs[1].float()], dim=1)  # as the caller reads them
    lengths = torch.cat([own[2], refs[2].to(own[2])], dim=1)
    return ids, logp, lengths, (logp / lengths.clamp(min=1)).argmax(dim=1).cpu()


def _pad_ids(ids: torch.Tensor, width: int) -> torch.Tensor:
    """Token ids (..., L) padded with 0 to ``width`` positions."""
    return torch.nn.functional.pad(ids, (0, width - ids.shape[-1]))


def _method_candidates(
    explainer: Explainer,
    cond: Any,
    bos_id: int,
    eos_id: int,
    d: Decoding,
    generator: torch.Generator | None,
    labels: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`decode_candidates` of ``d.method`` alone."""
    return DECODING_METHODS[d.method](explainer, cond, bos_id, eos_id, d, generator, labels)


def rerank_choice(
    scores: torch.Tensor, logprob: torch.Tensor, lengths: torch.Tensor, weight: float
) -> torch.Tensor:
    """Index (B,) of the candidate with the highest ``score + weight * mean log-probability``
    (all (B, K)); ties go to the earlier candidate."""
    total = scores + weight * logprob / lengths.clamp(min=1)
    return total.argmax(dim=1)
