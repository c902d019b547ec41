"""The demo's configuration trained with one option changed (e.g. length_bucketing=False), on
an existing demo's SynthBirds data, then evaluated on the test split: which change moves the
demo's test metrics. Writes results/demo-<label>-metrics.json.

Usage (repository root, venv active):
  python benchmarks/speed/demo_ablation.py LABEL DEMO_WORKDIR WORKDIR OPTION=VALUE ...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from interpnet.cli.demo_cmd import demo_config
from interpnet.workflows.evaluate import evaluate_run
from interpnet.workflows.train import configured_trainer

OUT = Path(__file__).parent / "results"


def main(label: str, demo: str, work: str, *options: str) -> int:
    overrides = {k: json.loads(v) for k, v in (o.split("=", 1) for o in options)}
    run = Path(work) / f"demo-{label}"
    if not (run / "metrics.json").is_file():
        cfg = demo_config(Path(demo) / "synthbirds", **overrides)
        configured_trainer(cfg, run, progress=False).fit()
        # no n-gram blocking: as the committed results were measured (it came later)
        evaluate_run(run, "test", progress=False, no_repeat_ngram=0)
    m = json.loads((run / "metrics.json").read_text())
    e = m["explanations"]
    result = {
        "options": overrides,
        "accuracy": m["accuracy"],
        "METEOR": e["standard"]["METEOR"],
        "CIDEr-D": e["standard"]["CIDEr-D"],
        "distinct": e["specificity"]["distinct_share"],
        "fidelity": e["fidelity"],
        "relevance": e["class_relevance"]["predicted_class"],
        "R@5": e["self_retrieval"]["R@5"],
        "attr_precision": e["attributes"]["precision"],
        "attr_recall": e["attributes"]["recall"],
    }
    (OUT / f"demo-{label}-metrics.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
