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

# What a swap takes from the donor: "decision", the parts of r(x) that carry the decision (hidden
# layers and softmax), or "softmax", the decision alone; the label too, for a label variant.
SWAPPED_PARTS = ("decision", "softmax")


@torch.no_grad()
def counterfactual_explanations(
    model: InterpNet,
    data: SplitData,
    decoding: Decoding,
    reranker: Any = None,
    seed: int = 0,
    batch_size: int = 256,
    same_class: bool = False,
    parts: str = "decision",
    introspected: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> dict[str, Any] | None:
    """Decode each example with the ``parts`` of r(x) (``SWAPPED_PARTS``; the label for
    ``gve-label``) taken from a donor the classifier puts in another class (``same_class``: in
    the same class), the rest kept. ``introspected``: the split's (logits, r) when already
    computed. Returns the sentences, the rows explained (``own``) and their ``donor``, the
    donors' and the own predicted classes and softmax, and the parts swapped; None when the
    model's input holds no such part to swap (captioning; ``softmax`` without a softmax)."""
    if parts not in SWAPPED_PARTS:
        raise ValueError(f"unknown parts {parts!r}; choose one of {SWAPPED_PARTS}")
    model.eval()
    device = next(model.parameters()).device
    example = data.batch(torch.arange(min(2, len(data))), device)
    if parts == "decision":
        mask = model.decision_mask(example)
    else:
        mask = model.part_mask(example, lambda name: name == "softmax")
    mask = mask.to(device)
    uses_label = model.explainer.uses_label
    if not mask.any() and not uses_label:
        return None
    logits, r = (
        introspected if introspected is not None else model.introspect_split(data, batch_size)
    )
    predicted = logits.argmax(-1).cpu()
    donors = choose_donors(predicted, seed, same_class=same_class)
    keep = (donors >= 0).nonzero().flatten()
    own, donor = keep, donors[keep]
    swapped = torch.where(mask, r[donor.to(device)], r[own.to(device)])
    generator = torch.Generator(device=device).manual_seed(decoding.seed)
    sentences: list[str] = []
    for part in torch.arange(len(own)).split(batch_size):
        labels = predicted[donor[part]].to(device)  # the label input for gve-label
        tokens = model.decode(swapped[part], labels, decoding, reranker, generator)
        sentences.extend(detokenize(t) for t in tokens)
    probs = torch.softmax(logits.float(), dim=-1).cpu()
    return {
        "sentences": sentences,
        "own": own,
        "donor": donor,
        "donor_predicted": predicted[donor],
        "own_predicted": predicted[own],
        "own_softmax": probs[own],
        "donor_softmax": probs[donor],
        "swapped": " + ".join(
            (["label"] if uses_label else [])
            + ([f"{int(mask.sum())} of {len(mask)} r(x) entries"] if mask.any() else [])
        ),
    }
