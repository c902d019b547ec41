"""Distinct share against CIDEr-D for every test evaluation of the faithfulness benchmark (one
point per run and decoder, each seed its own point), coloured by fidelity, with the region the
issue's targets ask for (Flowers only: distinct >= 80%, CIDEr-D >= 60) shaded and the human
references marked, and the reference points of baselines.py where it ran (results/baselines-
<dataset>.json: each image's most consensual own human reference, with each sentence allowed
for at most c images; retrieval of training sentences).
The attention probe's runs (probe_attention*.sh: LRCN, attention and transformer explainers on
the same classifier parts) are drawn with red edges. Also lists the points no other beats on
both axes (the frontier), the probe's included.

Usage: python -m benchmarks.faithful frontier [flowers|synthbirds]
writes results/frontier-<dataset>.png and results/frontier-<dataset>.md
"""

from __future__ import annotations

import json
import sys

import matplotlib.pyplot as plt

from benchmarks.faithful.table import RESULTS, run_label, test_results

TARGETS = {"flowers": {"distinct": 80.0, "cider": 60.0}}  # the issue sets them on Flowers


def points(dataset: str) -> tuple[list[dict], dict | None]:
    """(run, decoder, distinct %, CIDEr-D, fidelity %) of every test evaluation, and the human
    references' (distinct, CIDEr-D) where human agreement ran."""
    results, human = test_results(dataset)
    out = []
    for run, decoder, _, m in results:
        e = m["explanations"]
        fid = e["fidelity"]
        out.append(
            {
                "run": run,
                "decoder": decoder,
                "distinct": 100 * e["specificity"]["distinct_share"],
                "cider": e["standard"]["CIDEr-D"],
                "fidelity": None if fid is None else 100 * fid,
            }
        )
    ref = None
    if human is not None and "standard" in human.get("human", {}):
        h = human["human"]
        ref = {
            "distinct": 100 * h["specificity"]["distinct_share"],
            "cider": h["standard"]["CIDEr-D"],
        }
    return out, ref


def baseline_points(dataset: str) -> list[dict]:
    """The baselines of baselines.py (none when it has not run on this data set)."""
    path = RESULTS / f"baselines-{dataset}.json"
    if not path.is_file():
        return []
    out = []
    for name, m in json.loads(path.read_text()).items():
        e = m["explanations"]
        fid = e.get("fidelity")
        out.append(
            {
                "run": name,
                "decoder": "-",
                "distinct": 100 * e["specificity"]["distinct_share"],
                "cider": e["standard"]["CIDEr-D"],
                "meteor": e["standard"].get("METEOR"),
                "fidelity": None if fid is None else 100 * fid,
            }
        )
    return out


def probe_points(dataset: str) -> list[dict]:
    """The attention probe's greedy test evaluations (probe_attention*.sh: the LRCN, attention
    and transformer explainers reading the same classifier parts), one point per run and seed."""
    out = []
    for path in sorted((RESULTS / "probes" / f"attention-{dataset}").glob("seed*/*-metrics.json")):
        e = json.loads(path.read_text())["explanations"]
        fid = e.get("fidelity")
        out.append(
            {
                "run": f"{path.name.removesuffix('-metrics.json')} ({path.parent.name})",
                "decoder": "greedy",
                "distinct": 100 * e["specificity"]["distinct_share"],
                "cider": e["standard"]["CIDEr-D"],
                "fidelity": None if fid is None else 100 * fid,
            }
        )
    return out


def frontier(pts: list[dict]) -> list[dict]:
    """The points that no other point beats on both distinct share and CIDEr-D."""
    keep = [
        p
        for p in pts
        if not any(
            q["distinct"] >= p["distinct"]
            and q["cider"] >= p["cider"]
            and (q["distinct"], q["cider"]) != (p["distinct"], p["cider"])
            for q in pts
        )
    ]
    return sorted(keep, key=lambda p: p["distinct"])


def _scatter(ax, group: list[dict], marker: str, label: str, **style):
    """Points of ``group`` at (distinct, CIDEr-D), coloured by fidelity."""
    return ax.scatter(
        [p["distinct"] for p in group],
        [p["cider"] for p in group],
        c=[p["fidelity"] if p["fidelity"] is not None else float("nan") for p in group],
        cmap="viridis",
        vmin=40,
        vmax=100,
        marker=marker,
        label=label,
        **style,
    )


def main(argv: list[str]) -> int:
    dataset = argv[0] if argv else "flowers"
    pts, ref = points(dataset)
    if not pts:
        print(f"no test evaluations in {RESULTS / dataset}", file=sys.stderr)
        return 2
    fig, ax = plt.subplots(figsize=(7.5, 5))
    top = max(100.0, max(p["cider"] for p in pts) * 1.05)
    target = TARGETS.get(dataset)
    if target is not None:
        ax.add_patch(
            plt.Rectangle(
                (target["distinct"], target["cider"]),
                100 - target["distinct"],
                top - target["cider"],
                color="tab:green",
                alpha=0.12,
                label="the targets' region",
            )
        )
    for greedy in (True, False):
        group = [p for p in pts if (p["decoder"] == "greedy") == greedy]
        label = "greedy" if greedy else "reranked / sampled decoders"
        sc = _scatter(ax, group, "o" if greedy else "^", label, edgecolors="k", linewidths=0.4)
    fig.colorbar(sc, ax=ax, label="fidelity %")
    probes = probe_points(dataset)
    for kind, marker in (("lrcn", "P"), ("attention", "s"), ("transformer", "h")):
        group = [p for p in probes if p["run"].split(" ")[0].split("-")[0] == kind]
        if group:
            label = f"attention probe: {kind} (greedy)"
            _scatter(ax, group, marker, label, s=60, edgecolors="tab:red", linewidths=1.0)
    base = baseline_points(dataset)
    oracles = sorted(
        (b for b in base if b["run"].startswith("oracle")), key=lambda b: b["distinct"]
    )
    if oracles:
        ax.plot(
            [b["distinct"] for b in oracles],
            [b["cider"] for b in oracles],
            "D--",
            color="tab:gray",
            markersize=5,
            label="oracle: each image's most consensual own reference",
        )
    retrieval = [b for b in base if not b["run"].startswith("oracle")]
    for n, b in enumerate(retrieval):
        ax.scatter(
            [b["distinct"]],
            [b["cider"]],
            marker="x",
            c="tab:red",
            s=50,
            label="retrieval of training sentences (lookup, neighbours, by r(x))"
            if n == 0
            else None,
        )
    if ref is not None:
        ax.scatter(
            [ref["distinct"]],
            [ref["cider"]],
            marker="*",
            s=200,
            c="tab:red",
            label="human references",
        )
    ax.set(
        xlabel="distinct explanations, % of test images",
        ylabel="standard CIDEr-D",
        xlim=(0, 100),
        ylim=(0, top),
        title=f"{dataset}: specificity against the consensus metric (test split)",
    )
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    png = RESULTS / f"frontier-{dataset}.png"
    fig.savefig(png, dpi=120)
    rows = [
        "| run | decoder | distinct % | CIDEr-D | fidelity % |",
        "|---|---|---|---|---|",
    ]
    for p in frontier(pts + probes):
        fid = "n/a" if p["fidelity"] is None else f"{p['fidelity']:.1f}"
        rows.append(
            f"| {run_label(p['run'])} ({p['run']}) | {p['decoder']} | {p['distinct']:.1f} "
            f"| {p['cider']:.1f} | {fid} |"
        )
    title = f"# {dataset}: the distinct share / CIDEr-D frontier (test split)"
    text = f"{title}\n\n{len(pts)} test evaluations"
    if target is not None:
        inside = [
            p for p in pts if p["distinct"] >= target["distinct"] and p["cider"] >= target["cider"]
        ]
        text += (
            f"; {len(inside)} in the targets' region (distinct >= {target['distinct']:.0f}%, "
            f"CIDEr-D >= {target['cider']:.0f})"
        )
    text += ". No other evaluation beats these on both axes:\n\n" + "\n".join(rows) + "\n"
    if ref is not None:
        text += (
            f"\nHuman references: distinct {ref['distinct']:.1f}%, CIDEr-D {ref['cider']:.1f}.\n"
        )
    if base:
        text += (
            "\nReference points (baselines.py; the oracles read the test references, each "
            "scored against the image's other references):\n\n"
            "| baseline | distinct % | CIDEr-D | METEOR | fidelity % |\n|---|---|---|---|---|\n"
        )
        for b in sorted(base, key=lambda b: b["distinct"]):
            fid = "n/a" if b["fidelity"] is None else f"{b['fidelity']:.1f}"
            met = "-" if b["meteor"] is None else f"{b['meteor']:.1f}"
            text += f"| {b['run']} | {b['distinct']:.1f} | {b['cider']:.1f} | {met} | {fid} |\n"
    (RESULTS / f"frontier-{dataset}.md").write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
