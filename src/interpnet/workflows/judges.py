"""The judges of an evaluation: a sentence classifier and an image-text retrieval model
trained on the **validation** references, their image side on frozen pretrained backbone
features (so they share nothing with the classifier under test), cached in the run
directory; and the metrics they give (class relevance, fidelity, self-retrieval)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from interpnet.data.cub import Example
from interpnet.data.layouts import Layout, split_examples
from interpnet.devices import resolve_device
from interpnet.features import extract_features
from interpnet.features.cache import FeatureCache
from interpnet.metrics.faithfulness import class_relevance, introspection_fidelity
from interpnet.metrics.retrieval import candidate_pools, self_retrieval
from interpnet.rundir import RunDirectory
from interpnet.scorers.store import ROLE_SPLITS, ScorerData, Scorers, load_or_train

JUDGE_BACKBONE = "efficientnet-lite0"
SPLITS = ("train", "val", "test")


def judge_features(
    layout: Layout,
    run: RunDirectory,
    skip_missing: bool,
    backbone: str = JUDGE_BACKBONE,
    cache_dir: str | Path | None = None,
    layers: list[str] = (),
    device: str = "auto",
    progress: bool = True,
    log: Callable[[str], None] = print,
    spatial: bool = False,
) -> FeatureCache:
    """Backbone features of every image of the data (all splits), cached in ``cache_dir`` (a
    run's feature cache is reused when it holds the same backbone, ``layers`` and ``spatial``
    map) or the run directory."""
    every = [
        (e.rel_path, e.image_path)
        for s in SPLITS
        for e in split_examples(layout, s, skip_missing, lambda _: None)
    ]
    return extract_features(
        every,
        backbone,
        cache_dir or run.scorer_features,
        list(layers),
        device=resolve_device(device),
        progress=progress,
        spatial=spatial,
    )


def _scorer_data(examples: list[Example], source: str, features: FeatureCache | None):
    feats = features.get([e.rel_path for e in examples]) if features is not None else None
    return ScorerData(source, [e.sentences for e in examples], [e.label for e in examples], feats)


def judges(
    run: RunDirectory,
    layout: Layout,
    skip_missing: bool,
    features: FeatureCache | None,
    log: Callable[[str], None] = print,
    train: list[Example] | None = None,
) -> Scorers:
    """The run's judges, trained on first use on the validation references; their info holds
    their accuracy on the training references (``train``, read from ``layout`` when not
    given), which they never saw."""
    split = ROLE_SPLITS["judge"]
    data = _scorer_data(
        split_examples(layout, split, skip_missing, log), f"{split} references", features
    )
    train = train if train is not None else layout.split("train", skip_missing=True)
    heldout = _scorer_data(train, "train references", features)
    return train_judges(run.scorers("judge"), data, heldout, len(layout.class_names), log)


def train_judges(
    folder: str | Path,
    data: ScorerData,
    heldout: ScorerData | None,
    num_classes: int,
    log: Callable[[str], None] = print,
) -> Scorers:
    """Judges trained on ``data`` (the validation references; with features, a retrieval
    model too), cached in ``folder``; their info holds their accuracy on ``heldout`` (the
    training references), which they never saw."""

    def describe(s: Scorers) -> dict[str, Any]:
        if heldout is None:
            return {}
        out: dict[str, Any] = {"heldout": heldout.source}
        flat, labels = heldout.flat()
        truth = torch.tensor(labels)
        out["heldout_sentence_accuracy"] = float(
            (s.sentence_classifier.predict_proba(flat).argmax(1) == truth).float().mean()
        )
        if s.retrieval is not None and heldout.features is not None:
            first = [[sents[0]] for sents in heldout.sentences]
            out["heldout_retrieval"] = retrieval_metrics(s, first, heldout.features)
        return out

    return load_or_train(folder, "judge", data, num_classes, log, describe)


def retrieval_metrics(
    scorers: Scorers,
    sentences: list[list[str]],
    features: torch.Tensor,
    seed: int = 0,
    chunk: int = 2048,
) -> dict[str, float | int]:
    """Self-retrieval of every sentence of item i among a pool of i and 99 other items."""
    assert scorers.retrieval is not None
    pools = candidate_pools(len(sentences), 100, seed)
    images = scorers.retrieval.encode_images(features).detach().cpu()
    rows = torch.tensor([i for i, sents in enumerate(sentences) for _ in sents])
    with torch.no_grad():
        text = scorers.retrieval.encode_text([s for sents in sentences for s in sents]).cpu()
    # in chunks of sentences: all at once, the (sentences, pool, dim) product of the ten
    # references of 6,149 Flowers images took 13 GB
    scores = torch.cat(
        [
            torch.einsum("nd,npd->np", text[s : s + chunk], images[pools[rows[s : s + chunk]]])
            for s in range(0, len(rows), chunk)
        ]
    )
    return self_retrieval(scores)


def judged(
    scorers: Scorers,
    sentences: list[list[str]],
    predicted: torch.Tensor,
    true: torch.Tensor,
    features: torch.Tensor | None,
) -> dict[str, Any]:
    """Class relevance, fidelity and (with features) self-retrieval for one or more sentences
    per example."""
    per = torch.tensor([len(s) for s in sentences])
    probs = scorers.sentence_classifier.predict_proba([x for s in sentences for x in s])
    pred, tru = predicted.repeat_interleave(per), true.repeat_interleave(per)
    out: dict[str, Any] = {
        "class_relevance": class_relevance(probs, pred, tru),
        **introspection_fidelity(probs, pred, tru),
    }
    if scorers.retrieval is not None and features is not None:
        out["self_retrieval"] = retrieval_metrics(scorers, sentences, features)
    return out
