"""Tables of evaluation results: one run (explanations vs human agreement) or many runs."""

from __future__ import annotations

import csv
import io
from typing import Any

from interpnet.workflows.word_maps import MAP_KINDS

# (column label, path inside "explanations"/"human" or the top level)
COLUMNS: list[tuple[str, tuple[str, ...]]] = [
    ("std BLEU-1", ("standard", "BLEU-1")),
    ("std BLEU-4", ("standard", "BLEU-4")),
    ("std METEOR", ("standard", "METEOR")),
    ("std ROUGE-L", ("standard", "ROUGE-L")),
    ("std CIDEr-D", ("standard", "CIDEr-D")),
    ("paper METEOR", ("paper", "METEOR")),
    ("paper BLEU-4", ("paper", "BLEU-4")),
    ("paper CIDEr", ("paper", "CIDEr")),
    ("distinct share", ("specificity", "distinct_share")),
    ("copied from training", ("specificity", "copied_share")),
    ("self-retrieval R@5", ("self_retrieval", "R@5")),
    ("relevance: predicted class", ("class_relevance", "predicted_class")),
    ("relevance: true class", ("class_relevance", "true_class")),
    ("introspection fidelity", ("fidelity",)),
    ("counterfactual: moved", ("counterfactual", "moved")),
    ("same-class control: judge changed", ("counterfactual", "same_class", "judge_changed")),
    (
        "decision-only same-class control: judge changed",
        ("counterfactual", "same_class_decision_only", "judge_changed"),
    ),
    ("counterfactual correlation (Pearson)", ("counterfactual", "correlation", "pearson")),
    ("attribute precision", ("attributes", "precision")),
    ("attribute recall", ("attributes", "recall")),
    ("attribute precision: correct images", ("attributes", "by_decision", "correct", "precision")),
    (
        "misclassified: predicted species' attributes",
        ("attributes", "by_decision", "misclassified", "predicted_species_share"),
    ),
]
_PERCENT = {
    "pointing",
    "distinct share",
    "copied from training",
    "self-retrieval R@5",
    "counterfactual: moved",
    "same-class control: judge changed",
    "decision-only same-class control: judge changed",
    "relevance: predicted class",
    "relevance: true class",
    "introspection fidelity",
    "attribute precision",
    "attribute recall",
    "attribute precision: correct images",
    "misclassified: predicted species' attributes",
}


_FRACTIONS = {"counterfactual correlation (Pearson)"}


def metric_value(d: dict[str, Any] | None, path: tuple[str, ...]) -> Any:
    """The value at ``path`` in a metrics dict (e.g. ``("standard", "METEOR")``), or None."""
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def format_metric(label: str, value: Any) -> str:
    """A metric value as the tables show it (percent for shares, "-" when undefined)."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "-"
    if label in _PERCENT:
        return f"{100 * value:.1f}%"
    return f"{value:.2f}" if label in _FRACTIONS else f"{value:.1f}"


def markdown(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def to_csv(headers: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return buf.getvalue()


LOOKUP = "lookup table"  # one training sentence per predicted class (metrics.json "lookup")


def evaluation_table(m: dict[str, Any]) -> str:
    """Metric | explanations | human agreement (| lookup table, where evaluated), for one run."""
    sources = ["explanations", "human"] + (["lookup"] if m.get("lookup") else [])
    accuracy = f"{100 * m['accuracy']:.1f}%"
    rows = [["classification accuracy", accuracy] + ["-"] * (len(sources) - 1)]
    for label, path in COLUMNS:
        rows.append([label] + [format_metric(label, metric_value(m.get(s), path)) for s in sources])
    title = (
        f"{m['variant']} on {m['split']} ({m['images']} images); standard = MS-COCO "
        f"toolkit, paper = the InterpNET paper's protocol; tokenizer: {m['tokenizer']}"
    )
    if m.get("lookup"):
        title += (
            f"; {LOOKUP} = each predicted class's most central training reference, for scale "
            "(caption metrics reward it)"
        )
    headers = ["metric", "explanations", "human agreement"]
    table = title + "\n\n" + markdown(headers + ([LOOKUP] if m.get("lookup") else []), rows)
    for key, draw in (("grounding", grounding_table), ("intervention", intervention_table)):
        if any(m.get(key, {}).get(kind) for kind in MAP_KINDS):  # a section with maps
            table += "\n\n" + draw(m[key])
    return table


def _map_rows(section: dict[str, Any], cells) -> list[list[str]]:
    """One row per kind of per-word map in ``section``: its name, then ``cells(result)``."""
    return [
        [kind.replace("_", " "), *cells(section[kind])] for kind in MAP_KINDS if section.get(kind)
    ]


def intervention_table(v: dict[str, Any]) -> str:
    """The intervention test: the decision's probability drop, pointed cells vs random."""
    rows = _map_rows(
        v,
        lambda r: (
            [format_metric("", r["cells"])]
            + [format_metric("pointing", r[k]) for k in ("drop", "random_drop")]
            + [format_metric("", r["ratio"])]
        ),
    )
    title = (
        f"intervention: in {v['images']} images, the cells of a {v['grid']} x {v['grid']} grid "
        "where the words peak set to the mean input, against as many random cells "
        f"({v['draws']} draws): the drop of the probability of the classifier's decision"
    )
    headers = ["map", "cells", "drop", "random drop", "ratio"]
    return title + "\n\n" + markdown(headers, rows)


def grounding_table(g: dict[str, Any]) -> str:
    """Pointing and mass of each kind of per-word map, beside a uniform map's."""
    rows = _map_rows(
        g,
        lambda r: (
            [str(r["words"])]
            + [
                f"{format_metric('pointing', r[k])} (uniform map "
                f"{format_metric('pointing', r[k + '_baseline'])})"
                for k in ("pointing", "mass")
            ]
        ),
    )
    title = (
        f"grounding: words that name or describe a part, in {g['images']} images "
        f"({g['part_words']} words, {g['not_visible']} of them on a hidden part and unscored)"
    )
    return title + "\n\n" + markdown(["map", "words", "pointing", "mass on the part"], rows)


def compare_rows(metrics: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Rows = runs (then human agreement and the lookup table, from the first run), columns =
    the metrics."""
    headers = ["run", "variant", "accuracy"] + [label for label, _ in COLUMNS]
    rows = []
    for m in metrics:
        rows.append(
            [str(m["run"]), str(m["variant"]), f"{100 * m['accuracy']:.1f}%"]
            + [format_metric(label, metric_value(m.get("explanations"), p)) for label, p in COLUMNS]
        )
    # reference rows from the first run: human agreement, its lookup table
    first = metrics[0] if metrics else {}
    for name, side in (
        ("human agreement", "human"),
        (f"{LOOKUP} ({first.get('run')}'s decisions)", "lookup"),
    ):
        if first.get(side):
            rows.append(
                [name, "-", "-"]
                + [format_metric(label, metric_value(first[side], p)) for label, p in COLUMNS]
            )
    return headers, rows
