"""How often does the independent judge recognise the class of one training sentence per class,
chosen without the judge: the most central one (the lookup table's) or the one the *reward*
sentence classifier gives the highest probability of its class (plus w x centrality, both
z-scored within the class)? A perfect follower of the decision that speaks such sentences has
this rate as its counterfactual rate; probe_retrieve.py's `--grid class` was fixed after it.

Usage (repository root, venv active; RUN_DIR holds both scorers, i.e. it has been evaluated):
  python -m benchmarks.faithful class-typical flowers RUN_DIR
writes results/class-typical-<dataset>.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from interpnet.metrics.consensus import ConsensusSimilarity, centrality
from interpnet.scorers.sentence_classifier import SentenceClassifier
from interpnet.workflows.run import Run

RESULTS = Path(__file__).parent / "results"
WEIGHTS = (0.5, 1.0, 2.0)  # centrality weights beside the reward classifier's probability


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dataset", help="the name of the results file (flowers, synthbirds)")
    p.add_argument("run", type=Path)
    args = p.parse_args(argv)
    scorers = args.run / "scorers"
    reward, _ = SentenceClassifier.load(scorers / "reward" / "sentence_classifier")
    judge, _ = SentenceClassifier.load(scorers / "judge" / "sentence_classifier")
    layout = Run(args.run, progress=False).layout
    train = layout.split("train", skip_missing=True)
    refs = [s for e in train for s in e.sentences]
    labels = torch.tensor([e.label for e in train for _ in e.sentences])
    with torch.no_grad():
        own = reward.predict_proba(refs)[torch.arange(len(refs)), labels]
        judged = judge.predict_proba(refs).argmax(1)
    sim = ConsensusSimilarity([e.sentences for e in train]).matrix(refs)
    z = lambda x: (x - x.mean()) / x.std().clamp_min(1e-8)  # noqa: E731
    rules = {"central": None, "reward": 0.0, **{f"reward+central-w{w:g}": w for w in WEIGHTS}}
    out = {
        "run": str(args.run),
        "judge_top1_on_train_references": float((judged == labels).float().mean()),
    }
    for name, w in rules.items():
        hits, examples = [], []
        for c in labels.unique():
            rows = torch.nonzero(labels == c).flatten()
            central = centrality(sim, rows)
            score = central if w is None else z(own[rows]) + w * z(central)
            j = rows[int(score.argmax())]
            hits.append(bool(judged[j] == c))
            examples.append(refs[j])
        out[name] = {"recognised": sum(hits) / len(hits), "examples": examples[:3]}
        print(f"{name}: the judge recognises {100 * out[name]['recognised']:.1f}% of classes")
    path = RESULTS / f"class-typical-{args.dataset}.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
