"""Sentences as bags of word unigrams and bigrams, the text side of interpnet's scorers."""

from __future__ import annotations

from collections import Counter

import torch

from interpnet.text import tokenize


def sentence_ngrams(sentence: str) -> list[str]:
    """Lowercased word unigrams and bigrams of a sentence (punctuation dropped)."""
    toks = [t for t in tokenize(sentence, end_with_period=False) if t.isalnum() or "-" in t]
    return toks + [f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False)]


def frequent_ngrams(sentences: list[str], min_count: int = 2) -> list[str]:
    """The n-grams found in at least ``min_count`` sentences, sorted."""
    counts = Counter(g for s in sentences for g in set(sentence_ngrams(s)))
    return sorted(g for g, c in counts.items() if c >= min_count)


class NgramEncoder:
    """Sentences -> ``nn.EmbeddingBag`` inputs (ids, offsets): each sentence's distinct known
    n-grams, then one extra id (``len(ngrams)``) that every sentence has (a bias row)."""

    def __init__(self, ngrams: list[str]):
        self.ngrams = list(ngrams)
        self.index = {g: i for i, g in enumerate(self.ngrams)}

    @property
    def size(self) -> int:
        """Rows an embedding over these n-grams needs (the n-grams and the bias row)."""
        return len(self.ngrams) + 1

    def __call__(self, sentences: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        ids, offsets = [], []
        bias = len(self.ngrams)
        for s in sentences:
            offsets.append(len(ids))
            ids.extend(sorted({self.index[g] for g in sentence_ngrams(s) if g in self.index}))
            ids.append(bias)
        return torch.tensor(ids, dtype=torch.long), torch.tensor(offsets, dtype=torch.long)


def subset(ids_offsets: tuple[torch.Tensor, torch.Tensor], idx: torch.Tensor):
    """The EmbeddingBag input of the sentences at ``idx`` of an encoded batch."""
    ids, offsets = ids_offsets
    ends = torch.cat([offsets[1:], torch.tensor([len(ids)])])
    pieces = [ids[offsets[i] : ends[i]] for i in idx.tolist()]
    lengths = torch.tensor([len(p) for p in pieces])
    new_offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)[:-1]])
    return torch.cat(pieces), new_offsets
