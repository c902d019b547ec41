"""Cross-fitted decisions: the classifier's softmax on each training image from a copy of the
classifier that never saw it, so the discriminative phase meets decisions as unsure, and as
often wrong, as on unseen images (on its own training images a classifier is nearly always
right and sure)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import torch
from torch import nn

from interpnet.data.splits import SplitData


def stratified_folds(labels: torch.Tensor, k: int, seed: int) -> torch.Tensor:
    """A fold number in 0..k-1 for each item: within each class the items are shuffled and dealt
    round-robin, so every fold holds each class's share (as far as its count allows)."""
    gen = torch.Generator().manual_seed(seed)
    folds = torch.empty(len(labels), dtype=torch.long)
    offset = 0
    for cls in labels.unique(sorted=True).tolist():
        members = (labels == cls).nonzero().flatten()
        members = members[torch.randperm(len(members), generator=gen)]
        folds[members] = (torch.arange(len(members)) + offset) % k
        offset += len(members)  # classes smaller than k do not all fill fold 0 first
    return folds


def reinitialised(classifier: nn.Module, seed: int) -> nn.Module:
    """A copy of ``classifier`` with every submodule's parameters (and BatchNorm statistics)
    drawn afresh by its own ``reset_parameters``."""
    clone = copy.deepcopy(classifier)
    torch.manual_seed(seed)
    for module in clone.modules():
        reset = getattr(module, "reset_parameters", None)
        if callable(reset):
            reset()
    return clone


@torch.no_grad()
def _softmax(classifier: nn.Module, data: SplitData, index: torch.Tensor, device) -> torch.Tensor:
    classifier.eval()
    out = [torch.softmax(classifier(data.batch(i, device)), -1) for i in index.split(256)]
    return torch.cat(out)


def out_of_fold_softmax(
    classifier: nn.Module,
    train: SplitData,
    k: int,
    lrs: Sequence[float],
    make_optimizer: Callable[[nn.Module, float], torch.optim.Optimizer],
    train_epoch: Callable[[nn.Module, SplitData, torch.optim.Optimizer, int], None],
    seed: int,
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The softmax (N, C) of every item of ``train`` from a fresh copy of ``classifier`` trained
    on the other ``k - 1`` folds, one epoch per learning rate of ``lrs`` (the schedule the
    classifier itself was trained with, up to its best epoch), and each item's fold."""
    folds = stratified_folds(train.labels, k, seed)
    probs: torch.Tensor | None = None
    for fold in range(k):
        held = (folds == fold).nonzero().flatten()
        kept = (folds != fold).nonzero().flatten()
        if len(held) == 0:
            continue
        subset = SplitData(
            train.name,
            train.inputs[kept],
            train.labels[kept],
            [train.sentences[i] for i in kept.tolist()],
            [train.keys[i] for i in kept.tolist()],
            train.preprocess,
        )
        clf = reinitialised(classifier, seed * 1_000_003 + 700_000 + fold).to(device)
        optimizer = make_optimizer(clf, lrs[0])
        for epoch, lr in enumerate(lrs, start=1):
            for group in optimizer.param_groups:
                group["lr"] = lr
            clf.train()
            train_epoch(clf, subset, optimizer, epoch)
        fold_probs = _softmax(clf, train, held, device)
        if probs is None:
            probs = torch.zeros(len(train), fold_probs.shape[1], device=device)
        probs[held.to(device)] = fold_probs
    assert probs is not None  # k >= 2 and a non-empty split leave a fold with items
    return probs, folds
