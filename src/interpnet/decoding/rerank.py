"""What a reranker is: a score of each candidate sentence given the batch it explains. The
scores themselves (reward and judge models, CIDEr-D) live in :mod:`interpnet.scorers`, above
the model; decoding and the model need only this type."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

# the scores a decoding can rerank by (from a run's reward models: interpnet.Reranker.from_run)
RERANK_SCORES = ("class", "retrieval", "class+retrieval", "neighbours", "class+neighbours")


@dataclass
class RewardContext:
    """The batch the sentences explain: ``rows[i]`` is the batch item of sentence i; ``r``
    (B, D) their r(x); ``predicted`` (B,) the classifier's classes; ``true`` (B,) the true
    classes and ``references`` (B lists of sentences), where known; ``reference_classes``
    (B,) the true class of the image each item's references describe, where that is not the
    item's own (after a decision swap: the donor's); ``items`` (B,) each item's index among
    the training images, where it is one (phase 3)."""

    rows: torch.Tensor
    r: torch.Tensor
    predicted: torch.Tensor | None = None
    true: torch.Tensor | None = None
    references: list[list[str]] | None = None
    reference_classes: torch.Tensor | None = None
    items: torch.Tensor | None = None

    def classes_of_references(self) -> torch.Tensor | None:
        """The class of the image each item's references describe."""
        return self.true if self.reference_classes is None else self.reference_classes


Reranker = Callable[[list[str], RewardContext], torch.Tensor]
