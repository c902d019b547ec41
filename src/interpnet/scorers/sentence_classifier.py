"""A small, fast sentence classifier (bag of unigrams + bigrams -> linear softmax) that predicts
the class a sentence describes. As a judge it is the yardstick for class relevance and
introspection fidelity; as a reward (trained on other data) it scores sentences in training
and reranking."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from interpnet.scorers.ngrams import NgramEncoder, frequent_ngrams, subset
from interpnet.storage import load_tensors, read_json, save_tensors, write_json

WEIGHTS, CONFIG = "model.safetensors", "config.json"


class SentenceClassifier(nn.Module):
    """Binary bag-of-n-grams logistic regression over the classes."""

    def __init__(self, ngrams: list[str], num_classes: int):
        super().__init__()
        self.encoder = NgramEncoder(ngrams)
        self.num_classes = num_classes
        self.bag = nn.EmbeddingBag(self.encoder.size, num_classes, mode="sum")
        nn.init.zeros_(self.bag.weight)

    @property
    def ngrams(self) -> list[str]:
        return self.encoder.ngrams

    def forward(self, sentences: list[str]) -> torch.Tensor:
        """Class logits (N, C)."""
        ids, offsets = self.encoder(sentences)
        device = self.bag.weight.device
        return self.bag(ids.to(device), offsets.to(device))

    @torch.no_grad()
    def predict_proba(self, sentences: list[str], batch_size: int = 4096) -> torch.Tensor:
        self.eval()
        parts = [
            torch.softmax(self(sentences[i : i + batch_size]), -1).cpu()
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
        model = cls(frequent_ngrams(sentences, min_count), num_classes)
        gen = torch.Generator().manual_seed(seed)
        encoded = model.encoder(sentences)
        y = torch.tensor(labels, dtype=torch.long)
        opt = torch.optim.Adam(model.parameters(), lr=0.05, weight_decay=weight_decay)
        for _ in range(epochs):
            for idx in torch.randperm(len(sentences), generator=gen).split(1024):
                loss = F.cross_entropy(model.bag(*subset(encoded, idx)), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        return model.eval()

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
        return model.eval(), info
