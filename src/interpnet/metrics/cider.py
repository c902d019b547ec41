"""Plain CIDEr (Vedantam et al. 2015), not CIDEr-D: the variant of the paper's protocol.

Computed as Vedantam's reference code ``pyciderevalcap`` (``cider/cider_scorer.py``, the copy
the InterpNET code evaluated with) does: tokens split on whitespace from PTB-tokenized text
(lowercased, punctuation removed), tf-idf vectors per n-gram length n = 1..4, document
frequencies from the references being evaluated (``df_mode="corpus"``), cosine similarity with
no length penalty and no clipping, averaged over n and over the references, and **multiplied by
10** (``score_avg *= 10.0``). The paper's Table 1 prints 100x the corpus mean of that.
(CIDEr-D of the standard protocol comes from the MS-COCO toolkit.)
"""

from __future__ import annotations

import math
from collections import Counter

from interpnet.metrics.ngrams import ngram_counts

# The reference implementation multiplies every per-image score by 10.
CIDER_SCALE = 10.0


def _tfidf(tokens: list[str], n: int, df: Counter, log_n_images: float) -> dict:
    counts = ngram_counts(tokens, n)
    return {g: c * (log_n_images - math.log(max(1.0, df[g]))) for g, c in counts.items()}


def _cosine(a: dict, b: dict) -> float:
    dot = sum(v * b.get(g, 0.0) for g, v in a.items())
    na = math.sqrt(sum(v * v for v in a.values()))
    nb = math.sqrt(sum(v * v for v in b.values()))
    return dot / (na * nb) if na > 0 and nb > 0 else 0.0


def corpus_cider(
    candidates: list[list[str]], references: list[list[list[str]]], max_n: int = 4
) -> tuple[float, list[float]]:
    """Mean plain CIDEr over the corpus and the per-candidate scores (reference-code scale).

    CIDEr(c, S) = 10 x mean over n = 1..max_n of the mean over references s of
    cos(tfidf_n(c), tfidf_n(s)). The document frequency of an n-gram is the number of
    candidates whose reference set contains it; idf = log(#candidates) - log(max(1, df)).
    Identical candidate and references (with informative n-grams) score 10.
    """
    if len(candidates) != len(references):
        raise ValueError(f"{len(candidates)} candidates but {len(references)} reference sets")
    if not candidates:
        return 0.0, []
    dfs = [Counter() for _ in range(max_n)]
    for refs in references:
        for n in range(1, max_n + 1):
            dfs[n - 1].update({g for r in refs for g in ngram_counts(r, n)})
    log_n = math.log(float(len(candidates)))
    scores = []
    for cand, refs in zip(candidates, references, strict=True):
        per_n = []
        for n in range(1, max_n + 1):
            vc = _tfidf(cand, n, dfs[n - 1], log_n)
            sims = [_cosine(vc, _tfidf(r, n, dfs[n - 1], log_n)) for r in refs]
            per_n.append(sum(sims) / len(sims) if sims else 0.0)
        scores.append(CIDER_SCALE * sum(per_n) / max_n)
    return sum(scores) / len(scores), scores
