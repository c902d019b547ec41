"""Tables of the attention probe (``probe_attention.sh``): per explainer, seeds as mean ± sd,
the caption and faithfulness metrics beside distinct share and fidelity; grounding and the
intervention test per kind of per-word map; the counterfactual test with its controls and
correlation; the explainer's seconds per epoch.

Usage: python -m benchmarks.faithful probe-attention-table [synthbirds|flowers]
       (writes results/probes/attention-<dataset>/table.md and prints it)
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from benchmarks.faithful.table import COLUMNS, RESULTS, _cell

EXPLAINERS = {
    "lrcn": "LRCN (pooled)",
    "attention": "attention, penalty 1",
    "attention-penalty0": "attention, penalty 0",
    "transformer": "transformer",
}
SHOWN = (
    "acc.", "std METEOR", "std CIDEr-D", "distinct %", "vocab", "R@5 %", "relevance pred. %",
    "fidelity %", "attr. precision",
)  # fmt: skip
MAPS = ("attention", "integrated_gradients", "grad_cam")


def _pct(value):
    return None if value is None else 100 * value


def _epoch_seconds(log: Path) -> float | None:
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    seconds = [r["seconds"] for r in rows if r.get("phase") == "explainer" and "seconds" in r]
    return statistics.median(seconds) if seconds else None


def _value(fn, m: dict):
    try:
        return fn(m, m["explanations"])
    except (KeyError, TypeError):
        return None


def _runs(folder: Path) -> dict[str, list[tuple[dict, Path]]]:
    runs: dict[str, list[tuple[dict, Path]]] = {}
    for seed in sorted(folder.glob("seed*")):
        for name in EXPLAINERS:
            path = seed / f"{name}-metrics.json"
            if path.is_file():
                runs.setdefault(name, []).append(
                    (json.loads(path.read_text()), seed / f"{name}-train_log.jsonl")
                )
    return runs


def _table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def probe_attention_table(dataset: str = "synthbirds") -> str:
    runs = _runs(RESULTS / "probes" / f"attention-{dataset}")
    columns = [(name, fn) for name, fn in COLUMNS if name in SHOWN]
    main = []
    for name, found in runs.items():
        cells = [_cell([_value(fn, m) for m, _ in found]) for _, fn in columns]
        cf = [m["explanations"].get("counterfactual") or {} for m, _ in found]
        cells += [
            _cell([_pct(c.get("moved")) for c in cf]),
            _cell([_pct((c.get("same_class") or {}).get("judge_changed")) for c in cf]),
            _cell(
                [_pct((c.get("same_class_decision_only") or {}).get("judge_changed")) for c in cf]
            ),
            _cell([(c.get("correlation") or {}).get("pearson") for c in cf]),
            _cell([_epoch_seconds(log) for _, log in found]),
        ]
        main.append([EXPLAINERS[name], str(len(found)), *cells])
    headers = [
        "explainer", "seeds", *(n for n, _ in columns), "cf. moved %",
        "same-class: judge changed %", "decision-only same-class: judge changed %",
        "cf. correlation", "explainer epoch s",
    ]  # fmt: skip
    maps = []
    for name, found in runs.items():
        for kind in MAPS:
            g = [(m.get("grounding") or {}).get(kind) for m, _ in found]
            v = [(m.get("intervention") or {}).get(kind) for m, _ in found]
            if not any(g) and not any(v):
                continue

            def get(items, key):
                return _cell([_pct(i[key]) if key != "ratio" else i[key] for i in items if i])

            maps.append(
                [
                    EXPLAINERS[name], kind.replace("_", " "), str(sum(1 for i in g if i)),
                    get(g, "pointing"), get(g, "pointing_baseline"), get(g, "mass"),
                    get(g, "mass_baseline"), get(v, "drop"), get(v, "random_drop"),
                    get(v, "ratio"),
                ]
            )  # fmt: skip
    map_headers = [
        "explainer", "map", "seeds", "pointing %", "uniform map %", "mass on part %",
        "part area %", "intervention drop %", "random drop %", "ratio",
    ]  # fmt: skip
    return (
        "Test split, greedy; grounding (where the data have parts) and intervention on a spread "
        "of test images (see the probe's script).\n\n"
        + _table(headers, main)
        + "\n\nPer-word maps: grounding of the words that name or describe a part, and the "
        "intervention test (a grid over the image, 8 x 8, or the backbone's 7 x 7 map; 4 random "
        "draws).\n\n" + _table(map_headers, maps) + "\n"
    )


def main(argv: list[str]) -> int:
    dataset = argv[0] if argv else "synthbirds"
    text = probe_attention_table(dataset)
    (RESULTS / "probes" / f"attention-{dataset}" / "table.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
