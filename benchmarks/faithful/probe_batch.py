"""Probe: how much a contrastive explanation depends on its decoding batch. Decodes a split of
the contrastive probe's phase-3 run with batches of 256 (what the benchmark uses) and of 64,
and writes the share of sentences that change and the distinct share of each (raw sentences).

Usage (repository root, venv active, after probe_contrastive.py with the same grid):
  python -m benchmarks.faithful probe-batch flowers WORKDIR [bank]
writes results/probes/contrastive[-bank]-<dataset>/batch-sensitivity.json; the ``bank`` grid
checks the bank decoder its seed 0 chose on val (choice-<run>-bank.json), whose distractors do
not come from the batch, beside the batch ``mean`` at 0.8.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from benchmarks.faithful.probe_contrastive import GRIDS, REFERENCE
from benchmarks.faithful.run import LABEL_SET, RESULTS
from interpnet.workflows.explain import explain_inputs
from interpnet.workflows.run import Run

DECODERS = ("contrast0.8-mean", "contrast0.6-neighbour")
BATCHES = (256, 64)


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3) or argv[2:] not in ([], ["bank"]):
        print(__doc__, file=sys.stderr)
        return 2
    dataset, work, *grid = argv
    folder = RESULTS / "probes" / ("-".join(["contrastive", *grid, dataset]))
    run = Path(work).resolve() / "runs" / f"disc-label-{LABEL_SET}-s0"
    decoders = DECODERS
    if grid:
        choice = json.loads((folder / f"choice-{run.name}-bank.json").read_text())["chosen"]
        decoders = (REFERENCE["bank"], choice)  # the batch mean beside it
    grid_decoders = GRIDS[grid[0] if grid else "batch"]
    opened = Run(run, progress=False)
    model = opened.model
    out = {"run": str(run), "batches": BATCHES}
    # a bank decoder gets its bank from the training split (read once), once for both splits
    decodings = {n: opened.prepare(grid_decoders[n])[0] for n in decoders}
    for split in ("val", "test"):
        data = opened.split(split)
        for name, decoding in decodings.items():
            sentences = [
                [
                    e.sentence
                    for e in explain_inputs(model, data, size, progress=False, decoding=decoding)
                ]
                for size in BATCHES
            ]
            a, b = sentences
            out[f"{split} {name}"] = {
                "changed_share": sum(x != y for x, y in zip(a, b, strict=True)) / len(a),
                "distinct_share": [len(set(s)) / len(s) for s in sentences],
                "images": len(a),
            }
    path = folder / "batch-sensitivity.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
