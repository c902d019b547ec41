"""Train a pair of scorers (a sentence classifier and, given image features, a retrieval model)
on one body of reference sentences, and cache them in a folder.

Two roles keep evaluation honest: **judges** score explanations in evaluation; **rewards**
score them in training and reranking. They are never the same models, and interpnet trains
them on different data: judges on the validation references, rewards on the training
references (:data:`ROLE_SPLITS`). ``info.json`` records what each was trained on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from interpnet.errors import ConfigError
from interpnet.scorers.retrieval import RetrievalModel
from interpnet.scorers.sentence_classifier import SentenceClassifier
from interpnet.storage import read_json, write_json

ROLE_SPLITS = {"judge": "val", "reward": "train"}
INFO = "info.json"


@dataclass
class ScorerData:
    """What scorers learn from: per item its reference sentences, class, and (for a retrieval
    model) a feature vector. ``source`` says where it came from (e.g. "val references")."""

    source: str
    sentences: list[list[str]]
    labels: list[int]
    features: torch.Tensor | None = None

    def flat(self) -> tuple[list[str], list[int]]:
        """Every sentence and its item's class, in order."""
        pairs = [
            (x, y) for sents, y in zip(self.sentences, self.labels, strict=True) for x in sents
        ]
        return [x for x, _ in pairs], [y for _, y in pairs]

    def fingerprint(self) -> str:
        blob = json.dumps([self.source, self.sentences, self.labels], sort_keys=True)
        digest = hashlib.sha256(blob.encode())
        if self.features is not None:
            f = self.features.float()
            digest.update(
                json.dumps([list(f.shape), float(f.sum()), float(f.abs().sum())]).encode()
            )
        return digest.hexdigest()[:16]


@dataclass
class Scorers:
    """A sentence classifier, an optional retrieval model, and what they were trained on."""

    role: str
    sentence_classifier: SentenceClassifier
    retrieval: RetrievalModel | None
    info: dict[str, Any] = field(default_factory=dict)


def load_or_train(
    folder: str | Path,
    role: str,
    data: ScorerData,
    num_classes: int,
    log: Callable[[str], None] = print,
    describe: Callable[[Scorers], dict[str, Any]] | None = None,
) -> Scorers:
    """The scorers cached in ``folder`` if they were trained on ``data``; otherwise train them
    (deterministically) and cache them. ``describe`` adds facts (e.g. held-out accuracy) to the
    info of freshly trained scorers."""
    if role not in ROLE_SPLITS:
        raise ConfigError(f"unknown scorer role {role!r}; choose one of {sorted(ROLE_SPLITS)}")
    folder = Path(folder)
    key = data.fingerprint()
    want_retrieval = data.features is not None
    if (folder / INFO).is_file():
        info = read_json(folder / INFO, "scorer info")
        if info.get("key") == key and info.get("retrieval") == want_retrieval:
            sc, _ = SentenceClassifier.load(folder / "sentence_classifier")
            rm = RetrievalModel.load(folder / "retrieval")[0] if want_retrieval else None
            return Scorers(role, sc, rm, info)
    log(f"training the {role} scorers on the {data.source} (cached in {folder})")
    flat, labels = data.flat()
    sc = SentenceClassifier.fit(flat, labels, num_classes)
    rm = RetrievalModel.fit(data.sentences, data.features) if want_retrieval else None
    info = {
        "key": key,
        "role": role,
        "trained_on": data.source,
        "items": len(data.sentences),
        "sentences": len(flat),
        "retrieval": want_retrieval,
    }
    scorers = Scorers(role, sc, rm, info)
    if describe is not None:
        info.update(describe(scorers))
    sc.save(folder / "sentence_classifier", {})
    if rm is not None:
        rm.save(folder / "retrieval", {})
    write_json(folder / INFO, info)
    return scorers


def load_cached(folder: str | Path) -> Scorers | None:
    """The scorers cached in ``folder`` as they are (no check of what they were trained on:
    for reading back what an evaluation used), or None when there are none."""
    folder = Path(folder)
    if not (folder / INFO).is_file():
        return None
    info = read_json(folder / INFO, "scorer info")
    sc, _ = SentenceClassifier.load(folder / "sentence_classifier")
    rm = RetrievalModel.load(folder / "retrieval")[0] if info.get("retrieval") else None
    return Scorers(str(info.get("role", "")), sc, rm, info)
