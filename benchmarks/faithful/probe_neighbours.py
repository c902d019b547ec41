"""Probe (val only, no decoder choice written): reranking by the image's training look-alikes
of its predicted class (``class+neighbours``) on runs of the faithfulness benchmark.

Usage (repository root, venv active):
  python -m benchmarks.faithful probe-neighbours flowers WORKDIR RUN [RUN ...]
e.g. RUN = disc-label-class-cider-crossfit-swap-s2; results in results/<dataset>/ as the
benchmark's eval-<run>-val-<decoder>.json (skipped when there).
"""

from __future__ import annotations

import sys
from pathlib import Path

from benchmarks.faithful.run import PROBE_DECODERS, Bench


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    dataset, work, *runs = argv
    bench = Bench(dataset, Path(work).resolve(), [])
    for run in runs:
        for decoder in PROBE_DECODERS:
            bench.evaluate(run, "val", decoder)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
