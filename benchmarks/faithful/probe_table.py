"""Table of a probe's results folder (results/probes/<probe>/): one row per (split, run, decoder),
seeds as mean ± sd, with the columns of the README's compact table.

Usage: python -m benchmarks.faithful probe-table contrastive-bank-flowers [...]
       (writes results/probes/<probe>/table.md and prints it)
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict

from benchmarks.faithful.table import COLUMNS, RESULTS, _cell, run_label

SHOWN = (
    "distinct %",
    "fidelity %",
    "R@5 %",
    "relevance pred. %",
    "cf. moved %",
    "std METEOR",
    "std CIDEr-D",
    "attr. precision",
    "attr. recall",
)


def probe_table(probe: str) -> str:
    folder = RESULTS / "probes" / probe
    columns = [(name, fn) for name, fn in COLUMNS if name in SHOWN]
    rows: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for path in sorted(folder.glob("eval-*.json")):
        r = json.loads(path.read_text())
        m = r["metrics"]
        base = re.sub(r"-s\d+$", "", m["run"].rstrip("/").rsplit("/", 1)[-1])
        rows[(m["split"], run_label(base), r["decoder"])].append(m)
    names = " | ".join(name for name, _ in columns)
    out = [f"| split | run | decoder | seeds | {names} |", "|" + "---|" * (len(columns) + 4)]
    for (split, label, decoder), ms in sorted(
        rows.items(), key=lambda kv: (kv[0][0] != "test",) + kv[0]
    ):
        cells = []
        for _, fn in columns:
            try:
                cells.append(_cell([fn(m, m["explanations"]) for m in ms]))
            except (KeyError, TypeError):
                cells.append("-")
        out.append(f"| {split} | {label} | {decoder} | {len(ms)} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    for probe in argv:
        text = probe_table(probe)
        (RESULTS / "probes" / probe / "table.md").write_text(text)
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
