"""Vocabulary: token <-> id mapping with special tokens, saved as JSON with a model."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import torch

from interpnet.errors import CheckpointError
from interpnet.storage import read_json, write_json

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)


class Vocabulary:
    """Maps tokens to ids. Ids 0..3 are ``<pad>``, ``<bos>``, ``<eos>``, ``<unk>``."""

    def __init__(self, tokens: Iterable[str]):
        words = [t for t in tokens if t not in SPECIALS]
        self.itos: list[str] = list(SPECIALS) + words
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("vocabulary tokens must be unique")

    pad_id, bos_id, eos_id, unk_id = 0, 1, 2, 3

    @classmethod
    def build(cls, sentences: Iterable[list[str]], min_count: int = 1) -> Vocabulary:
        """Build from tokenized sentences, keeping tokens seen at least ``min_count`` times.

        Tokens are ordered by decreasing count, ties alphabetically, so the result is
        deterministic.
        """
        counts = Counter(tok for sent in sentences for tok in sent)
        kept = [t for t, c in counts.items() if c >= min_count]
        kept.sort(key=lambda t: (-counts[t], t))
        return cls(kept)

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: list[str], max_length: int | None = None) -> list[int]:
        """Token ids followed by ``<eos>`` (truncated to ``max_length`` words first)."""
        if max_length is not None:
            tokens = tokens[:max_length]
        return [self.stoi.get(t, self.unk_id) for t in tokens] + [self.eos_id]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens for ``ids``, stopping at ``<eos>`` and skipping ``<pad>``/``<bos>``."""
        out = []
        for i in ids:
            i = int(i)
            if i == self.eos_id:
                break
            if i in (self.pad_id, self.bos_id):
                continue
            out.append(self.itos[i])
        return out

    def pad_batch(self, encoded: list[list[int]]) -> torch.Tensor:
        """Stack id lists into a (B, T) LongTensor padded with ``<pad>``."""
        length = max(len(e) for e in encoded)
        batch = torch.full((len(encoded), length), self.pad_id, dtype=torch.long)
        for row, ids in enumerate(encoded):
            batch[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        return batch

    def save(self, path: str | Path) -> None:
        write_json(path, {"itos": self.itos})

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        data = read_json(path, "vocabulary file")
        itos = data.get("itos") if isinstance(data, dict) else None
        if not isinstance(itos, list) or itos[: len(SPECIALS)] != list(SPECIALS):
            raise CheckpointError(
                f"{path}: corrupt vocabulary file (expected 'itos' starting "
                f"with {list(SPECIALS)}); retrain or restore it"
            )
        return cls(itos[len(SPECIALS) :])
