"""``evaluate_run``: decode a split (or read explanations), score it, write metrics.json."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from interpnet.data.parts import PartAnnotations
from interpnet.decoding import Decoding
from interpnet.decoding.rerank import Reranker
from interpnet.errors import InterpnetError
from interpnet.metrics.attributes import AttributeTruth
from interpnet.model import InterpNet
from interpnet.rundir import RunDirectory
from interpnet.storage import write_json
from interpnet.workflows.evaluation import score_records
from interpnet.workflows.explain import align_records, explain_split, read_jsonl, write_jsonl
from interpnet.workflows.grounding import grounding_check
from interpnet.workflows.intervention import intervention_check
from interpnet.workflows.judges import JUDGE_BACKBONE, judge_features, judges
from interpnet.workflows.run import Run
from interpnet.workflows.scoring import finite
from interpnet.workflows.word_maps import MapCheck, has_image_maps, run_checks


def metrics_path(run_dir: str | Path, split: str) -> Path:
    return RunDirectory(run_dir).metrics(split)


def evaluate_run(
    run_dir: str | Path,
    split: str = "test",
    data_root: str | None = None,
    explanations: str | Path | None = None,
    human: bool = True,
    use_java: bool = True,
    progress: bool = True,
    log: Callable[[str], None] = print,
    model: InterpNet | None = None,
    decoding: Decoding | None = None,
    reranker: Reranker | None = None,
    retrieval: bool = True,
    counterfactual: bool = True,
    lookup: bool = True,
    judge_cache: str | Path | None = None,
    human_cache: str | Path | None = None,
    device: str = "auto",
    trust_code: bool = False,
    evidence_images: int | None = 200,
    **options: Any,
) -> dict[str, Any]:
    """Evaluate a run directory on one split; writes ``metrics.json`` (test) and returns it.

    The data is the run's (``train_config.json``) or ``data_root``; ``model`` is the run's model
    when it is already loaded (needed for a classifier the run cannot rebuild itself).
    ``decoding`` (or its fields as keyword arguments) says how to decode; a reranking decoding
    uses ``reranker`` or else the run's reward models, a contrastive one with a bank distractor
    its ``bank`` or else one built from the run's training split. Besides the caption metrics it
    reports specificity, and, by judges trained on the validation references (a sentence
    classifier; with ``retrieval``, an image-text retrieval model on pretrained backbone
    features): class relevance, introspection fidelity, self-retrieval and (``counterfactual``,
    when the model decodes) the counterfactual move rate. With ``lookup``, the same metrics for
    a lookup table under the same decisions (each predicted class -> its most central training
    reference), for scale. ``judge_cache``: a feature-cache
    folder for the judges' backbone features shared among runs. Human agreement, which depends
    only on the split's references, is computed once and cached in ``human_cache`` (default: the
    user cache folder). ``device``: where the run's model decodes (``"auto"``: CUDA when
    available; a given ``model`` stays where it is). ``trust_code``: consent to import the
    ``package.module:factory`` classifier the run names (see
    :meth:`~interpnet.InterpNet.from_pretrained`). ``evidence_images``: for a classifier on
    pixels, on how many items (spread evenly over the split; None: all, 0: none) the per-word
    maps are checked: the intervention test
    (:func:`~interpnet.workflows.intervention.intervention_test`) and, on a data root with part
    annotations (SynthBirds; CUB with ``parts/part_locs.txt``), grounding
    (:func:`~interpnet.workflows.grounding.ground_explanations`), for each kind of
    per-word map. Undefined values are ``None``.
    """
    start = time.time()
    opened = Run(run_dir, data_root, model, device, trust_code, progress, log)
    run, model = opened.directory, opened.model
    decoding = decoding if decoding is not None else Decoding(**options)
    cfg, layout = opened.config, opened.layout
    root = cfg.data_root
    examples = opened.examples(split)
    data = None
    if explanations is not None:
        records = align_records(read_jsonl(explanations), examples, str(explanations))
        classes = len(layout.class_names)
        bad = next((r for r in records if not 0 <= r["label"] < classes), None)
        if bad is not None:
            raise InterpnetError(
                f"{explanations}: {bad['key']}: label {bad['label']} is not a class index "
                f"of the data (0 to {classes - 1})"
            )
    else:
        data = opened.split(split)
        decoding, reranker = opened.prepare(decoding, reranker)
        records = explain_split(
            model, data, progress=progress, decoding=decoding, reranker=reranker
        )
        write_jsonl(run.explanations(split), records)
    refs = [e.sentences for e in examples]
    features = None  # the judges first: a failure there should not waste the caption metrics
    if retrieval:
        same = bool(cfg.features) and cfg.backbone == JUDGE_BACKBONE
        features = judge_features(
            layout,
            run,
            cfg.skip_missing,
            cache_dir=(cfg.features if same else None) or judge_cache,
            layers=cfg.backbone_layers if same else (),
            spatial=cfg.spatial if same else False,
            device=cfg.device,
            progress=progress,
            log=log,
        )
    train_examples = layout.split("train", skip_missing=True)
    judge = judges(run, layout, cfg.skip_missing, features, log, train_examples)
    evaluation, single = score_records(
        model,
        records,
        refs,
        torch.tensor([e.label for e in examples]),
        [e.sentences for e in train_examples],
        [e.label for e in train_examples],
        judge,
        features.get([e.rel_path for e in examples]) if features else None,
        data,
        decoding if explanations is None else None,
        reranker,
        human,
        use_java,
        counterfactual,
        lookup,
        human_cache,
        log,
    )
    out = {"run": str(run.path), "split": split, **evaluation.to_dict()}
    if AttributeTruth.available(root):
        truth = AttributeTruth(root)
        keys = [e.rel_path for e in examples]
        names = [layout.class_names[int(r["label"])] for r in records]
        for side, sents in single.items():
            out[side]["attributes"] = truth.score(keys, sents, names)
        flat_keys = [k for k, r in zip(keys, refs, strict=True) for _ in r]
        out["human"]["attributes"] = truth.score(flat_keys, [s for r in refs for s in r])
    if evidence_images != 0:
        data = data if data is not None else opened.split(split)
        if has_image_maps(model, data):
            checks: list[MapCheck] = [intervention_check(model, data)]
            if PartAnnotations.available(root):
                checks.insert(0, grounding_check(PartAnnotations(root), data, model))
            explained = [r["explanation"] for r in records]
            out |= run_checks(
                model, data, explained, checks, limit=evidence_images, progress=progress, log=log
            )
        else:
            log(
                "grounding and intervention: skipped (per-word maps over the image need a "
                "classifier on pixels, or features with the backbone's map: spatial)"
            )
    out["seconds"] = round(time.time() - start, 1)
    out = finite(out)
    write_json(run.metrics(split), out)
    return out
