"""Decision perturbations of phase 3: small modules that change the decision a batch's
rewards score the explanation against (``ctx`` -> ``ctx``), so that the rewards meet decisions
that differ from the image, as on unseen images. The phase applies them in the order of its
list: dropout or cross-fit decisions, then swaps."""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from interpnet.data.splits import SplitData
from interpnet.decoding.rerank import RewardContext
from interpnet.metrics.faithfulness import choose_donors
from interpnet.model import InterpNet


class DropoutDecisions:
    """r(x) and the predicted classes of the batch read with the classifier's dropout on
    (BatchNorm statistics stay frozen): on its training images the classifier is nearly always
    right and sure (Flowers: 100% accuracy, mean top-1 probability 0.95, against 0.59 on test
    images), so without it the rewards never meet a decision that differs from the image,
    which is what fidelity measures."""

    def __init__(self, model: InterpNet, train: SplitData, device: torch.device) -> None:
        self.model, self.train, self.device = model, train, device

    @torch.no_grad()
    def __call__(
        self, ctx: RewardContext, idx: torch.Tensor, gen: torch.Generator | None = None
    ) -> RewardContext:
        classifier = self.model.classifier
        classifier.eval()
        dropouts = [m for m in classifier.modules() if isinstance(m, nn.Dropout)]
        for m in dropouts:
            m.train()
        try:
            logits, r = self.model.introspect(self.train.batch(idx, self.device))
        finally:
            classifier.eval()
        return replace(ctx, r=r, predicted=logits.argmax(-1))


class CrossFitDecisions:
    """The batch's softmax part of r(x) (``softmax_mask``) and predicted classes from
    classifiers that never saw the image (``probs`` (N, C): the out-of-fold softmax of every
    training image, :mod:`interpnet.training.crossfit`): the rewards then score the
    explanation against a decision that differs from the image as often as on unseen images.
    Only the softmax is replaced: the hidden units of separately trained copies do not
    correspond to the classifier's, so its own hidden layers stay."""

    def __init__(self, probs: torch.Tensor, softmax_mask: torch.Tensor) -> None:
        self.probs, self.predicted = probs, probs.argmax(-1)
        self.softmax_mask = softmax_mask

    def __call__(
        self, ctx: RewardContext, idx: torch.Tensor, gen: torch.Generator | None = None
    ) -> RewardContext:
        at = idx.to(self.probs.device)
        r = ctx.r.clone()
        r[:, self.softmax_mask] = self.probs[at]
        return replace(ctx, r=r, predicted=self.predicted[at])


class SwapDecisions:
    """Counterfactual training: for a ``fraction`` of the batch, the decision parts of r(x)
    (``mask``: hidden layers, softmax) come from another image of the batch that the
    classifier puts in another class, whose predicted class and references the rewards then
    use; the input features x stay. On training images the predicted class is almost always
    the true one, so without this the rewards cannot tell an explainer that reads the decision
    from one that reads the image."""

    def __init__(self, mask: torch.Tensor, fraction: float) -> None:
        self.mask, self.fraction = mask, fraction

    def __call__(
        self, ctx: RewardContext, idx: torch.Tensor, gen: torch.Generator | None = None
    ) -> RewardContext:
        mask = self.mask
        pick = torch.rand(len(ctx.predicted), generator=gen) < self.fraction
        donors = choose_donors(ctx.predicted, generator=gen, rows=pick.nonzero().flatten())
        r, new_pred = ctx.r.clone(), ctx.predicted.clone()
        own = ctx.classes_of_references()
        refs, ref_classes = list(ctx.references), own.clone()
        for i, j in enumerate(donors.tolist()):
            if j < 0:
                continue
            r[i] = torch.where(mask, ctx.r[j], ctx.r[i])
            new_pred[i], refs[i], ref_classes[i] = ctx.predicted[j], ctx.references[j], own[j]
        return replace(ctx, r=r, predicted=new_pred, references=refs, reference_classes=ref_classes)
