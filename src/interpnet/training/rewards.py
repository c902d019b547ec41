"""The reward models of a run (trained on the training references, never used as judges) and
rewards built from them by name, for the discriminative phase and for reranking."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from interpnet.data.splits import SplitData, as_split_data
from interpnet.decoding.rerank import RERANK_SCORES
from interpnet.errors import ConfigError
from interpnet.model import InterpNet
from interpnet.rundir import RunDirectory
from interpnet.scorers.rewards import (
    MODEL_REWARDS,
    CiderReward,
    ClassCiderReward,
    ClassReward,
    NeighbourRetrievalReward,
    RetrievalReward,
    WeightedReward,
    check_reward_weights,
)
from interpnet.scorers.store import ROLE_SPLITS, ScorerData, Scorers, load_or_train


def reward_scorers(
    model: InterpNet,
    train: SplitData | Sequence,
    run: RunDirectory | str | Path,
    log: Callable[[str], None] = print,
    r: torch.Tensor | None = None,
) -> Scorers:
    """The run's reward sentence classifier and retrieval model, trained on the training
    references (the retrieval model's image side on the explainer's own input r(x)); cached."""
    run = run if isinstance(run, RunDirectory) else RunDirectory(run)
    train = as_split_data(train, "train")
    split = ROLE_SPLITS["reward"]
    if train.name not in (split, "data"):
        raise ConfigError(f"reward models learn from the {split} split, got {train.name!r}")
    r = (model.introspect_split(train)[1] if r is None else r).cpu()
    data = ScorerData(f"{split} references", train.sentences, train.labels.tolist(), r)
    num_classes = model.num_classes or int(train.labels.max()) + 1
    return load_or_train(run.scorers("reward"), "reward", data, num_classes, log)


def build_reward(
    weights: dict[str, float],
    scorers: Scorers | None,
    references: list[list[str]] | None,
    labels: list[int] | None = None,
    bank: torch.Tensor | None = None,
) -> WeightedReward:
    """A weighted reward from names (``class-predicted``, ``class-true``, ``cider``,
    ``cider-class``, ``retrieval``, ``retrieval-neighbours``): ``scorers`` are the reward
    models, ``references`` the corpus CIDEr-D takes its document frequencies from (the
    training references), ``labels`` their classes (for ``cider-class`` and
    ``retrieval-neighbours``), ``bank`` their images' r(x) (for ``retrieval-neighbours``)."""
    weights = check_reward_weights(weights)
    parts = {}
    for name, w in weights.items():
        if name in MODEL_REWARDS and scorers is None:
            raise ConfigError(f"the {name!r} reward needs the run's reward models")
        if name.startswith("class-"):
            parts[name] = (ClassReward(scorers.sentence_classifier, name.split("-", 1)[1]), w)
        elif name == "retrieval":
            if scorers.retrieval is None:
                raise ConfigError("the 'retrieval' reward needs a reward retrieval model")
            parts[name] = (RetrievalReward(scorers.retrieval), w)
        elif name == "retrieval-neighbours":
            if scorers.retrieval is None:
                raise ConfigError(f"the {name!r} reward needs a reward retrieval model")
            if bank is None or labels is None:
                raise ConfigError(f"the {name!r} reward needs the training images and classes")
            parts[name] = (
                NeighbourRetrievalReward(scorers.retrieval, bank, torch.tensor(labels)),
                w,
            )
        elif references is None:
            raise ConfigError(f"the {name!r} reward needs the training references")
        elif name == "cider":
            parts[name] = (CiderReward(references), w)
        else:
            if labels is None:
                raise ConfigError("the 'cider-class' reward needs the training references' classes")
            parts[name] = (ClassCiderReward(references, labels), w)
    return WeightedReward(parts)


def reranker_weights(rerank: str) -> dict[str, float]:
    """Reward weights of a reranking score name: ``class`` (the reward sentence classifier's
    probability of the predicted class), ``retrieval`` (against the batch's images),
    ``neighbours`` (against the training images of the predicted class nearest to the image),
    or a sum of two."""
    if rerank not in RERANK_SCORES:
        raise ConfigError(f"unknown rerank score {rerank!r}; choose one of {RERANK_SCORES}")
    names = {
        "class": "class-predicted",
        "retrieval": "retrieval",
        "neighbours": "retrieval-neighbours",
    }
    return {names[part]: 1.0 for part in rerank.split("+")}


def run_reranker(
    model: InterpNet,
    train: SplitData | Sequence,
    run: RunDirectory | str | Path,
    rerank: str,
    log: Callable[[str], None] = print,
) -> WeightedReward:
    """The reranker a decoding's ``rerank`` names, from the run's reward models (trained on
    ``train``, the training split or any sequence of ``(input, label, sentences)``, on first
    use)."""
    weights = reranker_weights(rerank)
    train = as_split_data(train, "train")
    r = model.introspect_split(train)[1].cpu()
    scorers = reward_scorers(model, train, run, log, r)
    return build_reward(weights, scorers, None, train.labels.tolist(), r)
