"""Training configuration: the paper's recipe as defaults, loadable from JSON or TOML."""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from interpnet.errors import InterpnetError
from interpnet.model.conditioning import VARIANTS


@dataclass
class TrainConfig:
    """Everything a training run needs. Defaults follow the paper (Adam, lr 1e-3 for the
    classifier and 5e-4 for the explainer, batch 32, explainer 256/512/512, dropout 0.2)."""

    data_root: str = ""
    dataset: str = "auto"  # "auto", "cub", "synthbirds" or "flowers"
    splits: str = "auto"  # "auto" or a folder holding train.txt / val.txt / test.txt
    features: str = ""  # a feature-cache folder: train the MLP on backbone features
    backbone: str = "efficientnet-lite0"
    backbone_layers: list[str] = field(default_factory=list)
    skip_missing: bool = False
    image_size: int = 64
    augment: bool = True  # random horizontal flips of training images (classifier phase)
    # conditioning
    variant: str = "interpnet"
    num_hidden: int = 2
    layers: list[str] = field(default_factory=list)  # for variant "custom"
    include_input: bool = False
    include_softmax: bool = False
    # classifier (CNN for images)
    cnn_channels: list[int] = field(default_factory=lambda: [32, 64, 128, 128])
    hidden_sizes: list[int] = field(default_factory=lambda: [500, 300])
    # explainer
    embed_dim: int = 256
    hidden_dim: int = 512
    fusion_dim: int = 512
    dropout: float = 0.2
    label_embed_dim: int = 128
    min_count: int = 2
    max_length: int = 30
    # optimisation
    classifier_epochs: int = 100
    explainer_epochs: int = 100
    batch_size: int = 32
    explainer_batch_size: int = 32
    lr_classifier: float = 1e-3
    lr_explainer: float = 5e-4
    weight_decay: float = 0.0
    patience: int = 10  # stop a phase after this many epochs without improvement
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise InterpnetError(f"unknown variant {self.variant!r}; choose one of {VARIANTS}")
        for name in ("classifier_epochs", "explainer_epochs", "batch_size", "explainer_batch_size"):
            if getattr(self, name) < (0 if "epochs" in name else 1):
                raise InterpnetError(f"{name} must be positive, got {getattr(self, name)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InterpnetError(f"{source}: unknown option(s) {unknown}; known: {sorted(known)}")
        return cls(**data)

    @classmethod
    def from_file(cls, path: str | Path) -> TrainConfig:
        """Read a ``.json`` or ``.toml`` file of options (names as in this class)."""
        path = Path(path)
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise InterpnetError(f"{path}: config file not found") from None
        try:
            data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except (json.JSONDecodeError, tomllib.TOMLDecodeError) as err:
            raise InterpnetError(f"{path}: cannot parse config ({err})") from None
        return cls.from_dict(data, str(path))
