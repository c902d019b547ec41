"""An image-text retrieval model: which image does a sentence describe?

Text: a bag of word unigrams and bigrams embedded by an ``nn.EmbeddingBag``; images: a linear
map of (standardised) image features; both L2-normalised, compared by cosine similarity, and
trained contrastively (symmetric InfoNCE, as CLIP) on images and their reference sentences.
It is small on purpose: it trains in seconds on a CPU and, as a judge, has no part in common
with the explainer under test. (No kept library ships a contrastive text-feature model this
small; a CLIP checkpoint would need a download and would judge with a model trained on
other data.)
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from interpnet.scorers.ngrams import NgramEncoder, frequent_ngrams
from interpnet.storage import load_tensors, read_json, save_tensors, write_json

WEIGHTS, CONFIG = "model.safetensors", "config.json"


class RetrievalModel(nn.Module):
    """Scores (sentence, image) pairs: ``similarity(sentences, features)`` -> (S, I) cosines."""

    def __init__(self, ngrams: list[str], image_dim: int, embed_dim: int = 256):
        super().__init__()
        self.encoder = NgramEncoder(ngrams)
        self.image_dim, self.embed_dim = image_dim, embed_dim
        self.text = nn.EmbeddingBag(self.encoder.size, embed_dim, mode="mean")
        self.image = nn.Linear(image_dim, embed_dim)
        self.register_buffer("mean", torch.zeros(image_dim))
        self.register_buffer("std", torch.ones(image_dim))
        self.log_scale = nn.Parameter(torch.tensor(2.659))  # log(1 / 0.07), as CLIP

    @property
    def ngrams(self) -> list[str]:
        return self.encoder.ngrams

    def encode_text(self, sentences: list[str]) -> torch.Tensor:
        ids, offsets = self.encoder(sentences)
        device = self.image.weight.device
        return F.normalize(self.text(ids.to(device), offsets.to(device)), dim=-1)

    def encode_images(self, features: torch.Tensor) -> torch.Tensor:
        x = (features.to(self.mean.device).float() - self.mean) / self.std
        return F.normalize(self.image(x), dim=-1)

    @torch.no_grad()
    def similarity(self, sentences: list[str], features: torch.Tensor) -> torch.Tensor:
        """Cosine similarity of every sentence (rows) with every image (columns)."""
        self.eval()
        return (self.encode_text(sentences) @ self.encode_images(features).T).cpu()

    @classmethod
    def fit(
        cls,
        sentences: list[list[str]],
        features: torch.Tensor,
        embed_dim: int = 256,
        min_count: int = 2,
        epochs: int = 60,
        batch_size: int = 256,
        lr: float = 0.01,
        seed: int = 0,
    ) -> RetrievalModel:
        """Train on images (``features`` (N, D)) and their reference sentences (N lists): each
        step takes a batch of distinct images and one random reference of each."""
        flat = [s for sents in sentences for s in sents]
        model = cls(frequent_ngrams(flat, min_count), features.shape[1], embed_dim)
        model.mean.copy_(features.float().mean(0))
        model.std.copy_(features.float().std(0).clamp(min=1e-6) if len(features) > 1 else 1.0)
        gen = torch.Generator().manual_seed(seed)
        torch.nn.init.normal_(model.text.weight, std=0.1, generator=gen)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        model.train()
        for _ in range(epochs):
            for idx in torch.randperm(len(sentences), generator=gen).split(batch_size):
                if len(idx) < 2:
                    continue
                pick = [
                    sentences[i][int(torch.randint(len(sentences[i]), (1,), generator=gen))]
                    for i in idx.tolist()
                ]
                logits = (
                    model.log_scale.exp()
                    * model.encode_text(pick)
                    @ model.encode_images(features[idx]).T
                )
                target = torch.arange(len(idx))
                loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
                opt.zero_grad()
                loss.backward()
                opt.step()
                with torch.no_grad():
                    model.log_scale.clamp_(0.0, 4.6052)  # scale <= 100, as CLIP
        return model.eval()

    def save(self, directory: str | Path, info: dict) -> None:
        directory = Path(directory)
        save_tensors(directory / WEIGHTS, self.state_dict())
        config = {"ngrams": self.ngrams, "image_dim": self.image_dim, "embed_dim": self.embed_dim}
        write_json(directory / CONFIG, {**config, **info})

    @classmethod
    def load(cls, directory: str | Path) -> tuple[RetrievalModel, dict]:
        directory = Path(directory)
        cfg = read_json(directory / CONFIG, "retrieval model config")
        model = cls(cfg["ngrams"], cfg["image_dim"], cfg["embed_dim"])
        model.load_state_dict(load_tensors(directory / WEIGHTS, "retrieval model weights"))
        info = {k: v for k, v in cfg.items() if k not in ("ngrams", "image_dim", "embed_dim")}
        return model.eval(), info
