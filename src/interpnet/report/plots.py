"""The report's figures (matplotlib, drawn off-screen), each returned as a PNG data URI."""

from __future__ import annotations

import base64
import io
from collections import Counter
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display; the figures go into the HTML file
import matplotlib.pyplot as plt  # noqa: E402

PHASE_CURVES = {  # phase -> (what is plotted, train key, val key)
    "classifier": ("loss", "train_loss", "val_loss"),
    "explainer": ("loss", "train_loss", "val_loss"),
    "discriminative": ("mean reward", None, "val_reward"),
}


def figure_uri(fig: Any) -> str:
    """A figure as a PNG data URI; the figure is closed."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def training_curves(logs: dict[str, list[dict[str, Any]]]) -> str | None:
    """One panel per training phase: each run's validation (solid) and training (dashed)
    curve per epoch. None when no run has a log."""
    seen = {r.get("phase") for log in logs.values() for r in log}
    phases = [p for p in PHASE_CURVES if p in seen]
    if not phases:
        return None
    fig, axes = plt.subplots(1, len(phases), figsize=(4.2 * len(phases), 3.0), squeeze=False)
    for ax, phase in zip(axes[0], phases, strict=True):
        what, train_key, val_key = PHASE_CURVES[phase]
        for n, (label, log) in enumerate(logs.items()):
            rows = [r for r in log if r.get("phase") == phase]
            epochs = [r["epoch"] for r in rows]
            color = f"C{n % 10}"
            if val_key and any(val_key in r for r in rows):
                ax.plot(epochs, [r.get(val_key) for r in rows], color=color, label=f"{label} val")
            if train_key and any(train_key in r for r in rows):
                ax.plot(epochs, [r.get(train_key) for r in rows], "--", color=color, alpha=0.6)
        ax.set_title(f"{phase} phase")
        ax.set_xlabel("epoch")
        ax.set_ylabel(what)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    return figure_uri(fig)


def metric_bars(values: dict[str, dict[str, float | None]], title: str) -> str:
    """Grouped bars (in %): one group per metric, one bar per run (and human references)."""
    metrics = list(next(iter(values.values())))
    fig, ax = plt.subplots(figsize=(max(5.0, 1.3 * len(metrics) * max(1, len(values)) ** 0.5), 3.2))
    width = 0.8 / len(values)
    for n, (label, row) in enumerate(values.items()):
        xs = [m + (n - (len(values) - 1) / 2) * width for m in range(len(metrics))]
        heights = [100 * (row.get(k) or 0.0) for k in metrics]
        bars = ax.bar(xs, heights, width, label=label, color="0.6" if label == "human" else f"C{n}")
        for bar, k in zip(bars, metrics, strict=True):
            if row.get(k) is None:
                bar.set_hatch("//")
    ax.set_xticks(range(len(metrics)), metrics, fontsize=8)
    ax.set_ylabel("%")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    return figure_uri(fig)


def class_scatter(points: dict[str, list[tuple[float, float, int]]]) -> str:
    """Per class: classifier accuracy (x) against introspection fidelity over the class's
    misclassified images (y), marker area ~ the number of those images; one colour per run."""
    fig, ax = plt.subplots(figsize=(5.0, 3.6))
    for n, (label, pts) in enumerate(points.items()):
        if pts:
            xs, ys, ns = zip(*pts, strict=True)
            ax.scatter(
                [100 * v for v in xs],
                [100 * v for v in ys],
                s=[8 + 6 * k for k in ns],
                alpha=0.5,
                color=f"C{n}",
                label=label,
            )
    ax.set_xlabel("classifier accuracy on the class (%)")
    ax.set_ylabel("fidelity on its wrong images (%)")
    ax.set_xlim(-2, 102)
    ax.set_ylim(-2, 102)
    ax.grid(alpha=0.3)
    for handle in ax.legend(fontsize=7).legend_handles:
        handle.set_sizes([20])  # one marker size in the legend, whatever the first point's
    return figure_uri(fig)


def length_histogram(lengths: dict[str, Sequence[int]]) -> str:
    """Histogram of sentence lengths in words, one outline per run and the human references."""
    fig, ax = plt.subplots(figsize=(5.0, 3.0))
    top = max((max(v) for v in lengths.values() if len(v)), default=1)
    bins = range(0, top + 2)
    for n, (label, values) in enumerate(lengths.items()):
        color = "0.4" if label == "human" else f"C{n}"
        ax.hist(values, bins=bins, histtype="step", density=True, label=label, color=color)
    ax.set_xlabel("words per sentence")
    ax.set_ylabel("share of sentences")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return figure_uri(fig)


def top_sentences(sentences: Sequence[str], k: int = 10) -> str:
    """The ``k`` most frequent explanations and how many images each is given to: one
    sentence for many images is a template, not an explanation of this image."""
    common = Counter(sentences).most_common(k)
    fig, ax = plt.subplots(figsize=(7.5, 0.28 * len(common) + 0.8))
    labels = [s if len(s) <= 70 else s[:67] + "..." for s, _ in common][::-1]
    ax.barh(range(len(common)), [c for _, c in common][::-1], color="C0")
    ax.set_yticks(range(len(common)), labels, fontsize=7)
    ax.set_xlabel(f"images (of {len(sentences)})")
    ax.grid(axis="x", alpha=0.3)
    return figure_uri(fig)
