"""Tables of the faithfulness benchmark from results/<dataset>/*.json (written by run.py):
one row per (variant, decoder), seeds as mean ± sd, and the targets met or missed.

Usage: python -m benchmarks.faithful table > benchmarks/faithful/results/tables.md
       python -m benchmarks.faithful table compact   (the README's columns)
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
COLUMNS = [
    ("acc.", lambda m, e: 100 * m["accuracy"]),
    ("std METEOR", lambda m, e: e["standard"].get("METEOR")),
    ("std CIDEr-D", lambda m, e: e["standard"]["CIDEr-D"]),
    ("paper METEOR", lambda m, e: e["paper"].get("METEOR")),
    ("paper CIDEr", lambda m, e: e["paper"]["CIDEr"]),
    ("distinct %", lambda m, e: 100 * e["specificity"]["distinct_share"]),
    ("copied %", lambda m, e: 100 * e["specificity"]["copied_share"]),
    ("distinct-2", lambda m, e: e["specificity"]["distinct_2"]),
    ("vocab", lambda m, e: e["specificity"]["vocabulary"]),
    ("R@1 %", lambda m, e: 100 * e["self_retrieval"]["R@1"]),
    ("R@5 %", lambda m, e: 100 * e["self_retrieval"]["R@5"]),
    ("med. rank", lambda m, e: e["self_retrieval"]["median_rank"]),
    ("relevance pred. %", lambda m, e: 100 * e["class_relevance"]["predicted_class"]),
    ("fidelity %", lambda m, e: None if e["fidelity"] is None else 100 * e["fidelity"]),
    ("cf. moved %", lambda m, e: _cf(e, "moved")),
    ("cf. prefers donor %", lambda m, e: _cf(e, "prefers_donor")),
    ("attr. precision", lambda m, e: e.get("attributes", {}).get("precision")),
    ("attr. recall", lambda m, e: e.get("attributes", {}).get("recall")),
]
NAMES = {
    "captioning": "captioning",
    "gve-label": "gve-label",
    "gve": "GVE (full)",
    "interpnet0": "InterpNET_0",
    "interpnet2": "InterpNET_2",
    "interpnet2-label": "InterpNET_2 + decision label",
}


def _cf(e: dict, key: str):
    cf = e.get("counterfactual") or {}
    if not cf.get("applicable"):
        return "n/a"
    return None if cf.get(key) is None else 100 * cf[key]


def run_label(run: str) -> str:
    base = re.sub(r"-s\d+$", "", run)
    if base.startswith("disc-label-"):
        sets = base[11:].replace("-specific", ", then specific")  # phase 3 run twice
        return f"InterpNET_2 + decision label + discriminative ({sets})"
    if base.startswith("disc-"):
        return f"InterpNET_2 + discriminative ({base[5:]})"
    return NAMES.get(base, base)


def _cell(values: list) -> str:
    if any(isinstance(v, str) for v in values):
        return values[0]
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    fmt = "{:.3f}" if max(abs(v) for v in values) < 2 else "{:.1f}"
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(statistics.mean(values))} ± {fmt.format(statistics.stdev(values))}"


def test_results(dataset: str) -> tuple[list[tuple[str, str, bool, dict]], dict | None]:
    """The test-split evaluations as (run, decoder, chosen on val?, metrics), and the metrics
    the human row comes from: a step with human agreement if there is one (its caption
    metrics), else any step (specificity and the judges' numbers)."""
    out, human = [], None
    for path in sorted((RESULTS / dataset).glob("eval-*-test-*.json")):
        r = json.loads(path.read_text())
        m = r["metrics"]
        if "standard" in m.get("human", {}) or human is None:
            human = m
        if path.stem.endswith("-human"):
            continue  # the same explanations as the plain greedy step, with human agreement
        run = Path(m["run"]).name
        choice = RESULTS / dataset / f"choice-{run}.json"
        chosen = choice.is_file() and json.loads(choice.read_text())["chosen"] == r["decoder"]
        out.append((run, r["decoder"], chosen, m))
    return out, human


def table(dataset: str) -> str:
    rows: dict[tuple[str, str], list[dict]] = defaultdict(list)
    decoders: dict[tuple[str, str], set[str]] = defaultdict(set)
    results, human = test_results(dataset)
    for run, decoder, chosen, m in results:
        # the decoder chosen on val goes in one row over the seeds, whichever it was per seed
        group = "chosen on val" if chosen and decoder != "greedy" else decoder
        rows[(run_label(run), group)].append(m)
        decoders[(run_label(run), group)].add(decoder)
    out = ["| run | decoder | seeds | " + " | ".join(c for c, _ in COLUMNS) + " |"]
    out.append("|" + "---|" * (len(COLUMNS) + 3))
    for (label, group), ms in sorted(rows.items()):
        cells = [_cell([fn(m, m["explanations"]) for m in ms]) for _, fn in COLUMNS]
        names = ", ".join(sorted(decoders[(label, group)]))
        decoder = f"{names} (chosen on val)" if group == "chosen on val" else group
        out.append(f"| {label} | {decoder} | {len(ms)} | " + " | ".join(cells) + " |")
    if human is not None and "specificity" in human.get("human", {}):
        cells = _reference_cells(human, human["human"], skip="acc.")
        out.append("| human agreement | - | - | " + cells + " |")
    # reference points without a trained explainer (baselines.py), where they ran
    path = RESULTS / f"baselines-{dataset}.json"
    for name, m in (json.loads(path.read_text()) if path.is_file() else {}).items():
        out.append(f"| baseline: {name} | - | - | " + _reference_cells(m, m["explanations"]) + " |")
    return "\n".join(out)


def _reference_cells(m: dict, e: dict, skip: str = "") -> str:
    """One reference row's cells ("-" where a column does not apply)."""
    cells = []
    for name, fn in COLUMNS:
        try:
            cells.append(_cell([fn(m, e)]) if name != skip else "-")
        except (KeyError, TypeError):
            cells.append("-")
    return " | ".join(cells)


# The targets for the best InterpNET configuration: (column, threshold, relative to
# the human row's value of that column?).
TARGETS = {
    "flowers": [
        ("distinct %", 80.0, False),
        ("fidelity %", 90.0, False),
        ("relevance pred. %", 2.0, True),
        ("R@5 %", 1.0, True),
        ("cf. moved %", 80.0, False),
        ("std METEOR", 38.0, False),
        ("std CIDEr-D", 60.0, False),
    ],
    "synthbirds": [("attr. precision", 0.95, False)],
}


def best_configuration(dataset: str) -> str | None:
    """The InterpNET configuration (a run name without its seed) whose seed-0 run scores best
    on val with its chosen decoder, the language floor first (run.py's choice files); ties go
    to the shorter name, the simpler configuration."""
    best, key = None, None
    for path in (RESULTS / dataset).glob("choice-*-s0.json"):
        base = path.stem.removeprefix("choice-").removesuffix("-s0")
        if not base.startswith(("interpnet", "disc-")):
            continue  # captioning and gve are baselines, not InterpNET
        choice = json.loads(path.read_text())
        floor, score = choice["scores"][choice["chosen"]]
        if key is None or (floor, score, -len(base)) > key:
            best, key = base, (floor, score, -len(base))
    return best


def targets(dataset: str) -> str:
    """Each target met or missed by the best configuration, greedy and with the decoder
    chosen on val, over its seeds (met only where every seed meets it)."""
    base = best_configuration(dataset)
    if base is None or dataset not in TARGETS:
        return "(no configuration chosen on val yet)"
    runs: dict[str, list[tuple[dict, dict]]] = defaultdict(list)
    results, human = test_results(dataset)
    for run, decoder, chosen, m in results:
        if re.sub(r"-s\d+$", "", run) != base:
            continue
        if decoder == "greedy":
            runs["greedy"].append((m, m["explanations"]))
        if chosen:  # greedy too, where val chose it
            runs["chosen on val"].append((m, m["explanations"]))
    columns = dict(COLUMNS)
    out = [f"Best configuration by its seed-0 val score: {run_label(base)}\n"]
    out.append("| target | greedy | met | decoder chosen on val | met |")
    out.append("|---|---|---|---|---|")
    for name, threshold, relative in TARGETS[dataset]:
        fn = columns[name]
        if relative:
            if human is None:
                continue
            threshold *= fn(human, human["human"])
        row = [f"{name} >= {threshold:.3g}" + (" (from the human row)" if relative else "")]
        for group in ("greedy", "chosen on val"):
            values = [fn(m, e) for m, e in runs[group]]
            values = [v for v in values if isinstance(v, int | float)]
            if not values:
                row += ["-", "-"]
                continue
            met = all(v >= threshold for v in values)
            seeds = f"{len(values)} seed" + "s" * (len(values) > 1)
            row += [f"{_cell(values)} ({seeds})", "met" if met else "missed"]
        out.append("| " + " | ".join(row) + " |")
    return "\n".join(out)


def costs(dataset: str) -> str:
    """Training cost of each phase (sum of epoch seconds in the run's log; a fine-tuned run's
    log holds its source's first two phases) and of each step."""
    out = ["| run | classifier s | explainer s | discriminative s (epochs) | step s |"]
    out.append("|---|---|---|---|---|")
    for path in sorted((RESULTS / dataset).glob("train-*.json")):
        r = json.loads(path.read_text())
        sums: dict[str, float] = defaultdict(float)
        epochs: dict[str, int] = defaultdict(int)
        for rec in r["log"]:
            sums[rec["phase"]] += rec["seconds"]
            epochs[rec["phase"]] += 1
        disc = (
            f"{sums['discriminative']:.0f} ({epochs['discriminative']})"
            if epochs["discriminative"]
            else "-"
        )
        out.append(
            f"| {path.stem[6:]} | {sums['classifier']:.0f} | {sums['explainer']:.0f} | {disc} "
            f"| {r['step_seconds']:.0f} |"
        )
    return "\n".join(out)


COMPACT = (
    "std METEOR",
    "std CIDEr-D",
    "distinct %",
    "R@5 %",
    "relevance pred. %",
    "fidelity %",
    "cf. moved %",
    "attr. precision",
    "attr. recall",
)


def main() -> None:
    """All columns; ``table.py compact``: the README's columns and no cost tables."""
    global COLUMNS
    compact = sys.argv[1:] == ["compact"]
    if compact:
        COLUMNS = [c for c in COLUMNS if c[0] in COMPACT]
    for dataset in sorted(p.name for p in RESULTS.iterdir() if p.is_dir() and p.name != "probes"):
        print(f"## {dataset} (test split)\n")
        print(table(dataset))
        if compact:
            print()
            continue
        print(f"\n### {dataset}: targets\n")
        print(targets(dataset))
        print(f"\n### {dataset}: training cost (2 CPU cores shared by two benchmarks)\n")
        print(costs(dataset))
        print()


if __name__ == "__main__":
    main()
