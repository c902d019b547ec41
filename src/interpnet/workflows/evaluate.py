"""``evaluate_run``: decode a split (or read explanations), score it, write metrics.json."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from interpnet.data.cub import Example
from interpnet.data.layouts import split_examples
from interpnet.decoding import Decoding
from interpnet.decoding.rerank import Reranker
from interpnet.devices import resolve_device
from interpnet.errors import InterpnetError
from interpnet.metrics.attributes import AttributeTruth
from interpnet.metrics.captions import caption_metrics, tokenize_references
from interpnet.metrics.consensus import class_lookup
from interpnet.metrics.faithfulness import counterfactual_move
from interpnet.metrics.human_cache import cached_human_agreement
from interpnet.metrics.java import JavaUnavailable, coco_toolkit_dir, java_executable
from interpnet.metrics.meteor import Meteor
from interpnet.metrics.ptb import fallback_tokenize, ptb_tokenize
from interpnet.metrics.specificity import specificity
from interpnet.model import InterpNet
from interpnet.rundir import RunDirectory
from interpnet.storage import write_json
from interpnet.workflows.counterfactual import counterfactual_explanations
from interpnet.workflows.explain import align_records, explain_split, read_jsonl, write_jsonl
from interpnet.workflows.judges import JUDGE_BACKBONE, judge_features, judged, judges
from interpnet.workflows.run import model_split, open_run_layout, prepare_decoding, run_config


def metrics_path(run_dir: str | Path, split: str) -> Path:
    return RunDirectory(run_dir).metrics(split)


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


def evaluate_run(
    run_dir: str | Path,
    split: str = "test",
    data_root: str | None = None,
    explanations: str | Path | None = None,
    human: bool = True,
    use_java: bool = True,
    progress: bool = True,
    log: Callable[[str], None] = print,
    model: InterpNet | None = None,
    decoding: Decoding | None = None,
    reranker: Reranker | None = None,
    retrieval: bool = True,
    counterfactual: bool = True,
    lookup: bool = True,
    judge_cache: str | Path | None = None,
    human_cache: str | Path | None = None,
    device: str = "auto",
    trust_code: bool = False,
    **options: Any,
) -> dict[str, Any]:
    """Evaluate a run directory on one split; writes ``metrics.json`` (test) and returns it.

    The data is the run's (``train_config.json``) or ``data_root``; ``model`` is the run's model
    when it is already loaded (needed for a classifier the run cannot rebuild itself).
    ``decoding`` (or its fields as keyword arguments) says how to decode; a reranking decoding
    uses ``reranker`` or else the run's reward models, a contrastive one with a bank distractor
    its ``bank`` or else one built from the run's training split. Besides the caption metrics it
    reports specificity, and, by judges trained on the validation references (a sentence
    classifier; with ``retrieval``, an image-text retrieval model on pretrained backbone
    features): class relevance, introspection fidelity, self-retrieval and (``counterfactual``,
    when the model decodes) the counterfactual move rate. With ``lookup``, the same metrics for
    a lookup table under the same decisions (each predicted class -> its most central training
    reference), for scale. ``judge_cache``: a feature-cache
    folder for the judges' backbone features shared among runs. Human agreement, which depends
    only on the split's references, is computed once and cached in ``human_cache`` (default: the
    user cache folder). ``device``: where the run's model decodes (``"auto"``: CUDA when
    available; a given ``model`` stays where it is). ``trust_code``: consent to import the
    ``package.module:factory`` classifier the run names (see
    :meth:`~interpnet.InterpNet.from_pretrained`). Undefined values are ``None``.
    """
    start = time.time()
    run = RunDirectory(run_dir)
    if model is None:
        model = InterpNet.from_pretrained(run.path, trust_code=trust_code)
        model = model.to(resolve_device(device))
    decoding = decoding if decoding is not None else Decoding(**options)
    cfg = run_config(run.path, data_root)
    root = cfg.data_root
    layout = open_run_layout(cfg)
    examples = split_examples(layout, split, cfg.skip_missing, log)
    data = None
    if explanations is not None:
        records = align_records(read_jsonl(explanations), examples, str(explanations))
        classes = len(layout.class_names)
        bad = next((r for r in records if not 0 <= r["label"] < classes), None)
        if bad is not None:
            raise InterpnetError(
                f"{explanations}: {bad['key']}: label {bad['label']} is not a class index "
                f"of the data (0 to {classes - 1})"
            )
    else:
        data = model_split(model, cfg, split, progress, layout)
        decoding, reranker = prepare_decoding(
            model,
            cfg,
            run,
            decoding,
            reranker,
            progress,
            log,
            layout,
            data if split == "train" else None,
        )
        records = explain_split(
            model, data, progress=progress, decoding=decoding, reranker=reranker
        )
        write_jsonl(run.explanations(split), records)
    hyps = [r["explanation"] for r in records]
    refs = [e.sentences for e in examples]
    predicted = torch.tensor([int(r["label"]) for r in records])
    true = torch.tensor([e.label for e in examples])
    out: dict[str, Any] = {
        "run": str(run.path),
        "variant": model.conditioning.name,
        "split": split,
        "images": len(examples),
        "accuracy": float((predicted == true).float().mean()),
        "decoding": decoding.to_dict() if explanations is None else None,
    }
    features = None  # the judges first: a failure there should not waste the caption metrics
    if retrieval:
        same = bool(cfg.features) and cfg.backbone == JUDGE_BACKBONE
        features = judge_features(
            layout,
            run,
            cfg.skip_missing,
            cache_dir=(cfg.features if same else None) or judge_cache,
            layers=cfg.backbone_layers if same else (),
            device=cfg.device,
            progress=progress,
            log=log,
        )
    train_examples = layout.split("train", skip_missing=True)
    judge = judges(run, layout, cfg.skip_missing, features, log, train_examples)
    # one sentence per image: the explanations and (for scale) the lookup table's
    single = {"explanations": hyps}
    lookup_hyps = _lookup_sentences(train_examples, predicted) if lookup else None
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
    train_refs = [s for e in train_examples for s in e.sentences]
    for side, sents in single.items():
        out[side]["specificity"] = specificity(sents, train_refs)
    out.setdefault("human", {})["specificity"] = specificity([r[0] for r in refs], train_refs)
    out["judges"] = {k: v for k, v in judge.info.items() if k != "key"}
    split_features = features.get([e.rel_path for e in examples]) if features else None
    for side, sents in single.items():
        out[side].update(judged(judge, [[s] for s in sents], predicted, true, split_features))
    out["human"].update(judged(judge, refs, predicted, true, split_features))
    if counterfactual and data is not None:
        out["explanations"]["counterfactual"] = _counterfactual(
            model, data, decoding, reranker, judge
        )
    if AttributeTruth.available(root):
        truth = AttributeTruth(root)
        keys = [e.rel_path for e in examples]
        names = [layout.class_names[int(r["label"])] for r in records]
        for side, sents in single.items():
            out[side]["attributes"] = truth.score(keys, sents, names)
        flat_keys = [k for k, r in zip(keys, refs, strict=True) for _ in r]
        out["human"]["attributes"] = truth.score(flat_keys, [s for r in refs for s in r])
    out["seconds"] = round(time.time() - start, 1)
    out = _finite(out)
    write_json(run.metrics(split), out)
    return out


def _lookup_sentences(train: list[Example], predicted: torch.Tensor) -> list[str] | None:
    """The lookup table's answer to each decision: the predicted class's most central training
    reference (None without training references)."""
    sentences = [s for e in train for s in e.sentences]
    if not sentences:
        return None
    labels = [e.label for e in train for _ in e.sentences]
    table = class_lookup(sentences, labels, [e.sentences for e in train])
    return [table.get(int(p), table[-1]) for p in predicted]


def _counterfactual(model, data, decoding, reranker, judge) -> dict[str, Any]:
    swap = counterfactual_explanations(model, data, decoding, reranker)
    if swap is None:
        return {"applicable": False, "why": "r(x) holds only the input: no decision to swap"}
    probs = judge.sentence_classifier.predict_proba(swap["sentences"])
    moved = counterfactual_move(probs, swap["donor_predicted"], swap["own_predicted"])
    return {"applicable": True, "swapped": swap["swapped"], **moved}


def _finite(obj: Any) -> Any:
    """JSON has no NaN: write None instead."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj
