"""Which sentence of a group is the most central, by CIDEr-D's similarity: the lookup-table
reference point (one training sentence per class) that every evaluation reports for scale.

A table that answers each decision with its class's most central training sentence is what
caption metrics reward most (on Reed-style text it beats the human references on METEOR and
CIDEr-D), so an explanation's caption metrics mean little until they are set beside it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import torch

from interpnet.metrics.ngrams import ngram_counts
from interpnet.text import words

MAX_N, SIGMA = 4, 6.0  # CIDEr-D's n-gram orders and length penalty


class ConsensusSimilarity:
    """CIDEr-D's similarity of two sentences without its clipping of repeated n-grams: the mean
    over n = 1..4 of the tf-idf cosine (document frequencies over the reference sets
    ``corpus``), times the Gaussian penalty on the difference in length (in bigrams).

    Without the clipping, a group's pairwise matrix is a sparse product, so the groups of
    thousands of sentences are fast; sentences without repeated n-grams get CIDEr-D's value
    (divided by its x10 scale)."""

    def __init__(self, corpus: Sequence[Sequence[str]]):
        self.df: list[Counter] = []
        for n in range(1, MAX_N + 1):
            df: Counter = Counter()
            for refs in corpus:
                df.update({g for r in refs for g in ngram_counts(words(r), n)})
            self.df.append(df)
        self.log_n = math.log(float(max(1, len(corpus))))

    def matrix(self, sentences: Sequence[str], block: int = 1024) -> torch.Tensor:
        """(S, S) similarities of every pair of ``sentences`` (1 on the diagonal of a sentence
        with every n-gram order, 0 for one without words)."""
        toks = [words(s) for s in sentences]
        total = torch.zeros(len(toks), len(toks))
        for n in range(1, MAX_N + 1):
            rows, cols, vals, vocab = [], [], [], {}
            for i, t in enumerate(toks):
                for g, c in ngram_counts(t, n).items():
                    rows.append(i)
                    cols.append(vocab.setdefault(g, len(vocab)))
                    vals.append(c * (self.log_n - math.log(max(1.0, self.df[n - 1][g]))))
            if not vals:
                continue
            v = torch.tensor(vals)
            r = torch.tensor(rows)
            norms = torch.zeros(len(toks)).index_add_(0, r, v**2).sqrt()
            m = torch.sparse_coo_tensor(
                torch.stack([r, torch.tensor(cols)]),
                v / norms[r].clamp_min(1e-12),
                (len(toks), len(vocab)),
                check_invariants=False,  # built here, valid by construction
            ).coalesce()
            for start in range(0, len(toks), block):
                idx = torch.arange(start, min(start + block, len(toks)))
                dense = torch.index_select(m, 0, idx).to_dense()  # (block, vocabulary)
                total[:, start : start + len(idx)] += torch.sparse.mm(m, dense.t())
        lengths = torch.tensor([max(0, len(t) - 1) for t in toks], dtype=torch.float)
        penalty = torch.exp(-((lengths[:, None] - lengths[None, :]) ** 2) / (2 * SIGMA**2))
        return total * penalty / MAX_N


def centrality(sim: torch.Tensor, pool: torch.Tensor) -> torch.Tensor:
    """Each member of ``pool`` (indices into ``sim``): its mean similarity to the others."""
    sub = sim[pool][:, pool]
    return (sub.sum(1) - sub.diagonal()) / max(1, len(pool) - 1)


def most_central(sim: torch.Tensor, pool: torch.Tensor | None = None) -> int:
    """The index (into ``sim``) of the member of ``pool`` (default: all) with the highest mean
    similarity to the pool's other members; the first such on ties."""
    pool = torch.arange(sim.shape[0]) if pool is None else pool
    if len(pool) == 0:
        raise ValueError("an empty pool has no central sentence")
    return int(pool[int(centrality(sim, pool).argmax())])


def class_lookup(
    sentences: Sequence[str], labels: Sequence[int], corpus: Sequence[Sequence[str]]
) -> dict[int, str]:
    """Each class's most central sentence among ``sentences`` of that class (``labels``), with
    document frequencies from ``corpus`` (the training reference sets); key -1 (for a class
    without sentences): the most central of the classes' own."""
    if len(sentences) != len(labels):
        raise ValueError(f"{len(sentences)} sentences but {len(labels)} labels")
    if not sentences:
        raise ValueError("a lookup table needs at least one sentence")
    similarity = ConsensusSimilarity(corpus)
    by_class: dict[int, list[str]] = {}
    for s, y in zip(sentences, labels, strict=True):
        by_class.setdefault(int(y), []).append(s)
    table = {y: group[most_central(similarity.matrix(group))] for y, group in by_class.items()}
    heads = list(table.values())
    table[-1] = heads[most_central(similarity.matrix(heads))]
    return table
