"""Optimisation options of a :class:`~interpnet.training.Trainer` (no data, no model)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from typing import Any, TypeVar

from interpnet.errors import ConfigError
from interpnet.options import option
from interpnet.scorers.rewards import check_reward_weights

OPTIMIZERS = ("adam", "adamw")
T = TypeVar("T")


def options_from_dict(cls: type[T], data: dict[str, Any], source: str) -> T:
    """An options dataclass from a dict (a JSON/TOML file): unknown keys and wrong types are
    :class:`ConfigError` naming ``source``."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{source}: unknown option(s) {unknown}; known: {sorted(known)}")
    try:
        return cls(**data)
    except TypeError as err:
        raise ConfigError(f"{source}: {err}") from None


@dataclass
class TrainingArgs:
    """How the phases train. Defaults are the paper's recipe: Adam, lr 1e-3 (classifier) /
    5e-4 (explainer), batch 32, per-epoch validation, best checkpoint kept, lr halved after an
    epoch without improvement, no regularisation; except that the classifier is kept as it is
    (``train_classifier=False``: the common case is a classifier you already trained; phase 1
    is skipped and only the explainer learns, on the classifier's activations).
    ``train_classifier=True`` trains it first, as the paper does. ``weight_decay``,
    ``label_smoothing``, ``optimizer`` and ``lr_decay`` (the factor the learning rate is
    multiplied by after an epoch without improvement; the paper halves it) apply to the
    classifier phase only; the explainer phase always follows the paper.

    ``discriminative_epochs`` > 0 adds a third phase after the explainer's: policy-gradient
    fine-tuning (REINFORCE with ``num_samples`` sampled explanations per image, each baselined
    by the mean reward of the other samples of its image), the teacher-forced loss kept with
    weight ``xe_weight``; ``rewards`` weights the rewards by name (``class-predicted``,
    ``class-true``, ``cider``, ``cider-class``, ``retrieval``; see
    :mod:`interpnet.scorers.rewards`). It keeps the epoch with the best mean validation reward
    of greedy explanations, the explainer phase's model included, and stops early like the
    other phases. ``swap_fraction`` of the images of each batch get the decision parts of r(x)
    (hidden layers and softmax) of another image the classifier puts in another class, and are
    rewarded for that class (counterfactual training; see :class:`SwapDecisions`).
    ``dropout_decisions`` reads the training images' r(x) in phase 3 with the classifier's
    dropout switched on (a new draw for every batch), so its decisions there are as unsure, and
    as often wrong, as on unseen images, and the rewards score the explanation against that
    decision (see :class:`DropoutDecisions`). ``cross_fit_folds`` = K >= 2 replaces, in
    phase 3, the softmax part of each training image's r(x) (and its predicted class) by that of
    a copy of the classifier trained, with the classifier phase's recipe, on the other K - 1
    folds of the training images (see :class:`CrossFitDecisions`): decisions as unsure,
    and as often wrong, as on unseen images, with the classifier's own hidden layers.
    ``class_groups`` = m >= 2 makes phase 3's batches of groups of m training images of one
    (true) class, so a reward that compares the images of a batch (``retrieval``) rewards an
    explanation for telling its image from others of its class, not just from other classes.

    ``length_bucketing`` draws the explainer phase's batches from sentences of similar length
    (pools of 50 shuffled batches sorted by length, the batches shuffled): less padding, the
    same sentences every epoch (:func:`~interpnet.training.batching.length_buckets`).
    """

    train_classifier: bool = option(
        False,
        help=(
            "train the classifier first (phase 1), as the paper does; off: keep a classifier you "
            "already trained as it is"
        ),
    )
    classifier_epochs: int = option(
        100,
        help="maximum epochs of phase 1 (classifier)",
    )
    explainer_epochs: int = option(
        100,
        help="maximum epochs of phase 2 (explainer)",
    )
    batch_size: int = option(
        32,
        help="classifier batch size",
    )
    explainer_batch_size: int = option(
        32,
        help="explainer batch size, in (input, sentence) pairs",
    )
    lr_classifier: float = option(
        1e-3,
        help="Adam learning rate of the classifier",
    )
    lr_explainer: float = option(
        5e-4,
        help="Adam learning rate of the explainer",
    )
    optimizer: str = option(
        "adam",
        help="classifier-phase optimizer, one of ('adam', 'adamw') (default: the recipe's)",
        choices=OPTIMIZERS,
    )
    weight_decay: float = option(
        0.0,
        help="classifier-phase weight decay (default: the recipe's)",
    )
    label_smoothing: float = option(
        0.0,
        help="classifier-phase label smoothing (default: the recipe's)",
    )
    lr_decay: float = option(
        0.5,
        help=(
            "classifier phase: multiply the learning rate by this after an epoch without "
            "improvement (the paper: 0.5; 1 = constant)"
        ),
    )
    augment: bool = option(
        True,
        help=(
            "flip training images left-right at random in phase 1 (the explainer phase always sees"
            " the images as they are)"
        ),
    )
    patience: int = option(
        10,
        help=(
            "end a phase after this many epochs without validation improvement (after each, the "
            "classifier's learning rate is multiplied by lr_decay, the explainer's halved)"
        ),
    )
    discriminative_epochs: int = option(
        0,
        help=(
            "maximum epochs of phase 3, policy-gradient fine-tuning of the explainer on the "
            "rewards (default: none; 10 for variant gve)"
        ),
    )
    rewards: dict[str, float] = option(
        factory=dict,
        help=(
            "phase-3 rewards as NAME=WEIGHT: class-predicted (a reward sentence classifier's "
            "probability of the predicted class), class-true, cider (CIDEr-D), cider-class "
            "(CIDEr-D with document frequencies from the references of the image's own class), "
            "retrieval (a retrieval model's probability of the image among its batch), "
            "retrieval-neighbours (among the training images of its predicted class that look most"
            " like it) (default: none; class-true=1 for variant gve)"
        ),
    )
    num_samples: int = option(
        5,
        help=(
            "phase 3: explanations sampled per image (the others' mean reward is each one's "
            "baseline)"
        ),
    )
    xe_weight: float = option(
        0.1,
        help="phase 3: weight of the teacher-forced loss kept beside the policy gradient",
    )
    lr_discriminative: float = option(
        5e-5,
        help="Adam learning rate of phase 3",
    )
    discriminative_batch_size: int = option(
        32,
        help="phase-3 batch size, in images",
    )
    swap_fraction: float = option(
        0.0,
        help=(
            "phase 3, counterfactual training: share of images whose r(x) gets the hidden layers "
            "and softmax of an image of another predicted class, rewarded for that class"
        ),
    )
    dropout_decisions: bool = option(
        False,
        help=(
            "phase 3: read the training images' r(x) with the classifier's dropout on (a new draw "
            "per batch), so its decisions are as unsure as on unseen images"
        ),
    )
    cross_fit_folds: int = option(
        0,
        help=(
            "phase 3: the training images' softmax and predicted class from K copies of the "
            "classifier, each trained on the other K-1 folds (0: off)"
        ),
    )
    class_groups: int = option(
        0,
        help=(
            "phase 3: batches of groups of M training images of one class, so the retrieval reward"
            " compares each explanation with images of its own class (0: off)"
        ),
    )
    length_bucketing: bool = option(
        True,
        help="explainer phase: batches of sentences of similar length (less padding)",
    )
    min_count: int = option(
        2,
        help="words seen fewer times in the training sentences become <unk>",
    )
    max_length: int = option(
        30,
        help="training sentences are cut to this many tokens",
    )
    seed: int = option(
        0,
        help="random seed (runs are deterministic on the CPU)",
    )
    device: str = option(
        "auto",
        help="'auto' (CUDA when available), 'cpu' or 'cuda'",
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{f.name} must be a finite number, got {value}")
        for name in ("classifier_epochs", "explainer_epochs", "discriminative_epochs", "patience"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be 0 or more, got {getattr(self, name)}")
        for name in (
            "batch_size",
            "explainer_batch_size",
            "discriminative_batch_size",
            "min_count",
            "max_length",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("lr_classifier", "lr_explainer", "lr_discriminative"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        if self.weight_decay < 0:
            raise ConfigError(f"weight_decay must be 0 or more, got {self.weight_decay}")
        if not 0 <= self.label_smoothing < 1:
            raise ConfigError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if not 0 < self.lr_decay <= 1:
            raise ConfigError(f"lr_decay must be in (0, 1], got {self.lr_decay}")
        if not isinstance(self.rewards, dict):
            raise ConfigError(f"rewards must map reward names to weights, got {self.rewards!r}")
        self.rewards = check_reward_weights(self.rewards)
        if self.discriminative_epochs and not self.rewards:
            raise ConfigError("discriminative_epochs needs at least one reward with a weight")
        if self.num_samples < 2:
            raise ConfigError(
                f"num_samples must be at least 2 (for the baseline), got {self.num_samples}"
            )
        if not 0 <= self.swap_fraction <= 1:
            raise ConfigError(f"swap_fraction must be in [0, 1], got {self.swap_fraction}")
        if self.cross_fit_folds < 0 or self.cross_fit_folds == 1:
            raise ConfigError(
                f"cross_fit_folds must be 0 (off) or at least 2, got {self.cross_fit_folds}"
            )
        if self.class_groups < 0 or self.class_groups == 1:
            raise ConfigError(
                f"class_groups must be 0 (off) or at least 2, got {self.class_groups}"
            )
        if self.cross_fit_folds and self.dropout_decisions:
            raise ConfigError("choose one of cross_fit_folds and dropout_decisions")
        if self.xe_weight < 0:
            raise ConfigError(f"xe_weight must be 0 or more, got {self.xe_weight}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {self.optimizer!r}; choose one of {OPTIMIZERS}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "training args") -> TrainingArgs:
        return options_from_dict(cls, data, source)

    def __str__(self) -> str:
        return json.dumps(self.to_dict())
