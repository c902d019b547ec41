"""Corpus BLEU with the semantics of NLTK's ``corpus_bleu`` (no smoothing), in pure Python.

Used for the paper's protocol (tokens that keep punctuation). The standard protocol uses the
MS-COCO toolkit's own BLEU.
"""

from __future__ import annotations

import math

from interpnet.metrics.ngrams import ngram_counts


def corpus_bleu(
    candidates: list[list[str]], references: list[list[list[str]]], max_n: int = 4
) -> list[float]:
    """Cumulative BLEU-1..``max_n`` over a corpus.

    Clipped n-gram matches and candidate n-gram totals are summed over the corpus; the brevity
    penalty uses, per candidate, the reference length closest to it (the shorter on ties).
    A cumulative BLEU-n is 0 when any precision up to n is 0 (no smoothing), as in NLTK.
    """
    if len(candidates) != len(references):
        raise ValueError(f"{len(candidates)} candidates but {len(references)} reference sets")
    matches, totals = [0] * max_n, [0] * max_n
    cand_len = ref_len = 0
    for cand, refs in zip(candidates, references, strict=True):
        cand_len += len(cand)
        ref_len += min((len(r) for r in refs), key=lambda n: (abs(n - len(cand)), n), default=0)
        for n in range(1, max_n + 1):
            counts = ngram_counts(cand, n)
            best: dict[tuple[str, ...], int] = {}
            for ref in refs:
                for gram, c in ngram_counts(ref, n).items():
                    best[gram] = max(best.get(gram, 0), c)
            matches[n - 1] += sum(min(c, best.get(g, 0)) for g, c in counts.items())
            totals[n - 1] += max(0, len(cand) - n + 1)
    if cand_len == 0:
        return [0.0] * max_n
    bp = 1.0 if cand_len > ref_len else math.exp(1 - ref_len / cand_len)
    scores, log_sum = [], 0.0
    for n in range(max_n):
        if matches[n] == 0 or totals[n] == 0:
            scores.extend([0.0] * (max_n - n))
            break
        log_sum += math.log(matches[n] / totals[n])
        scores.append(bp * math.exp(log_sum / (n + 1)))
    return scores
