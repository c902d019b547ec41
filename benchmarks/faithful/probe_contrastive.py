"""Probe: contrastive greedy decoding (``Decoding(method="contrastive")``) against greedy on one
retrained chain of the best configuration (InterpNET_2 + decision label, then phase 3
``class-cider-crossfit-swap``), so every row comes from the same two models.

The run directories of the benchmark's own rows are on another machine, and a retrained run is
not the same run (benchmarks/faithful/README.md), so this probe trains its own copy of seed 0
(in WORKDIR/runs, results in results/probes/contrastive-<dataset>/) and compares decoders on it:
on val first; with --test, greedy and the decoder chosen on val (the benchmark's score:
fidelity + distinct share + R@5 among decoders meeting the language floor) on test.

Usage (repository root, venv active; resumable like run.py):
  python benchmarks/faithful/probe_contrastive.py flowers WORKDIR [--test]
WORKDIR as run.py's (Flowers: WORKDIR/features).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from run import LABEL_SET, PHASE3, RESULTS, REWARD_SETS, Bench

from interpnet.decoding import Decoding

# The weights in [0, 1); the mean distractor also at 0.8 and 0.9 (at 0.6 the phase-3 model
# kept its val fidelity and CIDEr-D 64.1, above the floor of 60)
GRID = {"neighbour": (0.3, 0.6), "mean": (0.3, 0.6, 0.8, 0.9)}
CONTRASTIVE = {
    "greedy": Decoding(),
    **{
        f"contrast{c}-{d}": Decoding(method="contrastive", contrast=c, distractor=d)
        for d, weights in GRID.items()
        for c in weights
    },
}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dataset", choices=("flowers", "synthbirds"))
    p.add_argument("work", type=Path)
    p.add_argument("--test", action="store_true", help="also evaluate on test")
    args = p.parse_args(argv)
    out = RESULTS / "probes" / f"contrastive-{args.dataset}"
    b = Bench(args.dataset, args.work.resolve(), [], out=out, decoders=CONTRASTIVE)
    label, first = "interpnet2-label-s0", f"disc-label-{LABEL_SET}-s0"
    b.train(label, variant="interpnet", decision_label=True, seed=0)
    for decoder in CONTRASTIVE:
        b.evaluate(label, "val", decoder)
    b.finetune(first, label, **{**PHASE3, **REWARD_SETS[LABEL_SET]})
    for decoder in CONTRASTIVE:
        b.evaluate(first, "val", decoder)
    if args.test:
        for run in (label, first):
            best = b.choose_decoder(run, list(CONTRASTIVE))
            for decoder in dict.fromkeys(d for d in ("greedy", best) if d):  # in this order
                b.evaluate(run, "test", decoder)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
