"""What a :class:`TrainConfig` stands for: its data splits, its classifier, its conditioning."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from interpnet.data.images import ImagePreprocessing
from interpnet.data.layouts import Layout, open_layout, split_examples
from interpnet.data.splits import SplitData, load_splits, split_data
from interpnet.decoding import Decoding
from interpnet.decoding.rerank import Reranker
from interpnet.devices import resolve_device
from interpnet.errors import ConfigError, InterpnetError
from interpnet.features import extract_features
from interpnet.features.backbone import IMAGENET_MEAN, IMAGENET_STD
from interpnet.features.backbones import MAP
from interpnet.features.cache import FEATURES
from interpnet.model import CNNClassifier, Conditioning, InterpNet, MLPClassifier
from interpnet.model.loading import factory_accepts, library_of, load_classifier
from interpnet.rundir import RunDirectory
from interpnet.storage import read_json
from interpnet.training.config import TrainConfig
from interpnet.training.rewards import run_reranker

ALL_SPLITS = ("train", "val", "test")


def image_preprocessing(cfg: TrainConfig) -> ImagePreprocessing:
    """How image files become the classifier's input: the built-in CNN takes 64 px images in
    [0, 1]; a torchvision or timm model 224 px crops of 256 px images with ImageNet statistics,
    unless the config says otherwise."""
    torchvision = library_of(cfg.classifier) is not None
    size = cfg.image_size or (224 if torchvision else 64)
    resize = cfg.image_resize or (256 * size // 224 if torchvision else None)
    mean, std = cfg.image_mean, cfg.image_std
    if not mean and torchvision:
        mean, std = list(IMAGENET_MEAN), list(IMAGENET_STD)
    try:
        return ImagePreprocessing(
            size, resize, tuple(mean) if mean else None, tuple(std) if std else None
        )
    except ValueError as err:
        raise ConfigError(str(err)) from None


def open_run_layout(cfg: TrainConfig):
    return open_layout(
        cfg.data_root,
        cfg.dataset,
        cfg.splits,
        val_fraction=cfg.val_fraction,
        test_fraction=cfg.test_fraction,
        seed=cfg.seed,
    )


def load_run_data(
    cfg: TrainConfig,
    names: tuple[str, ...],
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> tuple[dict[str, SplitData], list[str], dict[str, Any]]:
    """The splits ``names`` as model inputs, the class names, and the model's input spec."""
    if not cfg.features:
        pre = image_preprocessing(cfg)
        splits, classes = load_splits(
            open_run_layout(cfg), names, pre, cfg.skip_missing, progress, log
        )
        return splits, classes, {"kind": "image", "preprocessing": pre.to_dict()}
    layout = open_run_layout(cfg)
    examples = {s: split_examples(layout, s, cfg.skip_missing, log) for s in ALL_SPLITS}
    every = [(e.rel_path, e.image_path) for s in ALL_SPLITS for e in examples[s]]
    cache = extract_features(
        every,
        cfg.backbone,
        cfg.features,
        cfg.backbone_layers,
        device=resolve_device(cfg.device),
        progress=progress,
        spatial=cfg.spatial,
    )
    out = {}
    for name in names:
        keys = [e.rel_path for e in examples[name]]
        rows = cache.get(keys, cfg.backbone_layers, spatial=cfg.spatial)
        out[name] = split_data(name, examples[name], rows)
    dims = cache.dims()
    sides: dict[str, Any] = {name: dims[name] for name in cfg.backbone_layers}
    if cfg.spatial:
        sides[MAP] = cache.map_shape
    spec = {
        "kind": "features",
        "backbone": cfg.backbone,
        "cache": str(Path(cache.folder)),
        "feature_dim": dims[FEATURES],
        "side_inputs": sides,
    }
    return out, layout.class_names, spec


def model_split(
    model: InterpNet,
    cfg: TrainConfig,
    split: str,
    progress: bool = True,
    layout: Layout | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> SplitData:
    """One split of the config's data as ``model``'s inputs: images preprocessed as the
    model's input spec says (so a library-trained run needs no image options in ``cfg``), or
    the run's cached backbone features."""
    spec = model.input_spec
    if spec.get("kind") == "image" and "preprocessing" in spec:
        pre = ImagePreprocessing.from_dict(spec["preprocessing"])
        layout = layout or open_run_layout(cfg)
        return load_splits(layout, (split,), pre, cfg.skip_missing, progress, log)[0][split]
    return load_run_data(cfg, (split,), progress, log)[0][split]


def with_banks(
    model: InterpNet,
    cfg: TrainConfig,
    decoding: Decoding,
    progress: bool = True,
    layout: Layout | None = None,
    log: Callable[[str], None] = lambda _: None,
    train: SplitData | None = None,
) -> Decoding:
    """``decoding``, given what it reads from the config's training split and has not got: a
    distractor bank (contrastive decoding with a ``train-mean``, ``class-mean`` or ``rival``
    distractor) or a reference bank (retrieval decoding). ``train``: that split as the model's
    inputs, when the caller holds it."""
    if not decoding.lacks_banks:
        return decoding
    if train is None:
        train = model_split(model, cfg, "train", progress, layout, log)
    if decoding.needs_bank and decoding.bank is None:
        decoding = replace(decoding, bank=model.distractor_bank(train))
    if decoding.needs_references and decoding.references is None:
        decoding = replace(decoding, references=model.reference_bank(train))
    return decoding


def build_run_classifier(cfg: TrainConfig, spec: dict[str, Any], num_classes: int) -> nn.Module:
    """The classifier of the run: the user's (by name, with its weights), a CNN on pixels, or
    the paper's MLP on features."""
    if cfg.classifier:
        kwargs = {}
        if factory_accepts(cfg.classifier, "num_classes"):
            kwargs["num_classes"] = num_classes
        return load_classifier(cfg.classifier, cfg.classifier_weights or None, **kwargs)
    dropout = cfg.resolved("classifier_dropout")
    if spec["kind"] == "image":
        size = spec["preprocessing"]["size"]
        return CNNClassifier(num_classes, size, cfg.cnn_channels, cfg.hidden_sizes, dropout)
    return MLPClassifier(
        spec["feature_dim"],
        num_classes,
        cfg.hidden_sizes,
        spec["side_inputs"],
        dropout,
        cfg.resolved("classifier_input_dropout"),
    )


def run_conditioning(cfg: TrainConfig) -> Conditioning:
    return cfg.conditioning()


def example_batch(split: SplitData) -> torch.Tensor:
    return split.batch(torch.arange(min(2, len(split))))


def run_config(run_dir: str | Path, data_root: str | None = None) -> TrainConfig:
    """The training configuration saved in ``run_dir`` (``data_root`` overrides its data)."""
    run = RunDirectory(run_dir)
    if not run.train_config.is_file():
        if data_root is None:
            raise InterpnetError(
                f"{run.path}: no {run.train_config.name} naming the data; give the data root"
            )
        return TrainConfig(data_root=data_root)
    cfg = TrainConfig.from_dict(
        read_json(run.train_config, "training config"), str(run.train_config)
    )
    if data_root:
        cfg.data_root = data_root
    return cfg


class Run:
    """A run directory, opened: its config (``data_root`` moves its data), its data as the
    model's inputs, its model (loaded on first use onto ``device``, or given), the reranker of
    its reward models, its judges, and the banks a decoding reads. Each is read once.

    ``trust_code``: consent to build a ``package.module:factory`` classifier the run names (see
    :meth:`~interpnet.InterpNet.from_pretrained`)."""

    def __init__(
        self,
        path: str | Path | RunDirectory,
        data_root: str | None = None,
        model: InterpNet | None = None,
        device: str = "auto",
        trust_code: bool = False,
        progress: bool = True,
        log: Callable[[str], None] = print,
    ) -> None:
        self.directory = path if isinstance(path, RunDirectory) else RunDirectory(path)
        self.directory.require_model()
        self.data_root, self.device, self.trust_code = data_root, device, trust_code
        self.progress, self.log = progress, log
        self._model = model
        self._config: TrainConfig | None = None
        self._layout: Layout | None = None
        self._splits: dict[str, SplitData] = {}

    @property
    def path(self) -> Path:
        return self.directory.path

    @property
    def config(self) -> TrainConfig:
        """The run's training configuration, its data root replaced by ``data_root``."""
        if self._config is None:
            self._config = run_config(self.path, self.data_root)
        return self._config

    @property
    def layout(self) -> Layout:
        """The run's data set (its splits, classes and examples)."""
        if self._layout is None:
            self._layout = open_run_layout(self.config)
        return self._layout

    @property
    def model(self) -> InterpNet:
        if self._model is None:
            model = InterpNet.from_pretrained(self.path, trust_code=self.trust_code)
            self._model = model.to(resolve_device(self.device))
        return self._model

    def examples(self, split: str) -> list:
        """The examples (image path, label, references) of one split."""
        return split_examples(self.layout, split, self.config.skip_missing, self.log)

    def split(self, name: str) -> SplitData:
        """One split as the model's inputs (preprocessed images, or cached features)."""
        if name not in self._splits:
            self._splits[name] = model_split(
                self.model, self.config, name, self.progress, self.layout, self.log
            )
        return self._splits[name]

    def reranker(self, rerank: str) -> Reranker:
        """The reranker of score ``rerank`` from the run's reward models (trained on the
        training references on first use, then cached in the run)."""
        return run_reranker(self.model, self.split("train"), self.directory, rerank, self.log)

    def prepare(
        self, decoding: Decoding, reranker: Reranker | None = None
    ) -> tuple[Decoding, Reranker | None]:
        """``decoding`` with the banks it reads and the reranker its ``rerank`` names (unless
        ``reranker`` is given), from one reading of the training split."""
        wants_reranker = decoding.rerank is not None and reranker is None
        train = None
        if wants_reranker or decoding.lacks_banks:
            train = self.split("train")
        if wants_reranker:
            reranker = self.reranker(decoding.rerank)
        return with_banks(self.model, self.config, decoding, train=train), reranker
