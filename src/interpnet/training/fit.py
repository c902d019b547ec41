"""``interpnet.fit``: train an explainer for any classifier in one call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from torch import nn

from interpnet.data.splits import as_split_data
from interpnet.errors import ConfigError
from interpnet.model import Conditioning, ExplainerConfig, InterpNet
from interpnet.training.args import TrainingArgs
from interpnet.training.build import build_model
from interpnet.training.trainer import Trainer


def fit(
    classifier: nn.Module,
    train_data: Sequence,
    val_data: Sequence,
    run_dir: str | Path,
    conditioning: Conditioning | None = None,
    class_names: list[str] | None = None,
    input_spec: dict[str, Any] | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
    resume: bool = False,
    **options: Any,
) -> InterpNet:
    """Train an explainer for ``classifier`` on sequences of ``(input, label, sentences)`` and
    return the trained :class:`InterpNet`: :func:`build_model` then :class:`Trainer`, in one
    call.

    ``options`` are :class:`TrainingArgs` fields (``explainer_epochs=20``, ...) and
    :class:`ExplainerConfig` fields (``hidden_dim=256``, ...), with their defaults: the
    classifier stays as it is (``train_classifier=False``: the common case is a classifier
    you already trained; ``True`` trains it first, as the paper does).
    """
    arg_names = {f.name for f in fields(TrainingArgs)}
    exp_names = {f.name for f in fields(ExplainerConfig)}
    unknown = sorted(set(options) - arg_names - exp_names)
    if unknown:
        raise ConfigError(
            f"unknown option(s) {unknown}; TrainingArgs takes {sorted(arg_names)}, "
            f"ExplainerConfig {sorted(exp_names)}"
        )
    args = TrainingArgs(**{k: v for k, v in options.items() if k in arg_names})
    explainer = ExplainerConfig(**{k: v for k, v in options.items() if k in exp_names})
    train = as_split_data(train_data, "train", progress)
    model = build_model(classifier, train, args, conditioning, explainer, class_names, input_spec)
    trainer = Trainer(model, args, train, val_data, run_dir, progress=progress, log=log)
    return trainer.fit(resume=resume)
