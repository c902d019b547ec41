"""The inputs a training run uses: images of a data root, or cached backbone features."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from interpnet.data.layouts import open_layout, split_examples
from interpnet.data.splits import SplitData, load_splits, split_data
from interpnet.errors import InterpnetError
from interpnet.features import extract_features
from interpnet.features.cache import FEATURES
from interpnet.model import CNNClassifier, MLPClassifier
from interpnet.storage import read_json
from interpnet.training.config import TrainConfig

TRAIN_CONFIG = "train_config.json"

ALL_SPLITS = ("train", "val", "test")


def load_run_data(
    cfg: TrainConfig, names: tuple[str, ...], progress: bool = True
) -> tuple[dict[str, SplitData], list[str], dict[str, Any]]:
    """The splits ``names`` as model inputs, the class names, and the model's input spec."""
    if not cfg.features:
        splits, classes = load_splits(
            cfg.data_root,
            names,
            cfg.image_size,
            cfg.splits,
            cfg.skip_missing,
            progress,
            cfg.dataset,
        )
        return splits, classes, {"kind": "image", "image_size": cfg.image_size}
    layout = open_layout(cfg.data_root, cfg.dataset, cfg.splits)
    examples = {s: split_examples(layout, s, cfg.skip_missing) for s in ALL_SPLITS}
    every = [(e.rel_path, e.image_path) for s in ALL_SPLITS for e in examples[s]]
    cache = extract_features(
        every,
        cfg.backbone,
        cfg.features,
        cfg.backbone_layers,
        device="cpu" if cfg.device == "auto" else cfg.device,
        progress=progress,
    )
    out = {}
    for name in names:
        keys = [e.rel_path for e in examples[name]]
        out[name] = split_data(name, examples[name], cache.get(keys, cfg.backbone_layers))
    dims = cache.dims()
    spec = {
        "kind": "features",
        "backbone": cfg.backbone,
        "cache": str(Path(cache.folder)),
        "feature_dim": dims[FEATURES],
        "side_inputs": {name: dims[name] for name in cfg.backbone_layers},
    }
    return out, layout.class_names, spec


def build_run_classifier(cfg: TrainConfig, spec: dict[str, Any], num_classes: int) -> nn.Module:
    """The classifier the run trains: a CNN on pixels, or the paper's MLP on features."""
    if spec["kind"] == "image":
        return CNNClassifier(num_classes, cfg.image_size, cfg.cnn_channels, cfg.hidden_sizes)
    return MLPClassifier(spec["feature_dim"], num_classes, cfg.hidden_sizes, spec["side_inputs"])


def example_batch(split: SplitData) -> torch.Tensor:
    return split.batch(torch.arange(min(2, len(split))))


def run_config(run_dir: str | Path, data_root: str | None = None) -> TrainConfig:
    """The training configuration saved in ``run_dir`` (``data_root`` overrides its data)."""
    path = Path(run_dir) / TRAIN_CONFIG
    if not path.is_file():
        if data_root is None:
            raise InterpnetError(f"{run_dir}: no {TRAIN_CONFIG} naming the data; pass --data-root")
        return TrainConfig(data_root=data_root)
    cfg = TrainConfig.from_dict(read_json(path, "training config"), str(path))
    if data_root:
        cfg.data_root = data_root
    return cfg
