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
from interpnet.data.layouts import Layout, split_examples
from interpnet.errors import InterpnetError
from interpnet.metrics.attributes import AttributeTruth
from interpnet.metrics.captions import caption_metrics, human_agreement
from interpnet.metrics.faithfulness import class_relevance, introspection_fidelity
from interpnet.metrics.java import JavaUnavailable, coco_toolkit_dir, java_executable
from interpnet.metrics.meteor import Meteor
from interpnet.metrics.ptb import fallback_tokenize, ptb_tokenize
from interpnet.metrics.sentence_classifier import SentenceClassifier
from interpnet.model import InterpNet
from interpnet.report.explanations import explain_split, read_jsonl, write_jsonl
from interpnet.rundir import RunDirectory
from interpnet.storage import write_json
from interpnet.training.data import model_split, open_run_layout, run_config


def metrics_path(run_dir: str | Path, split: str) -> Path:
    return RunDirectory(run_dir).metrics(split)


def _align(records: list[dict], examples: list[Example], source: str) -> list[dict]:
    """Records in the order of ``examples``; every example needs exactly one record."""
    by_key = {}
    for n, r in enumerate(records, 1):
        if "key" not in r or "explanation" not in r or "label" not in r:
            raise InterpnetError(f"{source}: each line needs 'key', 'label' and 'explanation'")
        label, text = r["label"], r["explanation"]
        if isinstance(label, bool) or not isinstance(label, int) or not isinstance(text, str):
            raise InterpnetError(
                f"{source}: record {n}: 'label' must be a class index and 'explanation' a string"
            )
        by_key[str(r["key"])] = r
    missing = [e.rel_path for e in examples if e.rel_path not in by_key]
    if missing:
        raise InterpnetError(
            f"{source}: no explanation for {len(missing)} image(s) of the split, e.g. {missing[0]}"
        )
    return [by_key[e.rel_path] for e in examples]


def sentence_classifier(
    run_dir: str | Path, layout: Layout, log: Callable[[str], None]
) -> tuple[SentenceClassifier, dict]:
    """The run's cached sentence classifier, trained on first use from the training references
    (its validation accuracy on single human sentences is stored beside it)."""
    cache = RunDirectory(run_dir).sentence_classifier
    train = layout.split("train", skip_missing=True)
    key = {
        "data_root": str(Path(layout.root).resolve()),
        "train_images": len(train),
        "classes": len(layout.class_names),
    }
    if (cache / "config.json").is_file():
        model, info = SentenceClassifier.load(cache)
        if info.get("key") == key:
            return model, info
    log("training the sentence classifier on the training references (cached in the run dir)")
    sents = [s for e in train for s in e.sentences]
    model = SentenceClassifier.fit(
        sents, [e.label for e in train for _ in e.sentences], len(layout.class_names)
    )
    val = layout.split("val", skip_missing=True)
    probs = model.predict_proba([s for e in val for s in e.sentences])
    truth = torch.tensor([e.label for e in val for _ in e.sentences])
    info = {
        "key": key,
        "train_sentences": len(sents),
        "val_sentence_accuracy": float((probs.argmax(1) == truth).float().mean()),
    }
    model.save(cache, info)
    return model, info


def _faithfulness(
    sc: SentenceClassifier, sentences: list[list[str]], predicted: torch.Tensor, true: torch.Tensor
) -> dict[str, Any]:
    """Class relevance and fidelity for one or more sentences per example."""
    per = [len(s) for s in sentences]
    probs = sc.predict_proba([x for s in sentences for x in s])
    pred = predicted.repeat_interleave(torch.tensor(per))
    tru = true.repeat_interleave(torch.tensor(per))
    return {
        "class_relevance": class_relevance(probs, pred, tru),
        **introspection_fidelity(probs, pred, tru),
    }


@contextlib.contextmanager
def _caption_tools(log: Callable[[str], None], use_java: bool):
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
    **decode: Any,
) -> dict[str, Any]:
    """Evaluate a run directory on one split; writes ``metrics.json`` (test) and returns it.

    The data is the run's (``train_config.json``) or ``data_root``; ``model`` is the run's
    model when it is already loaded (needed for a classifier the run cannot rebuild itself).
    Undefined values (e.g. precision when nothing was mentioned) are ``None``.
    """
    start = time.time()
    run = RunDirectory(run_dir)
    model = model if model is not None else InterpNet.from_pretrained(run.path)
    cfg = run_config(run.path, data_root)
    root = cfg.data_root
    layout = open_run_layout(cfg)
    examples = split_examples(layout, split, cfg.skip_missing, log)
    if explanations is not None:
        records = _align(read_jsonl(explanations), examples, str(explanations))
    else:
        data = model_split(model, cfg, split, progress, layout)
        records = explain_split(model, data, progress=progress, **decode)
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
    }
    with _caption_tools(log, use_java) as (meteor, tokenizer, tok_name):
        out["tokenizer"] = tok_name
        out["explanations"] = caption_metrics(hyps, refs, meteor, tokenizer)
        if human and min(len(r) for r in refs) < 2:
            log("human agreement skipped: it needs at least 2 references per image")
        elif human:
            out["human"] = human_agreement(refs, meteor, tokenizer)
    sc, sc_info = sentence_classifier(run.path, layout, log)
    out["sentence_classifier"] = {k: v for k, v in sc_info.items() if k != "key"}
    out["explanations"].update(_faithfulness(sc, [[h] for h in hyps], predicted, true))
    out.setdefault("human", {}).update(_faithfulness(sc, refs, predicted, true))
    if AttributeTruth.available(root):
        truth = AttributeTruth(root)
        keys = [e.rel_path for e in examples]
        out["explanations"]["attributes"] = truth.score(keys, hyps)
        flat_keys = [k for k, r in zip(keys, refs, strict=True) for _ in r]
        out["human"]["attributes"] = truth.score(flat_keys, [s for r in refs for s in r])
    out["seconds"] = round(time.time() - start, 1)
    out = _finite(out)
    write_json(run.metrics(split), out)
    return out


def _finite(obj: Any) -> Any:
    """JSON has no NaN: write None instead."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj
