"""Probe: contrastive greedy decoding (``Decoding(method="contrastive")``) against greedy on
retrained chains of the best configuration (InterpNET_2 + decision label, then phase 3
``class-cider-crossfit-swap``), so every row of a seed comes from the same two models.

The run directories of the benchmark's own rows are on another machine, and a retrained run is
not the same run (benchmarks/faithful/README.md), so this probe trains its own copies (in
WORKDIR/runs) and compares decoders on them: on val first; with --test, greedy and the decoder
chosen on val (the benchmark's score: fidelity + distinct share + R@5 among decoders meeting the
language floor) on test. Two grids:

- ``batch`` (stop 23; results/probes/contrastive-<dataset>/): the distractors taken from the
  decoding batch, on seed 0's decision-label model and its phase 3;
- ``bank`` (results/probes/contrastive-bank-<dataset>/): the batch-independent distractors of a
  DistractorBank built from the training split, with the batch ``mean`` at 0.8 (stop 23's
  choice) beside them, on the phase-3 model of each seed; with --test the batch ``mean`` 0.8
  and the best of greedy and the bank decoders on val (choice-<run>-bank.json) are evaluated
  on test too, for the comparison.

Usage (repository root, venv active; resumable like run.py):
  python -m benchmarks.faithful probe-contrastive flowers WORKDIR [--grid bank] [--seeds 0 1 2]
      [--test]
WORKDIR as run.py's (Flowers: WORKDIR/features). The bank grid's runs are named as the batch
grid's, so one WORKDIR serves one grid (a retrained seed 0 is another model).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.faithful.run import LABEL_SET, OFF, PHASE3, RESULTS, REWARD_SETS, Bench
from interpnet.decoding import Decoding


def _grid(weights: dict[str, tuple[float, ...]]) -> dict[str, Decoding]:
    # OFF (no n-gram blocking): as the committed results were measured
    return {
        "greedy": Decoding(**OFF),
        **{
            f"contrast{c}-{d}": Decoding(method="contrastive", contrast=c, distractor=d, **OFF)
            for d, values in weights.items()
            for c in values
        },
    }


# The weights in [0, 1). Batch: the mean distractor also at 0.8 and 0.9 (at 0.6 the phase-3
# model kept its val fidelity and CIDEr-D 64.1, above the floor of 60). Bank: train-mean as the
# batch mean's best weight; the class mean (the template itself) lower, as it demotes the
# class's own words; the rival class at the batch neighbour's weights and 0.8.
GRIDS = {
    "batch": _grid({"neighbour": (0.3, 0.6), "mean": (0.3, 0.6, 0.8, 0.9)}),
    "bank": _grid(
        {"mean": (0.8,), "train-mean": (0.8,), "class-mean": (0.3, 0.6), "rival": (0.6, 0.8)}
    ),
}
REFERENCE = {"bank": "contrast0.8-mean"}  # also on test, beside the val choice


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dataset", choices=("flowers", "synthbirds"))
    p.add_argument("work", type=Path)
    p.add_argument("--grid", choices=sorted(GRIDS), default="batch")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--test", action="store_true", help="also evaluate on test")
    args = p.parse_args(argv)
    grid = GRIDS[args.grid]
    name = "contrastive" if args.grid == "batch" else f"contrastive-{args.grid}"
    out = RESULTS / "probes" / f"{name}-{args.dataset}"
    b = Bench(args.dataset, args.work.resolve(), [], out=out, decoders=grid)
    for seed in args.seeds:  # each seed evaluated in full before the next trains
        label, first = f"interpnet2-label-s{seed}", f"disc-label-{LABEL_SET}-s{seed}"
        b.train(label, variant="interpnet", decision_label=True, seed=seed)
        b.finetune(first, label, **{**PHASE3, **REWARD_SETS[LABEL_SET]})
        runs = (label, first) if args.grid == "batch" else (first,)
        for run in runs:
            for decoder in grid:
                b.evaluate(run, "val", decoder)
        if not args.test:
            continue
        for run in runs:
            best = b.choose_decoder(run, list(grid))
            wanted = ("greedy", best, REFERENCE.get(args.grid))
            if args.grid == "bank":  # the best batch-independent one too, chosen on val
                bank = [d for d in grid if d == "greedy" or grid[d].needs_bank]
                wanted += (b.choose_decoder(run, bank, tag="-bank"),)
            for decoder in dict.fromkeys(d for d in wanted if d):  # in this order
                b.evaluate(run, "test", decoder)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
