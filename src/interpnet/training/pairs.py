"""The explainer phases' data: r(x) of a split computed once, and its (image, reference
sentence) pairs as padded token ids."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from interpnet.data.splits import SplitData
from interpnet.model import InterpNet


@dataclass
class SplitPairs:
    """One split as the explainer learns from it: ``r`` (N, D), the true ``labels`` (N,) and
    the classifier's ``predicted`` classes (N,) of its images (on the model's device); for each
    (image, reference) pair, the image ``rows`` (P,) and the ``tokens`` (P, T) of the
    reference, padded."""

    r: torch.Tensor
    labels: torch.Tensor
    predicted: torch.Tensor
    rows: torch.Tensor
    tokens: torch.Tensor

    @classmethod
    @torch.no_grad()
    def read(
        cls,
        model: InterpNet,
        split: SplitData,
        tokens: list[list[list[str]]],
        max_length: int,
        device: torch.device,
    ) -> SplitPairs:
        """r(x) of ``split`` with the classifier in eval mode (BatchNorm statistics and dropout
        frozen: the classifier does not change in the explainer's phases), and the pairs of
        its tokenised references ``tokens``."""
        logits, r = model.introspect_split(split)
        rows, encoded = [], []
        for i, sents in enumerate(tokens):
            for sent in sents:
                rows.append(i)
                encoded.append(model.vocab.encode(sent, max_length))
        return cls(
            r,
            split.labels.to(device),
            logits.argmax(-1),
            torch.tensor(rows),
            model.vocab.pad_batch(encoded),
        )

    def __len__(self) -> int:
        return len(self.rows)

    def lengths(self, pad_id: int) -> torch.Tensor:
        """The length of each pair's sentence, in tokens."""
        return (self.tokens != pad_id).sum(1)

    def batch(self, model: InterpNet, idx: torch.Tensor, device: torch.device):
        """Pairs ``idx`` as the explainer's loss takes them: tokens cut to the longest, r(x),
        and the label the explainer reads, if any (the decision for ``decision_label``, else
        the true class)."""
        ex = self.rows[idx].to(device)
        tok = self.tokens[idx]
        tok = tok[:, : int((tok != 0).sum(1).max())].to(device)
        label = None
        if model.explainer.uses_label:
            label = (self.predicted if model.conditioning.decision_label else self.labels)[ex]
        return tok, self.r[ex], label

    def reference_batch(self, model: InterpNet, idx: torch.Tensor, epoch: int, device):
        """One reference sentence of each image of ``idx`` (a different one each epoch)."""
        first = torch.searchsorted(self.rows, idx)
        count = torch.searchsorted(self.rows, idx, right=True) - first
        return self.batch(model, first + epoch % count, device)
