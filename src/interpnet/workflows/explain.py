"""Explain a whole split (batched), save the records as JSON lines, format samples."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from interpnet.data.cub import Example
from interpnet.data.splits import SplitData
from interpnet.decoding import Decoding, resolve_decoding
from interpnet.decoding.rerank import Reranker
from interpnet.errors import InterpnetError
from interpnet.features.inputs import FileInputs
from interpnet.model import InterpNet
from interpnet.storage import atomic_write_bytes
from interpnet.workflows.run import Run


def explain_inputs(
    model: InterpNet,
    inputs: torch.Tensor | SplitData,
    batch_size: int = 256,
    progress: bool = True,
    decoding: Decoding | None = None,
    reranker: Reranker | None = None,
    **options: Any,
) -> list:
    """``model.explain`` over many inputs in batches, with a progress bar; ``decoding`` (or its
    fields as keyword arguments) and ``reranker`` as for ``model.explain``."""
    device = next(model.parameters()).device
    decoding = resolve_decoding(decoding, options)
    generator = torch.Generator(device=device).manual_seed(decoding.seed)
    n = len(inputs) if isinstance(inputs, SplitData) else inputs.shape[0]
    out = []
    for idx in tqdm(
        torch.arange(n).split(batch_size),
        desc="explaining",
        unit="batch",
        leave=False,
        disable=not progress,
    ):
        x = inputs.batch(idx, device) if isinstance(inputs, SplitData) else inputs[idx].to(device)
        out.extend(model.explain(x, decoding, reranker, batch_size, generator))
    return out


def explain_files(
    model: InterpNet,
    paths: list[str | Path],
    batch_size: int = 32,
    progress: bool = False,
    **decode: Any,
) -> list[dict[str, Any]]:
    """Explain image files with a trained model, preprocessed as its run was (pixels, or the
    features of its backbone). One record per file: prediction, probability, explanation."""
    device = next(model.parameters()).device
    to_input = FileInputs(model.input_spec, device)
    records = []
    starts = range(0, len(paths), batch_size)
    for start in tqdm(starts, desc="explaining", unit="batch", leave=False, disable=not progress):
        batch = [str(p) for p in paths[start : start + batch_size]]
        for path, e in zip(batch, model.explain(to_input(batch), **decode), strict=True):
            records.append(
                {
                    "key": path,
                    "label": e.label,
                    "class_name": e.class_name,
                    "probability": round(e.probability, 6),
                    "explanation": e.sentence,
                }
            )
    return records


def explain_split(
    model: InterpNet, split: SplitData, progress: bool = True, **decode: Any
) -> list[dict[str, Any]]:
    """One record per example: prediction, explanation, truth and references."""
    names = model.class_names
    records = []
    explanations = explain_inputs(model, split, progress=progress, **decode)
    for i, exp in enumerate(explanations):
        true = int(split.labels[i])
        records.append(
            {
                "key": split.keys[i],
                "label": exp.label,
                "class_name": exp.class_name,
                "probability": round(exp.probability, 6),
                "true_label": true,
                "true_class": names[true] if names else str(true),
                "explanation": exp.sentence,
                "references": split.sentences[i],
            }
        )
    return records


def explain_run(
    run: Run,
    inputs: Sequence[str | Path] = (),
    split: str | None = None,
    decoding: Decoding | None = None,
    reranker: Reranker | None = None,
) -> list[dict[str, Any]]:
    """What ``interpnet explain`` does: explain image files (``inputs``), or every image of a
    ``split`` of the run's data, with the run's model; the decoding gets the banks and the
    reranker it names from the run's training data (see :meth:`Run.prepare`)."""
    if not inputs and not split:
        raise InterpnetError("give image files to explain, or a split of the run's data")
    data = run.split(split) if split else None  # before the training split a decoding reads
    decoding, reranker = run.prepare(decoding or Decoding(), reranker)
    decode = {"progress": run.progress, "decoding": decoding, "reranker": reranker}
    if data is not None:
        return explain_split(run.model, data, **decode)
    return explain_files(run.model, list(inputs), **decode)


def align_records(records: list[dict], examples: list[Example], source: str) -> list[dict]:
    """Records in the order of ``examples`` (matched by ``key``); every example needs exactly
    one record. ``source`` names the file in errors."""
    by_key = {}
    for n, r in enumerate(records, 1):
        if "key" not in r or "explanation" not in r or "label" not in r:
            raise InterpnetError(f"{source}: each line needs 'key', 'label' and 'explanation'")
        label, text = r["label"], r["explanation"]
        if isinstance(label, bool) or not isinstance(label, int) or not isinstance(text, str):
            raise InterpnetError(
                f"{source}: record {n}: 'label' must be a class index and 'explanation' a string"
            )
        by_key[str(r["key"])] = r
    missing = [e.rel_path for e in examples if e.rel_path not in by_key]
    if missing:
        raise InterpnetError(
            f"{source}: no explanation for {len(missing)} image(s) of the split, e.g. {missing[0]}"
        )
    return [by_key[e.rel_path] for e in examples]


def split_accuracy(records: list[dict[str, Any]]) -> float:
    if not records:
        return float("nan")
    return sum(r["label"] == r["true_label"] for r in records) / len(records)


def write_jsonl(path: str | Path, records: list[dict[str, Any]]) -> None:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    atomic_write_bytes(path, text.encode("utf-8"))


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InterpnetError(f"{path}: explanations file not found") from None
    except UnicodeDecodeError as err:
        raise InterpnetError(f"{path}: not UTF-8 text ({err})") from None
    try:
        records = [json.loads(line) for line in lines if line.strip()]
    except json.JSONDecodeError as err:
        raise InterpnetError(f"{path}: not a JSON-lines file ({err})") from None
    if not all(isinstance(r, dict) for r in records):
        raise InterpnetError(f"{path}: every line must be a JSON object")
    return records


def format_samples(records: list[dict[str, Any]], n: int = 10, references: int = 2) -> str:
    """``n`` evenly spaced records: prediction, explanation, and the first references."""
    if not records:
        return "(no examples)"
    step = max(1, len(records) // n)
    blocks = []
    for r in records[::step][:n]:
        mark = "ok" if r["label"] == r["true_label"] else f"WRONG, truly {r['true_class']}"
        lines = [
            f"{r['key']}",
            f"  predicted {r['class_name']} (p={r['probability']:.2f}, {mark})",
            f"  explanation: {r['explanation']}",
        ]
        lines += [f"  reference:   {ref}" for ref in r["references"][:references]]
        blocks.append("\n".join(lines))
    return "\n".join(blocks)
