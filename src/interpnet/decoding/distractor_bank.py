"""A fixed set of distractors for contrastive decoding, built once from a reference split (the
training images), so that an input's explanation does not depend on the batch it is decoded
in: the mean conditioning of the images the classifier puts in each class."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

BANK_DISTRACTORS = ("train-mean", "class-mean", "rival")


@dataclass(frozen=True)
class DistractorBank:
    """Per-class mean conditioning vectors ``class_means`` (K, D) of the reference images the
    classifier puts in each class, and how many there are of each (``counts``, (K,); 0 for a
    class it never predicts there). Build one with :meth:`from_conditioning` or
    ``InterpNet.distractor_bank(training_split)``.

    Distractors (one per input, from the input's conditioning and predicted class):

    - ``train-mean``: the mean of all reference images (what any image would say);
    - ``class-mean``: the mean of the predicted class's images (what the class says: the
      template); a class without reference images falls back to ``train-mean``;
    - ``rival``: the mean of the class, other than the predicted one, whose mean is most
      similar (cosine) to the input: what the closest other class would say (the
      "justification" setting of Vedantam et al. 2017); ``train-mean`` when no other class
      has reference images.
    """

    class_means: torch.Tensor
    counts: torch.Tensor

    def __post_init__(self) -> None:
        if self.class_means.dim() != 2 or self.counts.shape != self.class_means.shape[:1]:
            raise ValueError(
                f"a distractor bank needs class means (K, D) and counts (K,), got "
                f"{tuple(self.class_means.shape)} and {tuple(self.counts.shape)}"
            )
        if int(self.counts.sum()) < 1:
            raise ValueError("a distractor bank needs at least one reference image")

    @classmethod
    def from_conditioning(
        cls, cond: torch.Tensor, classes: torch.Tensor, num_classes: int
    ) -> DistractorBank:
        """From the conditioning vectors (N, D) of N reference images and the class (N,) the
        classifier predicts for each."""
        if cond.dim() != 2 or classes.shape != cond.shape[:1]:
            raise ValueError(
                f"conditioning (N, D) and classes (N,) expected, got {tuple(cond.shape)} and "
                f"{tuple(classes.shape)}"
            )
        cond, classes = cond.detach().float().cpu(), classes.long().cpu()
        counts = torch.bincount(classes, minlength=num_classes)
        if counts.numel() > num_classes:
            raise ValueError(f"class {int(classes.max())} given for {num_classes} classes")
        sums = torch.zeros(num_classes, cond.shape[1]).index_add_(0, classes, cond)
        return cls(sums / counts.clamp(min=1).unsqueeze(1), counts)

    @property
    def mean(self) -> torch.Tensor:
        """The mean conditioning of all reference images (D,)."""
        weights = self.counts.float() / self.counts.sum()
        return weights @ self.class_means

    def summary(self) -> dict[str, Any]:
        """What the bank holds, for metrics.json."""
        return {
            "images": int(self.counts.sum()),
            "classes": int((self.counts > 0).sum()),
            "dim": int(self.class_means.shape[1]),
        }

    def distractors(
        self, cond: torch.Tensor, labels: torch.Tensor | None, kind: str
    ) -> torch.Tensor:
        """One distractor conditioning vector per input (B, D), on ``cond``'s device and
        dtype; ``labels`` (B,) are the inputs' predicted classes (not needed for
        ``train-mean``)."""
        if kind not in BANK_DISTRACTORS:
            raise ValueError(f"unknown bank distractor {kind!r}; choose one of {BANK_DISTRACTORS}")
        if cond.shape[1] != self.class_means.shape[1]:
            raise ValueError(
                f"the distractor bank holds {self.class_means.shape[1]}-d conditioning vectors, "
                f"the explainer gives {cond.shape[1]}-d ones: build the bank with this model"
            )
        means, overall = self.class_means.to(cond.device), self.mean.to(cond.device)
        if kind == "train-mean":
            return overall.expand(cond.shape[0], -1).to(cond.dtype)
        if labels is None:
            raise ValueError(f"the {kind!r} distractor needs the inputs' predicted classes")
        labels = labels.to(cond.device).long()
        if labels.numel() and int(labels.max()) >= means.shape[0]:
            raise ValueError(f"class {int(labels.max())} for a bank of {means.shape[0]} classes")
        present = (self.counts > 0).to(cond.device)
        if kind == "class-mean":
            own = present[labels].unsqueeze(1)
            return torch.where(own, means[labels], overall).to(cond.dtype)
        sim = F.normalize(cond.float(), dim=1) @ F.normalize(means, dim=1).T  # (B, K)
        sim = sim.masked_fill(~present, float("-inf"))
        sim[torch.arange(len(labels), device=cond.device), labels] = float("-inf")
        best, rival = sim.max(dim=1)
        alone = ~torch.isfinite(best).unsqueeze(1)  # no other class has reference images
        return torch.where(alone, overall, means[rival]).to(cond.dtype)
