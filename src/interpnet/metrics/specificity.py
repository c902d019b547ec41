"""Is each explanation specific to its input? Counts over the generated sentences themselves."""

from __future__ import annotations

from collections.abc import Iterable

from interpnet.text import words


def _distinct_n(tokenized: list[list[str]], n: int) -> float:
    grams = [tuple(t[i : i + n]) for t in tokenized for i in range(len(t) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def specificity(
    sentences: list[str], training_references: Iterable[str] = ()
) -> dict[str, float | int]:
    """For N sentences (one per input):

    - ``distinct_share``: distinct sentences / N (1/N when all are the same);
    - ``copied_share``: share of sentences that are verbatim a training reference (compared on
      lowercased words, punctuation ignored);
    - ``vocabulary``: distinct words used; ``distinct_1`` / ``distinct_2``: distinct unigrams /
      bigrams over all unigrams / bigrams (Li et al. 2016); ``mean_length`` in words.
    """
    if not sentences:
        raise ValueError("specificity needs at least one sentence")
    tokenized = [words(s) for s in sentences]
    keys = [" ".join(t) for t in tokenized]
    train = {" ".join(words(s)) for s in training_references}
    return {
        "distinct_share": len(set(keys)) / len(keys),
        "distinct_sentences": len(set(keys)),
        "copied_share": sum(k in train for k in keys) / len(keys),
        "vocabulary": len({w for t in tokenized for w in t}),
        "distinct_1": _distinct_n(tokenized, 1),
        "distinct_2": _distinct_n(tokenized, 2),
        "mean_length": sum(len(t) for t in tokenized) / len(tokenized),
    }
