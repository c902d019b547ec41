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


class CiderD:
    """CIDEr-D (Vedantam et al. 2015, as the MS-COCO toolkit's ``CiderScorer``) with document
    frequencies fixed by a reference corpus, so single sentences can be scored in-process, fast
    enough for a training reward: tf-idf vectors for n = 1..4 (idf = log(#reference sets) -
    log(max(1, df))), clipped dot products, a Gaussian penalty (sigma 6) on the difference in
    length (counted in bigrams, as the toolkit does), averaged over n and references, x10.
    """

    def __init__(self, corpus: list[list[list[str]]], max_n: int = 4, sigma: float = 6.0):
        self.max_n, self.sigma = max_n, sigma
        self.df: Counter = Counter()
        for refs in corpus:
            self.df.update(
                {g for r in refs for n in range(1, max_n + 1) for g in ngram_counts(r, n)}
            )
        self.log_n = math.log(float(max(1, len(corpus))))

    def _vector(self, tokens: list[str]) -> tuple[list[dict], list[float], int]:
        vecs, norms, length = [], [], 0
        for n in range(1, self.max_n + 1):
            counts = ngram_counts(tokens, n)
            vec = {g: c * (self.log_n - math.log(max(1.0, self.df[g]))) for g, c in counts.items()}
            vecs.append(vec)
            norms.append(math.sqrt(sum(v * v for v in vec.values())))
            if n == 2:
                length = sum(counts.values())
        return vecs, norms, length

    def reference_vectors(self, references: list[list[str]]) -> list:
        """Precomputed vectors of one image's references (reuse them across candidates)."""
        return [self._vector(r) for r in references]

    def score_vectors(self, candidate: list[str], references: list) -> float:
        """CIDEr-D of a candidate against precomputed reference vectors."""
        if not references:
            return 0.0
        vh, nh, lh = self._vector(candidate)
        total = 0.0
        for vr, nr, lr in references:
            penalty = math.exp(-((lh - lr) ** 2) / (2 * self.sigma**2))
            for n in range(self.max_n):
                val = sum(min(v, vr[n].get(g, 0.0)) * vr[n].get(g, 0.0) for g, v in vh[n].items())
                if nh[n] != 0 and nr[n] != 0:
                    val /= nh[n] * nr[n]
                total += val * penalty
        return CIDER_SCALE * total / self.max_n / len(references)

    def score(self, candidate: list[str], references: list[list[str]]) -> float:
        """CIDEr-D of one tokenized candidate against its tokenized references."""
        return self.score_vectors(candidate, self.reference_vectors(references))
