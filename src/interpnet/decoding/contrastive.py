"""Contrastive greedy decoding: at each step the word that the image makes likelier than a
distractor does (an "introspective speaker", Vedantam et al. 2017, "Context-aware captions from
context-agnostic supervision"), among the words the image itself finds plausible (the adaptive
plausibility constraint of Li et al. 2022, "Contrastive decoding").

Greedy decoding of a maximum-likelihood explainer says what most images of a predicted class
share (one template per class); subtracting the log-probabilities the explainer gives a similar
image demotes exactly those shared words and keeps the ones this image's r(x) is evidence for.
Written here because no kept library decodes a custom LSTM step this way.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from interpnet.decoding.batch import batch_size, cat_rows, flatten_rows, unflatten_rows
from interpnet.decoding.distractor_bank import BANK_DISTRACTORS, DistractorBank
from interpnet.decoding.greedy import decode_loop
from interpnet.decoding.protocols import Explainer

BATCH_DISTRACTORS = ("neighbour", "mean")
DISTRACTORS = BATCH_DISTRACTORS + BANK_DISTRACTORS


def distractors(cond: torch.Tensor, kind: str = "neighbour") -> torch.Tensor:
    """One distractor conditioning vector per input (B, D) from the batch's own (B, D):
    ``neighbour`` = the most similar other input of the batch (cosine), ``mean`` = the mean of
    the other inputs. A batch of one input is its own distractor (then the decoding is greedy)."""
    if kind not in BATCH_DISTRACTORS:
        raise ValueError(f"unknown batch distractor {kind!r}; choose one of {BATCH_DISTRACTORS}")
    batch = cond.shape[0]
    if batch == 1:
        return cond.clone()
    if kind == "mean":
        return (cond.sum(dim=0, keepdim=True) - cond) / (batch - 1)
    unit = F.normalize(cond.float(), dim=1)
    sim = unit @ unit.T
    sim.fill_diagonal_(float("-inf"))
    return cond[sim.argmax(dim=1)]


@torch.no_grad()
def contrastive_decode(
    explainer: Explainer,
    cond: Any,
    bos_id: int,
    eos_id: int,
    contrast: float = 0.5,
    plausibility: float = 0.1,
    distractor: str = "neighbour",
    max_length: int = 30,
    labels: torch.Tensor | None = None,
    bank: DistractorBank | None = None,
    no_repeat_ngram: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode a batch: each next word maximises ``log p(w | image) - contrast * log p(w |
    distractor)`` over the words with ``p(w | image) >= plausibility * max p(. | image)``; both
    read the same prefix. Returns token ids (B, L) and each sentence's log-probability under
    the image (B,). ``contrast=0`` is greedy decoding; below 1, the own log-probability keeps
    the larger weight (``(1 - contrast) log p(w | image) + contrast log [p(w | image) / p(w |
    distractor)]``, Vedantam et al.'s form), so an input that is its own distractor decodes
    greedily. The batch distractors (``neighbour``, ``mean``) come from ``cond`` itself; the
    bank ones (``train-mean``, ``class-mean``, ``rival``) from ``bank`` and the inputs'
    predicted classes ``labels``, so each input's sentence is the same in any batch.
    ``no_repeat_ngram`` > 0: a word that would repeat an n-gram of that many tokens is not
    plausible (0 = off); the plausibility floor is then relative to the best allowed word."""
    if not 0 <= contrast < 1:
        raise ValueError(f"contrast must be in [0, 1), got {contrast}")
    if not 0 < plausibility <= 1:
        raise ValueError(f"plausibility must be in (0, 1], got {plausibility}")
    batch = batch_size(cond)
    flat = flatten_rows(cond)
    if distractor in BANK_DISTRACTORS:
        if bank is None:
            raise ValueError(
                f"the {distractor!r} distractor needs a DistractorBank, e.g. "
                "InterpNet.distractor_bank(training split)"
            )
        other = bank.distractors(flat, labels, distractor)
    else:
        other = distractors(flat, distractor)
    both = cat_rows([cond, unflatten_rows(other, cond)])
    floor = math.log(plausibility)

    def choose(logp: torch.Tensor) -> torch.Tensor:
        own, other = logp[:batch], logp[batch:]
        plausible = own >= own.max(dim=-1, keepdim=True).values + floor
        # a blocked word (-inf in both halves) is never plausible: where() drops its NaN score
        score = torch.where(plausible, own - contrast * other, float("-inf"))
        return score.argmax(dim=-1).repeat(2)

    ids, scores = decode_loop(explainer, both, bos_id, eos_id, choose, max_length, no_repeat_ngram)
    return ids[:batch], scores[:batch]
