"""Probe: how much a contrastive explanation depends on its decoding batch. Decodes a split of
the contrastive probe's phase-3 run with batches of 256 (what the benchmark uses) and of 64,
and writes the share of sentences that change and the distinct share of each (raw sentences).

Usage (repository root, venv active, after probe_contrastive.py):
  python benchmarks/faithful/probe_batch.py flowers WORKDIR
writes results/probes/contrastive-<dataset>/batch-sensitivity.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from probe_contrastive import CONTRASTIVE
from run import LABEL_SET, RESULTS

from interpnet.model import InterpNet
from interpnet.report.explanations import explain_inputs
from interpnet.training.data import model_split, run_config

DECODERS = ("contrast0.8-mean", "contrast0.6-neighbour")
BATCHES = (256, 64)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    dataset, work = argv
    run = Path(work).resolve() / "runs" / f"disc-label-{LABEL_SET}-s0"
    model = InterpNet.from_pretrained(run)
    out = {"run": str(run), "batches": BATCHES}
    for split in ("val", "test"):
        data = model_split(model, run_config(run), split, False)
        for name in DECODERS:
            sentences = [
                [
                    e.sentence
                    for e in explain_inputs(
                        model, data, size, progress=False, decoding=CONTRASTIVE[name]
                    )
                ]
                for size in BATCHES
            ]
            a, b = sentences
            out[f"{split} {name}"] = {
                "changed_share": sum(x != y for x, y in zip(a, b, strict=True)) / len(a),
                "distinct_share": [len(set(s)) / len(s) for s in sentences],
                "images": len(a),
            }
    path = RESULTS / "probes" / f"contrastive-{dataset}" / "batch-sensitivity.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
