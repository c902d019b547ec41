"""n-gram counting shared by the BLEU and CIDEr implementations."""

from __future__ import annotations

from collections import Counter


def ngram_counts(tokens: list[str], n: int) -> Counter[tuple[str, ...]]:
    """Counts of the n-grams of one length ``n``."""
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
