"""What an evaluation computes from one sentence per image: caption metrics (with Java's PTB
tokenizer and METEOR), human agreement, specificity, the judges' class relevance, fidelity and
self-retrieval, the counterfactual move rate, and the same for a lookup table, for scale."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from interpnet.decoding import Decoding
from interpnet.decoding.rerank import Reranker
from interpnet.metrics.captions import caption_metrics, tokenize_references
from interpnet.metrics.consensus import class_lookup
from interpnet.metrics.faithfulness import (
    counterfactual_change,
    counterfactual_move,
    pearson,
    total_variation,
)
from interpnet.metrics.human_cache import cached_human_agreement
from interpnet.metrics.java import JavaUnavailable, coco_toolkit_dir, java_executable
from interpnet.metrics.meteor import Meteor
from interpnet.metrics.ptb import fallback_tokenize, ptb_tokenize
from interpnet.metrics.specificity import specificity
from interpnet.scorers.store import Scorers
from interpnet.workflows.counterfactual import counterfactual_explanations
from interpnet.workflows.judges import judged


@contextlib.contextmanager
def caption_tools(log: Callable[[str], None], use_java: bool):
    """(METEOR client or None, tokenizer, tokenizer name); the JVM always stops on exit."""
    if use_java:
        try:
            java_executable()
            coco_toolkit_dir()
        except JavaUnavailable as err:
            log(f"warning: {err}; METEOR skipped, other metrics use a Python tokenizer")
            use_java = False
    if not use_java:
        yield None, fallback_tokenize, "interpnet fallback (no Java: not comparable to PTB)"
        return
    with Meteor() as meteor:
        yield meteor, ptb_tokenize, "PTB (Stanford CoreNLP 3.4.1)"


def score_explanations(
    out: dict[str, Any],
    hyps: list[str],
    refs: list[list[str]],
    predicted: torch.Tensor,
    true: torch.Tensor,
    train_sentences: list[list[str]],
    train_labels: list[int],
    judge: Scorers | None,
    features: torch.Tensor | None = None,
    human: bool = True,
    use_java: bool = True,
    lookup: bool = True,
    human_cache: str | Path | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, list[str]]:
    """Add to ``out`` the metrics of one explanation per image (``hyps``; ``refs`` the
    images' references, ``predicted``/``true`` their classes) and, with ``lookup``, of the
    lookup table under the same decisions: ``out["explanations"]``, ``out["lookup"]``,
    ``out["human"]``, ``out["judges"]`` (without judges, no class relevance or fidelity).
    Returns the sentences scored, by side (``explanations``, ``lookup``)."""
    single = {"explanations": hyps}
    lookup_hyps = lookup_sentences(train_sentences, train_labels, predicted) if lookup else None
    if lookup_hyps is not None:
        single["lookup"] = lookup_hyps
    with caption_tools(log, use_java) as (meteor, tokenizer, tok_name):
        out["tokenizer"] = tok_name
        refs_tok = tokenize_references(refs, tokenizer)  # once, for every side
        for side, sents in single.items():
            out[side] = caption_metrics(sents, refs, meteor, tokenizer, refs_tok)
        if human and min(len(r) for r in refs) < 2:
            log("human agreement skipped: it needs at least 2 references per image")
        elif human:
            out["human"] = cached_human_agreement(
                refs, meteor, tokenizer, tok_name, human_cache, log
            )
    train_refs = [s for sents in train_sentences for s in sents]
    for side, sents in single.items():
        out[side]["specificity"] = specificity(sents, train_refs)
    out.setdefault("human", {})["specificity"] = specificity([r[0] for r in refs], train_refs)
    if judge is None:
        return single
    out["judges"] = {k: v for k, v in judge.info.items() if k != "key"}
    for side, sents in single.items():
        out[side].update(judged(judge, [[s] for s in sents], predicted, true, features))
    out["human"].update(judged(judge, refs, predicted, true, features))
    return single


def lookup_sentences(
    sentences: list[list[str]], labels: list[int], predicted: torch.Tensor
) -> list[str] | None:
    """The lookup table's answer to each decision: the predicted class's most central training
    reference (None without training references)."""
    flat = [s for sents in sentences for s in sents]
    if not flat:
        return None
    flat_labels = [y for sents, y in zip(sentences, labels, strict=True) for _ in sents]
    table = class_lookup(flat, flat_labels, sentences)
    return [table.get(int(p), table[-1]) for p in predicted]


def counterfactual_scores(
    model,
    data,
    decoding: Decoding,
    reranker: Reranker | None,
    judge: Scorers,
    explanations: list[str] | None = None,
) -> dict[str, Any]:
    """The counterfactual move rate: how often the judge's class for an explanation moves to
    the donor's decision when the decision parts of r(x) are swapped. With the split's own
    ``explanations`` (decoded the same way), the controls (the same swap from a donor of the
    same predicted class, of the decision parts and of the decision alone: how many
    explanations change) and the correlation over swaps of both kinds between how much the
    swap changes the decision (total variation of the classifier's softmax) and how much it
    changes the explanation (total variation of the judge's class distribution)."""
    introspected = model.introspect_split(data, 256)
    swap = counterfactual_explanations(model, data, decoding, reranker, introspected=introspected)
    if swap is None:
        return {"applicable": False, "why": "r(x) holds only the input: no decision to swap"}
    classify = judge.sentence_classifier.predict_proba
    probs = classify(swap["sentences"])
    moved = counterfactual_move(probs, swap["donor_predicted"], swap["own_predicted"])
    out = {"applicable": True, "swapped": swap["swapped"], **moved}
    if explanations is None:
        return out
    own_probs = classify(explanations)
    decision, text = [], []
    for name, parts in (("same_class", "decision"), ("same_class_decision_only", "softmax")):
        same = counterfactual_explanations(
            model, data, decoding, reranker, same_class=True, parts=parts,
            introspected=introspected,
        )  # fmt: skip
        if same is None:
            out[name] = {"applicable": False, "why": "r(x) holds no softmax and no label"}
            continue
        mine = [explanations[i] for i in same["own"].tolist()]
        before, after = own_probs[same["own"]], classify(same["sentences"])
        out[name] = {
            "swapped": same["swapped"],
            **counterfactual_change(before, after, mine, same["sentences"]),
        }
        if parts == "decision":
            decision.append(total_variation(same["own_softmax"], same["donor_softmax"]))
            text.append(total_variation(before, after))
    decision.append(total_variation(swap["own_softmax"], swap["donor_softmax"]))
    text.append(total_variation(own_probs[swap["own"]], probs))
    x, y = torch.cat(decision), torch.cat(text)
    out["correlation"] = {
        "pearson": pearson(x, y),
        "swaps": len(x),
        "decision_change": float(x.mean()) if len(x) else float("nan"),
        "explanation_change": float(y.mean()) if len(y) else float("nan"),
    }
    return out


def finite(obj: Any) -> Any:
    """JSON has no NaN: write None instead."""
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj
