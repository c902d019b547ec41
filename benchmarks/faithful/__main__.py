"""``python -m benchmarks.faithful ENTRY [ARGS...]``: run one entry of the faithfulness
benchmark (the benchmark itself, its tables and figure, the baselines and the probes), as its
module's command line; without an entry, list them."""

from __future__ import annotations

import ast
import runpy
import sys
from pathlib import Path

# entry name -> module of benchmarks.faithful
ENTRIES = {
    "run": "run",
    "table": "table",
    "frontier": "frontier",
    "baselines": "baselines",
    "probe-contrastive": "probe_contrastive",
    "probe-batch": "probe_batch",
    "probe-neighbours": "probe_neighbours",
    "probe-retrieve": "probe_retrieve",
    "probe-ngram": "probe_ngram",
    "probe-table": "probe_table",
    "probe-attention-table": "probe_attention_table",
    "cider-class": "cider_class",
    "class-typical": "class_typical",
    "confidence": "confidence",
    "precision-breakdown": "precision_breakdown",
}


def summary(entry: str) -> str:
    """The first line of the entry's module docstring (read, not imported)."""
    source = (Path(__file__).parent / f"{ENTRIES[entry]}.py").read_text()
    doc = ast.get_docstring(ast.parse(source)) or ""
    line = doc.splitlines()[0] if doc else ""
    return line if len(line) <= 72 else line[:69] + "..."


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ENTRIES:
        print("usage: python -m benchmarks.faithful ENTRY [ARGS...]\n\nentries:")
        for entry in ENTRIES:
            print(f"  {entry:20} {summary(entry)}")
        return 0 if not argv else 2
    sys.argv = [f"benchmarks.faithful {argv[0]}", *argv[1:]]
    runpy.run_module(f"benchmarks.faithful.{ENTRIES[argv[0]]}", run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
