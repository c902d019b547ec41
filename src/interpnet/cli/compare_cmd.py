"""``interpnet compare``: one table of evaluated runs, as Markdown and CSV."""

from __future__ import annotations

import argparse
from pathlib import Path

from interpnet.errors import InterpnetError
from interpnet.report.table import compare_rows, markdown, to_csv
from interpnet.rundir import RunDirectory
from interpnet.storage import atomic_write_bytes
from interpnet.workflows.evaluate import metrics_path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="compare evaluated runs in one table (Markdown and CSV)",
        description="Read metrics.json of each run (written by interpnet evaluate) and print "
        "one table, rows = runs plus human agreement, columns = the metrics, as Markdown and "
        "CSV: the paper's Table 1 rebuilt from runs of the conditioning variants.",
    )
    p.add_argument("run_dirs", metavar="RUN_DIR", nargs="+", help="evaluated run directories")
    p.add_argument("--split", default="test", help="which evaluation to read (default: test)")
    p.add_argument("--csv", metavar="FILE", help="also write the CSV to FILE")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    metrics = []
    for run_dir in args.run_dirs:
        m = RunDirectory(run_dir).read_metrics(args.split)
        if m is None:
            path = metrics_path(run_dir, args.split)
            raise InterpnetError(f"{path}: not found; run `interpnet evaluate {run_dir}` first")
        metrics.append(m)
    headers, rows = compare_rows(metrics)
    csv_text = to_csv(headers, rows)
    print(markdown(headers, rows))
    print()
    print(csv_text, end="")
    if args.csv:
        atomic_write_bytes(Path(args.csv), csv_text.encode())
    return 0
