"""A small, fast sentence classifier (bag of unigrams + bigrams -> linear softmax) that predicts
the class a sentence describes. Trained on the training references, cached in the run directory.
It is the yardstick for class relevance and introspection fidelity."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from interpnet.storage import load_tensors, read_json, save_tensors, write_json
from interpnet.text import tokenize

WEIGHTS, CONFIG = "model.safetensors", "config.json"


def _features(sentence: str) -> list[str]:
    toks = [t for t in tokenize(sentence, end_with_period=False) if t.isalnum() or "-" in t]
    return toks + [f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False)]


class SentenceClassifier(nn.Module):
    """Binary bag-of-n-grams logistic regression over the classes."""

    def __init__(self, ngrams: list[str], num_classes: int):
        super().__init__()
        self.ngrams = ngrams
        self.index = {g: i for i, g in enumerate(ngrams)}
        self.num_classes = num_classes
        self.bag = nn.EmbeddingBag(len(ngrams) + 1, num_classes, mode="sum")  # +1: bias row
        nn.init.zeros_(self.bag.weight)

    def _encode(self, sentences: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        ids, offsets = [], []
        bias = len(self.ngrams)
        for s in sentences:
            offsets.append(len(ids))
            ids.extend(sorted({self.index[g] for g in _features(s) if g in self.index}))
            ids.append(bias)
        return torch.tensor(ids, dtype=torch.long), torch.tensor(offsets, dtype=torch.long)

    def forward(self, sentences: list[str]) -> torch.Tensor:
        """Class logits (N, C)."""
        return self.bag(*self._encode(sentences))

    @torch.no_grad()
    def predict_proba(self, sentences: list[str], batch_size: int = 4096) -> torch.Tensor:
        self.eval()
        parts = [
            torch.softmax(self(sentences[i : i + batch_size]), -1)
            for i in range(0, len(sentences), batch_size)
        ]
        return torch.cat(parts) if parts else torch.zeros(0, self.num_classes)

    @classmethod
    def fit(
        cls,
        sentences: list[str],
        labels: list[int],
        num_classes: int,
        min_count: int = 2,
        epochs: int = 30,
        weight_decay: float = 1e-4,
        seed: int = 0,
    ) -> SentenceClassifier:
        """Train with Adam on all sentences (deterministic for a given seed)."""
        counts = Counter(g for s in sentences for g in set(_features(s)))
        ngrams = sorted(g for g, c in counts.items() if c >= min_count)
        model = cls(ngrams, num_classes)
        gen = torch.Generator().manual_seed(seed)
        ids_offsets = model._encode(sentences)
        y = torch.tensor(labels, dtype=torch.long)
        opt = torch.optim.Adam(model.parameters(), lr=0.05, weight_decay=weight_decay)
        n = len(sentences)
        for _ in range(epochs):
            for idx in torch.randperm(n, generator=gen).split(1024):
                logits = model.bag(*_subset(ids_offsets, idx))
                loss = F.cross_entropy(logits, y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        return model

    def save(self, directory: str | Path, info: dict) -> None:
        directory = Path(directory)
        save_tensors(directory / WEIGHTS, {"bag.weight": self.bag.weight})
        write_json(
            directory / CONFIG, {"ngrams": self.ngrams, "num_classes": self.num_classes, **info}
        )

    @classmethod
    def load(cls, directory: str | Path) -> tuple[SentenceClassifier, dict]:
        directory = Path(directory)
        cfg = read_json(directory / CONFIG, "sentence classifier config")
        model = cls(cfg["ngrams"], cfg["num_classes"])
        model.bag.weight.data.copy_(load_tensors(directory / WEIGHTS)["bag.weight"])
        info = {k: v for k, v in cfg.items() if k not in ("ngrams", "num_classes")}
        return model, info


def _subset(ids_offsets: tuple[torch.Tensor, torch.Tensor], idx: torch.Tensor):
    """The EmbeddingBag input of the sentences at ``idx``."""
    ids, offsets = ids_offsets
    ends = torch.cat([offsets[1:], torch.tensor([len(ids)])])
    pieces = [ids[offsets[i] : ends[i]] for i in idx.tolist()]
    lengths = torch.tensor([len(p) for p in pieces])
    new_offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)[:-1]])
    return torch.cat(pieces), new_offsets
