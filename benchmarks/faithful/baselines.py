"""Reference points without a trained explainer, for the distinct share / CIDEr-D frontier:
where do human sentences and plain retrieval of training sentences fall?

- ``oracle-consensus`` (a bound: it reads the test references): for each test image, its own
  reference with the highest CIDEr-D against its other references, scored against those others
  (human agreement scores every reference; this keeps each image's most consensual one);
- ``oracle-consensus-cap<c>`` / ``-once``: the same with no sentence given to more than c
  images (or to two: distinct by construction), greedily, best scores first;
- ``lookup-decision``: one training reference per class, the one closest by CIDEr-D to the
  other training references of its class, picked by the classifier's decision (the issue's
  "lookup table");
- ``nn-consensus``: nearest-neighbour captioning (Devlin et al. 2015, "Exploring nearest
  neighbor approaches for image captioning"): the k training images nearest to the test image
  (cosine of the judges' pretrained backbone features), their references pooled, the one with
  the highest mean similarity to the rest of the pool;
- ``nn-consensus-decision``: the same among the training images of the classifier's predicted
  class (so the sentence follows the decision).

The retrieval baselines copy training sentences (their copied share is 100%). They are scored
by ``evaluate_run`` on an explanations file (every metric but the counterfactual, which needs
a decoder), in a scratch copy of RUN's directory whose model gives the decisions; the oracles
by the caption metrics and specificity against each image's other references. The similarity
that picks a pool's sentence is CIDEr-D's (tf-idf cosine of 1- to 4-grams, document
frequencies from the training references, Gaussian length penalty) without its clipping of
repeated n-grams, as one matrix over the training references; the scores reported are the
toolkit's.

Usage (repository root, venv active):
  python benchmarks/faithful/baselines.py DATASET RUN_DIR [--k 10] [--judge-cache DIR]
writes results/baselines-DATASET.json (frontier.py plots it); a baseline already there is
skipped.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

import torch

from interpnet.data.layouts import split_examples
from interpnet.metrics.captions import caption_metrics
from interpnet.metrics.cider import CiderD
from interpnet.metrics.consensus import ConsensusSimilarity, class_lookup, most_central
from interpnet.metrics.evaluate import caption_tools, evaluate_run
from interpnet.metrics.judges import JUDGE_BACKBONE, judge_features
from interpnet.metrics.specificity import specificity
from interpnet.model import InterpNet
from interpnet.report.explanations import write_jsonl
from interpnet.rundir import RunDirectory
from interpnet.text import words
from interpnet.training.data import model_split, open_run_layout, run_config

RESULTS = Path(__file__).parent / "results"
# name -> how many images one sentence may serve (None: any number)
ORACLES = {
    "oracle-consensus": None,
    "oracle-consensus-cap5": 5,
    "oracle-consensus-cap3": 3,
    "oracle-consensus-cap2": 2,
    "oracle-consensus-once": 1,
}
RETRIEVAL = ("lookup-decision", "nn-consensus", "nn-consensus-decision")
BASELINES = [*ORACLES, *RETRIEVAL]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def consensus_scores(refs: list[list[str]]) -> list[tuple[float, int, int]]:
    """(CIDEr-D of reference j of image i against the image's other references, i, j), best
    first; document frequencies from these references."""
    cider = CiderD([[words(r) for r in rs] for rs in refs])
    scored = []
    for i, rs in enumerate(refs):
        vecs = cider.reference_vectors([words(r) for r in rs])
        for j, r in enumerate(rs):
            scored.append((cider.score_vectors(words(r), vecs[:j] + vecs[j + 1 :]), i, j))
    return sorted(scored, reverse=True)


def oracle(
    refs: list[list[str]], scored: list[tuple[float, int, int]], cap: int | None
) -> list[int]:
    """Per image, the index of its most consensual reference (``scored``, best first) that
    fewer than ``cap`` images already have (None: no limit); an image whose every reference is
    taken that often keeps its best one."""
    chosen: dict[int, int] = {}
    best: dict[int, int] = {}
    uses: Counter = Counter()
    for _, i, j in scored:
        best.setdefault(i, j)
        key = " ".join(words(refs[i][j]))
        if i not in chosen and (cap is None or uses[key] < cap):
            chosen[i] = j
            uses[key] += 1
    return [chosen.get(i, best[i]) for i in range(len(refs))]


def score_oracle(refs: list[list[str]], picks: list[int], train_refs: list[str]) -> dict:
    hyps = [rs[j] for rs, j in zip(refs, picks, strict=True)]
    others = [rs[:j] + rs[j + 1 :] for rs, j in zip(refs, picks, strict=True)]
    with caption_tools(log, True) as (meteor, tokenizer, tok_name):
        out = caption_metrics(hyps, others, meteor, tokenizer)
    out["specificity"] = specificity(hyps, train_refs)
    out["tokenizer"] = tok_name
    return {"explanations": out, "examples": hyps[:5]}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dataset", help="the name of the results file (flowers, synthbirds)")
    p.add_argument("run", type=Path, help="a trained run directory (its data, its decisions)")
    p.add_argument("--k", type=int, default=10, help="neighbours for nn-consensus")
    p.add_argument("--k-decision", type=int, default=5, help="neighbours within the class")
    p.add_argument("--judge-cache", type=Path, default=None)
    p.add_argument("--only", nargs="*", choices=BASELINES, default=BASELINES)
    args = p.parse_args(argv)
    run = args.run.resolve()
    cfg = run_config(run)
    layout = open_run_layout(cfg)
    out_path = RESULTS / f"baselines-{args.dataset}.json"
    results = json.loads(out_path.read_text()) if out_path.is_file() else {}

    def save(name: str, value: dict) -> None:
        results[name] = value
        out_path.write_text(json.dumps(results, indent=1) + "\n")
        e = value["explanations"]
        fid = e.get("fidelity")
        log(
            f"{name}: distinct {100 * e['specificity']['distinct_share']:.1f}%, CIDEr-D "
            f"{e['standard']['CIDEr-D']:.1f}, METEOR {e['standard'].get('METEOR')}, fidelity "
            f"{'n/a' if fid is None else round(100 * fid, 1)}"
        )

    test = split_examples(layout, "test", cfg.skip_missing, log)
    train = layout.split("train", skip_missing=True)
    train_refs = [s for e in train for s in e.sentences]
    refs = [e.sentences for e in test]
    scored = None
    for name, cap in ORACLES.items():
        if min(len(r) for r in refs) < 2:
            log("the oracles skipped: they need at least 2 references per image")
            break
        if name not in results and name in args.only:
            start = time.time()
            scored = scored or consensus_scores(refs)
            value = score_oracle(refs, oracle(refs, scored, cap), train_refs)
            value["cap"] = cap
            value["seconds"] = round(time.time() - start, 1)
            save(name, value)

    todo = [n for n in RETRIEVAL if n not in results and n in args.only]
    if not todo:
        return 0
    start = time.time()
    model = InterpNet.from_pretrained(run)
    data = model_split(model, cfg, "test", False, layout)
    with torch.no_grad():
        predicted = torch.cat(
            [model.predict(data.batch(idx))[0] for idx in torch.arange(len(data)).split(512)]
        )
    scratch = run.parent / f"{run.name}-baselines"  # evaluate_run writes its metrics there
    if not scratch.is_dir():
        shutil.copytree(run, scratch, ignore=shutil.ignore_patterns("metrics*", "explanations*"))
    same = bool(cfg.features) and cfg.backbone == JUDGE_BACKBONE
    features = judge_features(
        layout,
        RunDirectory(scratch),
        cfg.skip_missing,
        cache_dir=(cfg.features if same else None) or args.judge_cache,
        layers=cfg.backbone_layers if same else (),
        progress=False,
        log=log,
    )
    unit = lambda x: torch.nn.functional.normalize(x.float(), dim=1)  # noqa: E731
    f_test = unit(features.get([e.rel_path for e in test]))
    f_train = unit(features.get([e.rel_path for e in train]))
    log(f"similarity of {len(train_refs)} training references")
    corpus = [e.sentences for e in train]
    sim = ConsensusSimilarity(corpus).matrix(train_refs)
    owner = torch.tensor([i for i, e in enumerate(train) for _ in e.sentences])
    train_labels = torch.tensor([e.label for e in train])
    ref_rows = [torch.nonzero(owner == i).flatten() for i in range(len(train))]
    prep = round(time.time() - start, 1)

    def explain(name: str) -> list[str]:
        if name == "lookup-decision":
            table = class_lookup(train_refs, train_labels[owner].tolist(), corpus)
            return [table.get(int(y), table[-1]) for y in predicted]
        nearest = f_test @ f_train.t()
        out = []
        for i in range(len(test)):
            row = nearest[i]
            k = args.k
            if name == "nn-consensus-decision" and (train_labels == predicted[i]).any():
                row = row.masked_fill(train_labels != predicted[i], -float("inf"))
                k = min(args.k_decision, int((train_labels == predicted[i]).sum()))
            images = row.topk(k).indices
            pool = torch.cat([ref_rows[int(j)] for j in images])
            out.append(train_refs[most_central(sim, pool)])
        return out

    for name in todo:
        t0 = time.time()
        sentences = explain(name)
        path = scratch / f"baseline-{name}.jsonl"
        write_jsonl(
            path,
            [
                {"key": e.rel_path, "label": int(y), "explanation": s}
                for e, y, s in zip(test, predicted, sentences, strict=True)
            ],
        )
        m = evaluate_run(
            scratch,
            "test",
            explanations=path,
            human=False,
            progress=False,
            log=log,
            counterfactual=False,
            judge_cache=args.judge_cache,
        )
        m["seconds"] = round(time.time() - t0 + prep, 1)
        m["decisions_of"] = str(run)
        m["k"] = args.k_decision if name.endswith("decision") else args.k
        m["examples"] = sentences[:5]
        save(name, m)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
