"""A :class:`Trainer` built from a :class:`TrainConfig` (what ``interpnet train`` and
``interpnet demo`` run), and resuming such a run from its directory."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from interpnet import distributed
from interpnet.devices import resolve_device
from interpnet.errors import CheckpointError, ConfigError, InterpnetError
from interpnet.features.backbones import MAP
from interpnet.model import InterpNet, MLPClassifier
from interpnet.model.loading import check_classifier_name, check_run_trust, require_trust
from interpnet.rundir import (
    LOG,
    MODEL_CONFIG,
    TRAIN_CONFIG,
    TRAINING_ARGS,
    VOCAB,
    WEIGHTS,
    RunDirectory,
)
from interpnet.storage import writing
from interpnet.text import Vocabulary
from interpnet.training.args import TrainingArgs
from interpnet.training.build import build_model
from interpnet.training.callbacks import Callback
from interpnet.training.config import TrainConfig
from interpnet.training.trainer import Trainer
from interpnet.workflows.run import (
    build_run_classifier,
    image_preprocessing,
    load_run_data,
    open_run_layout,
    run_conditioning,
    run_config,
)


def configured_trainer(
    cfg: TrainConfig,
    run_dir: str | Path,
    progress: bool = True,
    log: Callable[[str], None] = print,
    callbacks: Sequence[Callback] = (),
    resume: bool = False,
    trust_code: bool = True,
) -> Trainer:
    """Read the data, build the classifier and conditioning of ``cfg``, and return a Trainer
    writing to ``run_dir``. The config is saved as the run's ``train_config.json`` (so
    ``evaluate``/``explain`` find the data and a resume rebuilds the same run).
    ``trust_code=False`` when ``cfg`` was read from a file someone else may have written: a
    ``package.module:factory`` classifier in it is then refused before anything is imported."""
    run = RunDirectory(run_dir)
    if not resume and (run.holds_run() or run.train_config.is_file()):
        raise InterpnetError(
            f"{run.path}: already holds a run; resume it, or choose a new run directory"
        )
    if not cfg.data_root:
        raise InterpnetError("no data root given")
    conditioning = run_conditioning(cfg)  # option errors before any data is read
    if cfg.classifier:
        require_trust(cfg.classifier, trust_code, run.train_config)
        check_classifier_name(cfg.classifier)
        if cfg.classifier_weights and not Path(cfg.classifier_weights).is_file():
            raise CheckpointError(f"{cfg.classifier_weights}: classifier weights not found")
    elif cfg.variant == "interpnet" and cfg.num_hidden > len(cfg.hidden_sizes):
        raise ConfigError(
            f"num_hidden {cfg.num_hidden} asks for more hidden layers than the classifier has "
            f"(hidden_sizes {cfg.hidden_sizes})"
        )
    if cfg.spatial and not cfg.features:
        raise ConfigError(
            "spatial keeps the backbone's feature map of a run on cached features (features=...); "
            "a classifier on pixels keeps its maps position by position with pool='none'"
        )
    if cfg.features and not cfg.classifier:
        # the MLP's module names do not depend on the feature sizes: check the layers the
        # conditioning reads on a stand-in before any feature is extracted
        sides: dict[str, Any] = {name: 1 for name in cfg.backbone_layers}
        if cfg.spatial:
            sides[MAP] = [1, 1, 1]
        conditioning.introspector(MLPClassifier(1, 2, cfg.hidden_sizes, sides))
    torch.manual_seed(cfg.seed)  # the classifier's initial weights depend on the seed only
    classifier = None
    if not cfg.features:
        # a classifier on pixels needs only the class count: build it and check the layers
        # the conditioning reads before any image is loaded
        spec = {"kind": "image", "preprocessing": image_preprocessing(cfg).to_dict()}
        classifier = build_run_classifier(cfg, spec, len(open_run_layout(cfg).class_names))
        conditioning.introspector(classifier)
    data, class_names, spec = load_run_data(cfg, ("train", "val"), progress, log)
    if len(data["train"]) == 0 or len(data["val"]) == 0:
        raise InterpnetError(f"{cfg.data_root}: the train and val splits must not be empty")
    if classifier is None:
        classifier = build_run_classifier(cfg, spec, len(class_names))
    if not resume:
        group = distributed.join(resolve_device(cfg.device))
        group.barrier()  # every rank has checked the run directory before rank 0 writes
        if group.is_main:
            run.write(run.train_config.name, cfg.to_dict())
    args = cfg.training_args()
    vocab = Vocabulary.load(run.vocab) if resume and run.vocab.is_file() else None
    model = build_model(
        classifier,
        data["train"],
        args,
        conditioning,
        cfg.explainer_config(),
        class_names,
        spec,
        vocab,
    )
    return Trainer(model, args, data["train"], data["val"], run, callbacks, progress, log)


def resume_run(
    run_dir: str | Path,
    progress: bool = True,
    log: Callable[[str], None] = print,
    callbacks: Sequence[Callback] = (),
    trust_code: bool = False,
) -> InterpNet:
    """Continue the run in ``run_dir`` (made by :func:`configured_trainer`) wherever it was
    interrupted, also before its first epoch; returns the trained model. ``trust_code``:
    consent to import the ``package.module:factory`` classifier the run names."""
    run = RunDirectory(run_dir)
    if not run.train_config.is_file():
        raise CheckpointError(
            f"{run.path}: no {run.train_config.name} here, so nothing to resume; check the path "
            "or start a new run"
        )
    check_run_trust(run.path, trust_code)
    trainer = configured_trainer(
        run_config(run.path), run.path, progress, log, callbacks, True, trust_code
    )
    return trainer.fit(resume=run.holds_run())


FINE_TUNE_OPTIONS = (
    "discriminative_epochs",
    "rewards",
    "num_samples",
    "xe_weight",
    "lr_discriminative",
    "discriminative_batch_size",
    "swap_fraction",
    "dropout_decisions",
    "cross_fit_folds",
    "class_groups",
    "patience",
)


def fine_tune_run(
    source: str | Path,
    out: str | Path,
    progress: bool = True,
    log: Callable[[str], None] = print,
    callbacks: Sequence[Callback] = (),
    data_root: str | None = None,
    trust_code: bool = False,
    **options: Any,
) -> InterpNet:
    """Train a finished run further with the discriminative phase only, into a new run
    directory: ``out`` starts as a copy of ``source`` (its classifier, explainer, vocabulary
    and log) with the phase's ``options`` (fields of :class:`TrainConfig` in
    :data:`FINE_TUNE_OPTIONS`, or ``variant="gve"`` for a ``gve-label`` run: the full GVE).
    ``data_root``: the data, when it is no longer where ``source`` was trained on it (``out``'s
    training config names this one). ``out`` resumes like any run if interrupted.
    ``trust_code``: consent to import the ``package.module:factory`` classifier ``source``
    names (checked before ``out`` is written)."""
    src, dst = RunDirectory(source), RunDirectory(out)
    check_run_trust(src.path, trust_code)
    unknown = sorted(set(options) - set(FINE_TUNE_OPTIONS) - {"variant"})
    if unknown:
        raise ConfigError(f"cannot fine-tune {unknown}; options: {list(FINE_TUNE_OPTIONS)}")
    state = src.read_state() if src.train_config.is_file() else None
    if state is None or state.get("phase") != "done":
        raise CheckpointError(
            f"{src.path}: not a finished run made from a training config; finish it first"
        )
    if dst.holds_run() or dst.train_config.is_file():
        raise InterpnetError(f"{dst.path}: already holds a run; choose a new run directory")
    cfg = run_config(src.path, data_root)
    model_config = src.read(MODEL_CONFIG, "model config")
    variant = options.pop("variant", cfg.variant)
    if variant != cfg.variant and (cfg.variant, variant) != ("gve-label", "gve"):
        raise ConfigError(f"a {cfg.variant} run cannot become {variant}; only gve-label -> gve")
    cfg = TrainConfig.from_dict({**cfg.to_dict(), **options, "variant": variant})
    args = cfg.training_args()
    if args.discriminative_epochs == 0:
        raise ConfigError("fine-tuning needs discriminative_epochs > 0 and rewards")
    open_run_layout(cfg)  # the data is where cfg says before ``out`` is written
    group = distributed.join(resolve_device(cfg.device))
    group.barrier()  # every rank has checked ``out`` before rank 0 writes it
    if group.is_main:
        _start_fine_tune(src, dst, model_config, variant, cfg, args)
    group.barrier()
    return resume_run(dst.path, progress, log, callbacks, trust_code)


def _start_fine_tune(
    src: RunDirectory,
    dst: RunDirectory,
    model_config: dict[str, Any],
    variant: str,
    cfg: TrainConfig,
    args: TrainingArgs,
) -> None:
    """``dst`` as a copy of ``src`` about to begin the discriminative phase."""
    for name in (MODEL_CONFIG, VOCAB, WEIGHTS, LOG):
        with writing(dst.path / name):
            dst.path.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src.path / name, dst.path / name)
    model_config["conditioning"]["variant"] = variant
    dst.write(MODEL_CONFIG, model_config)
    dst.write(TRAIN_CONFIG, cfg.to_dict())
    dst.write(TRAINING_ARGS, args.to_dict())
    dst.write_state(
        {
            "phase": "discriminative",
            "epoch": 0,
            "best": None,
            "bad_epochs": 0,
            "lr": args.lr_discriminative,
            "param_groups": [],
        }
    )
