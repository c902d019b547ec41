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
  class (so the sentence follows the decision);
- ``rx-retrieval-decision``: the training reference of the predicted class that the run's
  *reward* retrieval model (trained on the training references, its image side on the
  explainer's input r(x): the network's internals, as InterpNET reads them) scores highest
  for the image; ``-c<w>`` adds w x the candidates' centrality in their class (both z-scored
  over the candidates), trading the image's own words for the class's consensus; w is chosen
  on val (``--split val`` first) by run.py's rule for decoders.

The retrieval baselines copy training sentences (their copied share is 100%). They are scored
by ``evaluate_run`` on an explanations file (every metric but the counterfactual, which needs
a decoder), in a scratch copy of RUN's directory whose model gives the decisions; the oracles
by the caption metrics and specificity against each image's other references. The similarity
that picks a pool's sentence is CIDEr-D's (tf-idf cosine of 1- to 4-grams, document
frequencies from the training references, Gaussian length penalty) without its clipping of
repeated n-grams, as one matrix over the training references; the scores reported are the
toolkit's.

Usage (repository root, venv active):
  python -m benchmarks.faithful baselines DATASET RUN_DIR [--k 10] [--judge-cache DIR]
writes results/baselines-DATASET.json (frontier.py plots it; with --split val,
results/baselines-DATASET-val.json, from which the test run marks the introspection weight
chosen on val); a baseline already there is skipped.
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
from interpnet.metrics.consensus import (
    ConsensusSimilarity,
    centrality,
    class_lookup,
    most_central,
)
from interpnet.metrics.specificity import specificity
from interpnet.rundir import RunDirectory
from interpnet.text import words
from interpnet.training.rewards import reward_scorers
from interpnet.workflows.evaluate import evaluate_run
from interpnet.workflows.explain import write_jsonl
from interpnet.workflows.judges import JUDGE_BACKBONE, judge_features
from interpnet.workflows.run import Run
from interpnet.workflows.scoring import caption_tools

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
# the reward retrieval model's choice among the predicted class's training references, its
# score (z-normalised over the candidates) plus weight x their centrality (the same)
INTROSPECTION = {
    "rx-retrieval-decision": 0.0,
    "rx-retrieval-decision-c0.25": 0.25,
    "rx-retrieval-decision-c0.5": 0.5,
    "rx-retrieval-decision-c1": 1.0,
    "rx-retrieval-decision-c2": 2.0,
}
BASELINES = [*ORACLES, *RETRIEVAL, *INTROSPECTION]


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
    p.add_argument(
        "--split",
        default="test",
        choices=("val", "test"),
        help="val: results in baselines-DATASET-val.json (to choose the introspection weight); "
        "the oracles run on test only",
    )
    args = p.parse_args(argv)
    run = args.run.resolve()
    opened = Run(run, progress=False, log=log)
    cfg, layout = opened.config, opened.layout
    tail = "" if args.split == "test" else f"-{args.split}"
    out_path = RESULTS / f"baselines-{args.dataset}{tail}.json"
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

    test = split_examples(layout, args.split, cfg.skip_missing, log)
    train = layout.split("train", skip_missing=True)
    train_refs = [s for e in train for s in e.sentences]
    refs = [e.sentences for e in test]
    scored = None
    for name, cap in ORACLES.items():
        if min(len(r) for r in refs) < 2 or args.split != "test":
            log("the oracles skipped: they need the test split, 2 references per image")
            break
        if name not in results and name in args.only:
            start = time.time()
            scored = scored or consensus_scores(refs)
            value = score_oracle(refs, oracle(refs, scored, cap), train_refs)
            value["cap"] = cap
            value["seconds"] = round(time.time() - start, 1)
            save(name, value)

    todo = [n for n in [*RETRIEVAL, *INTROSPECTION] if n not in results and n in args.only]
    if not todo:
        mark_choice(args, results, save)
        return 0
    start = time.time()
    model = opened.model
    data = opened.split(args.split)
    with torch.no_grad():
        logits, r = model.introspect_split(data)  # the decisions, and r(x) for rx-retrieval
    predicted, r = logits.argmax(1).cpu(), r.cpu()
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

    ref_labels = train_labels[owner]
    ranked: dict = {}  # the retrieval scores and centralities, computed for the first weight

    def introspection(weight: float) -> list[str]:
        if not ranked:
            train_data = opened.split("train")
            scorers = reward_scorers(model, train_data, run, log)
            with torch.no_grad():
                text = scorers.retrieval.encode_text(train_refs)
                ranked["score"] = scorers.retrieval.encode_images(r) @ text.t()
            ranked["central"] = torch.zeros(len(train_refs))
            for y in ref_labels.unique():
                rows = torch.nonzero(ref_labels == y).flatten()
                ranked["central"][rows] = centrality(sim, rows)
        z = lambda x: (x - x.mean()) / x.std().clamp_min(1e-8) if len(x) > 1 else x * 0  # noqa: E731
        out = []
        for i in range(len(test)):
            rows = torch.nonzero(ref_labels == predicted[i]).flatten()
            rows = rows if len(rows) else torch.arange(len(train_refs))
            total = z(ranked["score"][i, rows]) + weight * z(ranked["central"][rows])
            out.append(train_refs[int(rows[int(total.argmax())])])
        return out

    def explain(name: str) -> list[str]:
        if name in INTROSPECTION:
            return introspection(INTROSPECTION[name])
        if name == "lookup-decision":
            table = class_lookup(train_refs, ref_labels.tolist(), corpus)
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
            args.split,
            explanations=path,
            human=False,
            progress=False,
            log=log,
            counterfactual=False,
            judge_cache=args.judge_cache,
        )
        m["seconds"] = round(time.time() - t0 + prep, 1)
        m["decisions_of"] = str(run)
        if name.startswith("nn-"):
            m["k"] = args.k_decision if name.endswith("decision") else args.k
        if name in INTROSPECTION:
            m["centrality_weight"] = INTROSPECTION[name]
        m["examples"] = sentences[:5]
        save(name, m)
    mark_choice(args, results, save)
    return 0


def mark_choice(args: argparse.Namespace, results: dict, save) -> None:
    """On test: mark which introspection weight was chosen on val (once it is known)."""
    chosen = chosen_on_val(args.dataset) if args.split == "test" else None
    for name in INTROSPECTION:
        if chosen is not None and name in results and "chosen_on_val" not in results[name]:
            save(name, {**results[name], "chosen_on_val": name == chosen})


def chosen_on_val(dataset: str) -> str | None:
    """The weight of the introspection retrieval that run.py's rule (the language floor, then
    fidelity + distinct share + R@5) prefers on val; None until every weight ran on val."""
    from run import LANGUAGE_FLOOR  # the faithfulness benchmark's rule for choosing decoders

    path = RESULTS / f"baselines-{dataset}-val.json"
    val = json.loads(path.read_text()) if path.is_file() else {}
    if any(name not in val for name in INTROSPECTION):
        return None
    scored = {}
    for name in INTROSPECTION:
        e = val[name]["explanations"]
        floor = all(e["standard"].get(k, 0) >= v for k, v in LANGUAGE_FLOOR.items())
        score = e["fidelity"] + e["specificity"]["distinct_share"] + e["self_retrieval"]["R@5"]
        scored[name] = (floor, score)
    return max(scored, key=lambda n: scored[n])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
