"""Counterfactual introspection: give an explainer the decision of another image and see
whether its explanation follows."""

from __future__ import annotations

from typing import Any

import torch

from interpnet.data.splits import SplitData
from interpnet.decoding import Decoding
from interpnet.metrics.faithfulness import choose_donors
from interpnet.model import InterpNet
from interpnet.text import detokenize


@torch.no_grad()
def counterfactual_explanations(
    model: InterpNet,
    data: SplitData,
    decoding: Decoding,
    reranker: Any = None,
    seed: int = 0,
    batch_size: int = 256,
) -> dict[str, Any] | None:
    """Decode each example with the decision parts of r(x) (hidden layers and softmax; the
    label for ``gve-label``) taken from a donor the classifier puts in another class, the rest
    kept. Returns the sentences, the donors' and the own predicted classes, and the parts
    swapped; None when the model's input holds no decision to swap (captioning)."""
    model.eval()
    device = next(model.parameters()).device
    mask = model.decision_mask(data.batch(torch.arange(min(2, len(data))), device)).to(device)
    uses_label = model.explainer.uses_label
    if not mask.any() and not uses_label:
        return None
    logits, r = model.introspect_split(data, batch_size)
    predicted = logits.argmax(-1).cpu()
    donors = choose_donors(predicted, seed)
    keep = (donors >= 0).nonzero().flatten()
    own, donor = keep, donors[keep]
    swapped = torch.where(mask, r[donor.to(device)], r[own.to(device)])
    generator = torch.Generator(device=device).manual_seed(decoding.seed)
    sentences: list[str] = []
    for part in torch.arange(len(own)).split(batch_size):
        labels = predicted[donor[part]].to(device)  # the label input for gve-label
        tokens = model.decode(swapped[part], labels, decoding, reranker, generator)
        sentences.extend(detokenize(t) for t in tokens)
    return {
        "sentences": sentences,
        "donor_predicted": predicted[donor],
        "own_predicted": predicted[own],
        "swapped": " + ".join(
            (["label"] if uses_label else [])
            + ([f"{int(mask.sum())} of {len(mask)} r(x) entries"] if mask.any() else [])
        ),
    }
