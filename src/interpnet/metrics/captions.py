"""Caption metrics under two protocols, on the same outputs, plus human agreement.

- **standard** (MS-COCO caption toolkit, as GVE reported): PTB tokenizer with punctuation
  removed, BLEU-1..4, METEOR 1.5 corpus aggregate, ROUGE-L, CIDEr-D.
- **paper** (as InterpNET's code computed its Table 1): mean of per-sentence METEOR 1.5 scores,
  cumulative 4-gram corpus BLEU on tokens that keep punctuation (NLTK ``corpus_bleu``
  semantics, no smoothing), and plain CIDEr on the same PTB tokens as the standard protocol
  (lowercased, punctuation removed), document frequencies from the evaluated references, with
  the reference code's x10 factor (:mod:`interpnet.metrics.cider`).

Scores are reported x100 (so paper CIDEr is 100 x 10 x the mean cosine similarity, as in the
paper's Table 1). The original code also ASCII-escapes non-ASCII characters before PTB
tokenization; interpnet does not, which only matters for non-ASCII text (Reed et al.'s CUB and
Flowers descriptions are pure ASCII).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

from interpnet.metrics.bleu import corpus_bleu
from interpnet.metrics.cider import corpus_cider
from interpnet.metrics.meteor import Meteor
from interpnet.text import tokenize

Tokenizer = Callable[[list[str]], list[str]]


def _flatten(refs: list[list[str]]) -> tuple[list[str], list[int]]:
    flat, sizes = [], []
    for r in refs:
        flat.extend(r)
        sizes.append(len(r))
    return flat, sizes


def _unflatten(flat: list[str], sizes: list[int]) -> list[list[str]]:
    out, i = [], 0
    for n in sizes:
        out.append(flat[i : i + n])
        i += n
    return out


def standard_scores(
    hyps_tok: list[str], refs_tok: list[list[str]], meteor: Meteor | None
) -> dict[str, float]:
    """MS-COCO toolkit scores on already PTB-tokenized text (x100)."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    gts = {i: refs for i, refs in enumerate(refs_tok)}
    res = {i: [h] for i, h in enumerate(hyps_tok)}
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    out = {f"BLEU-{n}": 100 * float(b) for n, b in enumerate(bleu, 1)}
    if meteor is not None:
        out["METEOR"] = 100 * meteor.score(hyps_tok, refs_tok)[0]
    out["ROUGE-L"] = 100 * float(Rouge().compute_score(gts, res)[0])
    out["CIDEr-D"] = 100 * float(Cider().compute_score(gts, res)[0])
    return out


def paper_scores(
    hyps: list[str],
    refs: list[list[str]],
    meteor: Meteor | None,
    hyps_ptb: list[str],
    refs_ptb: list[list[str]],
) -> dict[str, float]:
    """The InterpNET paper's protocol (x100).

    ``hyps_ptb`` / ``refs_ptb`` are the PTB-tokenized texts (space-joined tokens, punctuation
    removed) that the standard protocol also scores; CIDEr is computed on them.
    """
    hyp_tok = [tokenize(h, end_with_period=False) for h in hyps]
    ref_tok = [[tokenize(r, end_with_period=False) for r in rs] for rs in refs]
    out: dict[str, float] = {}
    if meteor is not None:
        _, per_sentence = meteor.score(
            [" ".join(t) for t in hyp_tok], [[" ".join(t) for t in rs] for rs in ref_tok]
        )
        out["METEOR"] = 100 * statistics.fmean(per_sentence) if per_sentence else 0.0
    out["BLEU-4"] = 100 * corpus_bleu(hyp_tok, ref_tok)[3]
    out["CIDEr"] = (
        100
        * corpus_cider([h.split() for h in hyps_ptb], [[r.split() for r in rs] for rs in refs_ptb])[
            0
        ]
    )
    return out


def tokenize_references(refs: list[list[str]], tokenizer: Tokenizer) -> list[list[str]]:
    """Every image's references tokenized in one call of ``tokenizer``."""
    flat, sizes = _flatten(refs)
    return _unflatten(tokenizer(flat), sizes)


def caption_metrics(
    hyps: list[str],
    refs: list[list[str]],
    meteor: Meteor | None,
    tokenizer: Tokenizer,
    refs_tok: list[list[str]] | None = None,
) -> dict[str, dict[str, float]]:
    """Both protocols for one set of hypotheses; ``refs_tok`` reuses a tokenization of refs
    (:func:`tokenize_references`)."""
    if refs_tok is None:
        refs_tok = tokenize_references(refs, tokenizer)
    hyps_tok = tokenizer(hyps)
    return {
        "standard": standard_scores(hyps_tok, refs_tok, meteor),
        "paper": paper_scores(hyps, refs, meteor, hyps_tok, refs_tok),
    }


def human_agreement(
    refs: list[list[str]], meteor: Meteor | None, tokenizer: Tokenizer
) -> dict[str, dict[str, float]]:
    """Each reference scored against the others, averaged over the choice of reference.

    With k references per image, choice j scores reference j of every image against the
    other k-1; the k results are averaged metric by metric.
    """
    k = min(len(r) for r in refs)
    if k < 2:
        raise ValueError("human agreement needs at least 2 references per image")
    tok = tokenize_references(refs, tokenizer)
    runs = []
    for j in range(k):
        hyps = [r[j] for r in refs]
        others = [r[:j] + r[j + 1 :] for r in refs]
        others_tok = [t[:j] + t[j + 1 :] for t in tok]
        hyps_tok = [t[j] for t in tok]
        runs.append(
            {
                "standard": standard_scores(hyps_tok, others_tok, meteor),
                "paper": paper_scores(hyps, others, meteor, hyps_tok, others_tok),
            }
        )
    return {
        proto: {m: statistics.fmean(r[proto][m] for r in runs) for m in runs[0][proto]}
        for proto in runs[0]
    }
