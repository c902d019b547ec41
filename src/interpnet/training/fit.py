"""``interpnet.fit``: train an explainer for any classifier in one call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from torch import nn

from interpnet.errors import ConfigError
from interpnet.model import Conditioning, ExplainerConfig, InterpNet
from interpnet.training.args import TrainingArgs
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
    """Train an explainer for ``classifier`` (frozen unless ``train_classifier=True``) on
    sequences of ``(input, label, sentences)`` and return the trained :class:`InterpNet`.

    ``options`` are :class:`TrainingArgs` fields (``explainer_epochs=20``, ...) and
    :class:`ExplainerConfig` fields (``hidden_dim=256``, ...). Unlike :class:`Trainer`, whose
    default follows the paper and trains the classifier first, ``fit`` keeps the classifier
    as it is unless asked: the common case is a classifier you already trained.
    """
    arg_names = {f.name for f in fields(TrainingArgs)}
    exp_names = {f.name for f in fields(ExplainerConfig)}
    unknown = sorted(set(options) - arg_names - exp_names)
    if unknown:
        raise ConfigError(
            f"unknown option(s) {unknown}; TrainingArgs takes {sorted(arg_names)}, "
            f"ExplainerConfig {sorted(exp_names)}"
        )
    options.setdefault("train_classifier", False)
    args = TrainingArgs(**{k: v for k, v in options.items() if k in arg_names})
    explainer = ExplainerConfig(**{k: v for k, v in options.items() if k in exp_names})
    trainer = Trainer(
        classifier,
        train_data,
        val_data,
        run_dir,
        conditioning=conditioning,
        args=args,
        explainer=explainer,
        class_names=class_names,
        input_spec=input_spec,
        progress=progress,
        log=log,
    )
    return trainer.fit(resume=resume)
