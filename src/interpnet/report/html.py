"""``build_report``: one self-contained HTML file for one or more evaluated runs of a split.

The file embeds everything (thumbnails and figures as data URIs, styles, a small script), so it
opens from disk with no network. It holds each run's summary and training curves, the
``compare`` table of the metrics with human agreement, figures, and a paged gallery of the
split with each explanation's per-word attribution to the parts of r(x) for the first
``attribute`` images and the first ``attribute`` misclassified ones. Paging works without
JavaScript (one anchor per page); filtering and sorting need it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from interpnet.attribution import WordAttributor
from interpnet.data.layouts import split_examples
from interpnet.devices import resolve_device
from interpnet.errors import InterpnetError
from interpnet.evidence import EvidenceMaps, attends
from interpnet.features.inputs import FileInputs
from interpnet.metrics.faithfulness import introspection_fidelity
from interpnet.model import InterpNet
from interpnet.model.loading import check_run_trust
from interpnet.report import plots
from interpnet.report.attribution_view import attribution_view
from interpnet.report.table import compare_rows, metric_value
from interpnet.report.thumbnails import thumbnails
from interpnet.rundir import RunDirectory
from interpnet.scorers.store import load_cached
from interpnet.storage import atomic_write_bytes, read_json
from interpnet.text import words
from interpnet.workflows.explain import align_records, read_jsonl
from interpnet.workflows.run import Run
from interpnet.workflows.word_maps import combined_map, feature_map_shape

BAR_METRICS = {  # figure label -> path in metrics["explanations"] / metrics["human"]
    "fidelity": ("fidelity",),
    "relevance (pred.)": ("class_relevance", "predicted_class"),
    "relevance (true)": ("class_relevance", "true_class"),
    "distinct": ("specificity", "distinct_share"),
    "R@5": ("self_retrieval", "R@5"),
    "cf. moved": ("counterfactual", "moved"),
}


@dataclass
class RunView:
    """What the report shows of one run."""

    label: str
    records: list[dict[str, Any]]
    metrics: dict[str, Any] | None
    summary: list[tuple[str, str]]
    log: list[dict[str, Any]]
    figures: dict[str, str] = field(default_factory=dict)
    attributions: dict[int, dict[str, Any]] = field(default_factory=dict)
    attribution_seconds: float = 0.0

    def attribution_summary(self, true: list[int]) -> list[tuple[str, int, list[str]]]:
        """Per group of attributed images (correct, misclassified): its number of words and
        each part's mean share (in magnitude) of a word's attribution."""
        rows = []
        for group, wrong in (("correct images", False), ("misclassified images", True)):
            shares = [
                row
                for i, view in self.attributions.items()
                if (int(self.records[i]["label"]) != true[i]) == wrong
                for row in view["abs_shares"]
            ]
            if shares:
                means = torch.tensor(shares).mean(dim=0).tolist()
                rows.append((group, len(shares), [f"{100 * m:.0f}%" for m in means]))
        return rows


def _labels(paths: Sequence[Path]) -> list[str]:
    """Short, distinct run labels: the folder names (with their parents where they clash)."""
    names = [p.name or str(p) for p in paths]
    if len(set(names)) == len(names):
        return names
    return [str(p) for p in paths]


def _describe_classifier(config: dict[str, Any]) -> str:
    c = config.get("classifier", {})
    kind = c.get("type", "?")
    if kind == "mlp":
        return f"MLP on features, hidden {c.get('hidden_sizes')}, {c.get('num_classes')} classes"
    if kind == "cnn":
        return (
            f"CNN on {c.get('image_size')} px pixels, channels {c.get('channels')}, "
            f"hidden {c.get('hidden_sizes')}, {c.get('num_classes')} classes"
        )
    return str(c.get("spec") or c.get("name") or c.get("class") or kind)


def _describe_decoding(d: dict[str, Any] | None) -> str:
    if not d:
        return "not recorded (explanations scored from a file)"
    text = str(d.get("method", "greedy"))
    if d.get("method") in ("beam", "diverse-beam"):
        text += f", width {d.get('beam_width')}"
    if d.get("method") == "sample":
        text += f", {d.get('num_samples')} samples"
    if d.get("method") == "contrastive":
        text += f", distractor {d.get('distractor')}, contrast {d.get('contrast')}"
        if d.get("bank"):
            text += f" (bank of {d['bank']['images']} training images)"
    if d.get("references"):
        among = "among" if d.get("method") == "retrieve" else "and"
        text += f" {among} {d['references']['references']} training references"
    if d.get("rerank"):
        text += f", reranked by {d['rerank']}"
    return text


def _summary(run: RunDirectory, config: dict[str, Any], metrics: dict | None, data: str):
    cond = config.get("conditioning", {})
    rows = [
        ("run directory", str(run.path)),
        ("data", data),
        ("classifier", _describe_classifier(config)),
        ("conditioning", f"{cond.get('variant')} ({metrics['variant'] if metrics else '-'})"),
        ("decoder", _describe_decoding(metrics.get("decoding") if metrics else None)),
    ]
    if metrics:
        rows.append(("classification accuracy", f"{100 * metrics['accuracy']:.1f}%"))
        rows.append(("tokenizer of the caption metrics", str(metrics.get("tokenizer", "-"))))
    else:
        rows.append(("metrics", "not evaluated on this split"))
    return rows


def _class_points(
    judge, records, true: torch.Tensor, num_classes: int
) -> list[tuple[float, float, int]]:
    """Per class with misclassified images: (accuracy, fidelity on them, how many)."""
    probs = judge.sentence_classifier.predict_proba([r["explanation"] for r in records])
    pred = torch.tensor([int(r["label"]) for r in records])
    points = []
    for c in range(num_classes):
        mine = true == c
        wrong = mine & (pred != c)
        if int(wrong.sum()) == 0:
            continue
        fid = introspection_fidelity(probs[mine], pred[mine], true[mine])
        acc = float((pred[mine] == c).float().mean())
        points.append((acc, fid["fidelity"], int(wrong.sum())))
    return points


def build_report(
    run_dirs: Sequence[str | Path],
    out: str | Path | None = None,
    split: str = "test",
    data_root: str | None = None,
    page_size: int = 48,
    attribute: int = 48,
    thumb_size: int = 96,
    n_steps: int = 32,
    heatmap_layer: str | None = "auto",
    cache_dir: str | Path | None = None,
    models: Sequence[InterpNet | None] | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
    device: str = "auto",
    trust_code: bool = False,
) -> Path:
    """Write the HTML report of ``run_dirs`` (each evaluated or explained on ``split``, on the
    same data) to ``out`` (default ``<first run>/report-<split>.html``); returns its path.

    ``attribute``: how many images (and how many misclassified ones) get per-word attribution
    (0: none), by integrated gradients with ``n_steps`` points, with heat maps at
    ``heatmap_layer`` for classifiers on pixels (see
    :class:`~interpnet.attribution.WordAttributor`); ``models``: already loaded
    models, one per run (None where the run can rebuild its own), the others loaded on
    ``device`` (``"auto"``: CUDA when available); ``cache_dir``: the thumbnail cache (default:
    the user cache folder). ``trust_code``: consent to import the ``package.module:factory``
    classifier a run names, to attribute its words (checked before any slow work).
    """
    start = time.time()
    if not run_dirs:
        raise InterpnetError("no run directory given to report on")
    if page_size < 1 or attribute < 0 or thumb_size < 8 or n_steps < 1:
        raise InterpnetError(
            "page_size and n_steps must be at least 1, thumb_size at least 8, attribute >= 0"
        )
    runs = [RunDirectory(p) for p in run_dirs]
    for n, run in enumerate(runs):
        run.require_model()
        if attribute and (models is None or models[n] is None):
            check_run_trust(run.path, trust_code)
        if not run.explanations(split).is_file():
            raise InterpnetError(
                f"{run.explanations(split)}: no explanations of the {split} split; evaluate "
                "the run on it first"
            )
    out = Path(out) if out is not None else runs[0].path / f"report-{split}.html"
    first = Run(runs[0], data_root, progress=progress, log=log)
    cfg, layout = first.config, first.layout
    examples = split_examples(layout, split, cfg.skip_missing, log)
    classes = layout.class_names
    true = torch.tensor([e.label for e in examples])
    views = []
    for run, label in zip(runs, _labels([r.path for r in runs]), strict=True):
        path = run.explanations(split)
        records = align_records(read_jsonl(path), examples, str(path))
        bad = [r["label"] for r in records if not 0 <= r["label"] < len(classes)]
        if bad:
            raise InterpnetError(
                f"{path}: class index {bad[0]} is not a class of {cfg.data_root}; the "
                "explanations belong to other data"
            )
        metrics = run.read_metrics(split)
        config = read_json(run.model_config, "model config")
        views.append(
            RunView(
                label,
                records,
                metrics,
                _summary(run, config, metrics, f"{cfg.data_root} ({split}: {len(examples)})"),
                run.read_log(),
            )
        )
    chosen = _attributed(views[0].records, true, attribute)
    attributors: list[WordAttributor | None] = [None] * len(runs)
    for n, run in enumerate(runs if chosen else ()):  # options checked before the slow work
        model = models[n] if models is not None else None
        if model is None:
            model = InterpNet.from_pretrained(run.path, trust_code=trust_code)
            model = model.to(resolve_device(device))
        attributors[n] = WordAttributor(model, n_steps=n_steps, heatmap_layer=heatmap_layer)
    figures = _figures(views, runs, examples, true, len(classes))
    thumbs = thumbnails(
        [e.image_path for e in examples], thumb_size, cache_dir=cache_dir, progress=progress
    )
    for view, attributor in zip(views, attributors, strict=True):
        if attributor is not None:
            t = time.time()
            view.attributions = _attribute(attributor, view.records, examples, chosen)
            view.attribution_seconds = round(time.time() - t, 1)
    html = _render(views, figures, examples, classes, thumbs, page_size, split, time.time() - start)
    atomic_write_bytes(out, html.encode("utf-8"))
    log(f"wrote {out} ({len(html) / 1e6:.1f} MB, {time.time() - start:.1f}s)")
    return out


def _figures(
    views: list[RunView], runs, examples, true: torch.Tensor, num_classes: int
) -> dict[str, str]:
    """The figures of all runs together (returned) and of each run (stored on its view)."""
    shared: dict[str, str] = {}
    curves = plots.training_curves({v.label: v.log for v in views})
    if curves:
        shared["training curves"] = curves
    evaluated = [v for v in views if v.metrics]
    if evaluated:
        bars = {
            v.label: {k: metric_value(v.metrics["explanations"], p) for k, p in BAR_METRICS.items()}
            for v in evaluated
        }
        human = evaluated[0].metrics.get("human") or {}
        bars["human"] = {k: metric_value(human, p) for k, p in BAR_METRICS.items()}
        shared["faithfulness and specificity"] = plots.metric_bars(
            bars, "judged by models trained on the validation references"
        )
    points = {}
    for view, run in zip(views, runs, strict=True):
        judge = load_cached(run.scorers("judge"))
        if judge is not None:
            points[view.label] = _class_points(judge, view.records, true, num_classes)
    if points:
        shared["accuracy vs fidelity per class"] = plots.class_scatter(points)
    lengths = {v.label: [len(words(r["explanation"])) for r in v.records] for v in views}
    lengths["human"] = [len(words(s)) for e in examples for s in e.sentences]
    shared["sentence lengths"] = plots.length_histogram(lengths)
    for view in views:
        view.figures["most frequent explanations"] = plots.top_sentences(
            [r["explanation"] for r in view.records]
        )
    return shared


def _attributed(records: list[dict[str, Any]], true: torch.Tensor, k: int) -> list[int]:
    """The first ``k`` images and the first ``k`` misclassified ones (by the first run)."""
    wrong = [i for i, r in enumerate(records) if int(r["label"]) != int(true[i])]
    return sorted(set(range(min(k, len(records)))) | set(wrong[:k]))


def _attribute(attributor: WordAttributor, records, examples, chosen: list[int], batch: int = 16):
    """Per chosen image index, the view of its explanation's attribution."""
    model = attributor.model
    to_input = FileInputs(model.input_spec, next(model.parameters()).device)
    out = {}
    for s in range(0, len(chosen), batch):
        idx = chosen[s : s + batch]
        paths = [examples[i].image_path for i in idx]
        x, sentences = to_input(paths), [records[i]["explanation"] for i in idx]
        found = attributor.attribute(x, sentences)
        looked: list[torch.Tensor | None] = [None] * len(idx)
        if attends(model.explainer) and (x.dim() == 4 or feature_map_shape(model)):
            looked = [combined_map(e.maps) for e in EvidenceMaps(model).explain(x, sentences)]
        for i, path, a, att in zip(idx, paths, found, looked, strict=True):
            out[i] = attribution_view(a, path, to_input.seen_as, att)
    return out


def _render(views, figures, examples, classes, thumbs, page_size, split, seconds) -> str:
    env = Environment(
        loader=PackageLoader("interpnet.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    headers, rows = compare_rows([v.metrics for v in views if v.metrics])
    cards = []
    for i, e in enumerate(examples):
        runs = []
        for v in views:
            r = v.records[i]
            p = r.get("probability")
            runs.append(
                {
                    "label": v.label,
                    "predicted": classes[int(r["label"])],
                    "p": f"{p:.2f}" if isinstance(p, int | float) else "-",
                    "ok": int(r["label"]) == e.label,
                    "explanation": r["explanation"],
                    "attribution": v.attributions.get(i),
                }
            )
        first_p = views[0].records[i].get("probability")
        cards.append(
            {
                "index": i,
                "key": e.rel_path,
                "thumb": thumbs[i],
                "truth": classes[e.label],
                "references": e.sentences[:2],
                "runs": runs,
                "wrong": not runs[0]["ok"],
                "p": first_p if isinstance(first_p, int | float) else 0.0,
            }
        )
    pages = [cards[s : s + page_size] for s in range(0, len(cards), page_size)]
    return env.get_template("report.html.j2").render(
        title=f"interpnet report: {', '.join(v.label for v in views)} ({split})",
        split=split,
        views=views,
        figures=figures,
        headers=headers,
        rows=rows,
        pages=pages,
        page_size=page_size,
        images=len(cards),
        wrong=sum(c["wrong"] for c in cards),
        truth=[e.label for e in examples],
        seconds=round(seconds, 1),
    )
