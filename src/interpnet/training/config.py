"""How the CLI builds a run: data, classifier, conditioning and options in one flat config,
loadable from JSON or TOML and saved as the run's ``train_config.json``.

Library users build the pieces themselves and hand them to :class:`~interpnet.training.Trainer`;
this config is what ``interpnet train`` maps its flags to (see
:func:`interpnet.workflows.train.configured_trainer`).
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from interpnet.errors import ConfigError, InterpnetError
from interpnet.model.conditioning import VARIANTS, Conditioning
from interpnet.model.explainer import ExplainerConfig
from interpnet.training.args import TrainingArgs, options_from_dict

# Regularisation of the classifier phase. "paper" is the InterpNET paper's recipe exactly (Adam,
# nothing else); "default" was chosen on the Flowers validation split so that the paper's MLP
# on EfficientNet-Lite0 features at least matches a logistic-regression probe
# (benchmarks/classifier/).
RECIPES: dict[str, dict[str, Any]] = {
    "paper": {
        "classifier_dropout": 0.0,
        "classifier_input_dropout": 0.0,
        "weight_decay": 0.0,
        "label_smoothing": 0.0,
        "optimizer": "adam",
        "lr_decay": 0.5,
    },
    "default": {
        "classifier_dropout": 0.5,
        "classifier_input_dropout": 0.2,
        "weight_decay": 0.05,
        "label_smoothing": 0.1,
        "optimizer": "adamw",
        "lr_decay": 1.0,
    },
}
_RECIPE_KEYS = tuple(RECIPES["paper"])
# built by the CLI, not Trainer
DROPOUT_OPTIONS = ("classifier_dropout", "classifier_input_dropout")


@dataclass
class TrainConfig:
    """Everything ``interpnet train`` needs. Options left ``None`` take the recipe's value."""

    data_root: str = ""
    dataset: str = "auto"  # "auto", "cub", "synthbirds", "flowers" or "generic"
    splits: str = "auto"  # "auto", "official" or a folder holding train.txt / val.txt / test.txt
    val_fraction: float = 0.1  # generic layout without a split column
    test_fraction: float = 0.1
    features: str = ""  # a feature-cache folder: train the MLP on backbone features
    backbone: str = "efficientnet-lite0"
    backbone_layers: list[str] = field(default_factory=list)
    skip_missing: bool = False
    image_size: int | None = None  # 64 for the built-in CNN, 224 for torchvision/timm models
    image_resize: int | None = None  # shorter side before the centre crop (default: size)
    image_mean: list[float] = field(default_factory=list)  # empty: inputs in [0, 1]
    image_std: list[float] = field(default_factory=list)
    # classifier
    classifier: str = ""  # "" = built-in; "torchvision/<arch>", "timm/<name>", "pkg.mod:factory"
    classifier_weights: str = ""  # .safetensors/.pt/.pth/.bin state dict for --classifier
    freeze_classifier: bool = False
    recipe: str = "default"  # "default" or "paper"
    cnn_channels: list[int] = field(default_factory=lambda: [32, 64, 128, 128])
    hidden_sizes: list[int] = field(default_factory=lambda: [500, 300])
    classifier_dropout: float | None = None
    classifier_input_dropout: float | None = None
    # conditioning
    variant: str = "interpnet"
    num_hidden: int = 2
    layers: list[str] = field(default_factory=list)  # for variant "custom"
    include_input: bool = False
    include_softmax: bool = False
    decision_label: bool = False
    # explainer
    explainer: str = "lrcn"  # a registered explainer (interpnet.register_explainer)
    embed_dim: int = 256
    hidden_dim: int = 512
    fusion_dim: int = 512
    dropout: float = 0.2
    label_embed_dim: int = 128
    min_count: int = 2
    max_length: int = 30
    # optimisation
    augment: bool = True
    classifier_epochs: int = 100
    explainer_epochs: int = 100
    batch_size: int = 32
    explainer_batch_size: int = 32
    lr_classifier: float = 1e-3
    lr_explainer: float = 5e-4
    optimizer: str | None = None
    weight_decay: float | None = None
    label_smoothing: float | None = None
    lr_decay: float | None = None
    patience: int = 10
    # discriminative phase (None: off, or 10 epochs of the true-class reward for variant gve)
    discriminative_epochs: int | None = None
    rewards: dict[str, float] = field(default_factory=dict)
    num_samples: int = 5
    xe_weight: float = 0.1
    lr_discriminative: float = 5e-5
    discriminative_batch_size: int = 32
    swap_fraction: float = 0.0
    dropout_decisions: bool = False
    cross_fit_folds: int = 0
    class_groups: int = 0
    length_bucketing: bool = True
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        for f in fields(self):
            values = getattr(self, f.name)
            for value in values if isinstance(values, list) else [values]:
                if isinstance(value, float) and not math.isfinite(value):
                    raise ConfigError(f"{f.name} must be finite, got {value}")
        if self.variant not in VARIANTS:
            raise ConfigError(f"unknown variant {self.variant!r}; choose one of {VARIANTS}")
        if self.recipe not in RECIPES:
            raise ConfigError(f"unknown recipe {self.recipe!r}; choose one of {sorted(RECIPES)}")
        if self.image_size is not None and self.image_size < 8:
            raise ConfigError(f"image_size must be at least 8, got {self.image_size}")
        if len(self.image_mean) not in (0, 3) or len(self.image_std) != len(self.image_mean):
            raise ConfigError("image_mean and image_std take 3 values each (or neither)")
        if any(c < 1 for c in self.cnn_channels) or not self.cnn_channels:
            raise ConfigError(f"cnn_channels must be positive, got {self.cnn_channels}")
        if any(h < 1 for h in self.hidden_sizes):
            raise ConfigError(f"hidden_sizes must be positive, got {self.hidden_sizes}")
        if self.num_hidden < 0:
            raise ConfigError(f"num_hidden must be 0 or more, got {self.num_hidden}")
        if self.classifier_weights and not self.classifier:
            raise ConfigError("classifier_weights is for a classifier given by name")
        for name in ("val_fraction", "test_fraction"):
            if not 0 < getattr(self, name) < 1:
                raise ConfigError(f"{name} must be in (0, 1), got {getattr(self, name)}")
        # the pieces validate their own options, before any data is read
        self.training_args()
        self.explainer_config()
        self.conditioning()
        self.resolved("classifier_dropout")
        self.resolved("classifier_input_dropout")

    # ---- the library objects this config stands for ---------------------------------------
    def resolved(self, name: str) -> Any:
        """An option's value, or the recipe's when it is ``None``."""
        value = getattr(self, name)
        value = RECIPES[self.recipe][name] if value is None else value
        if name in DROPOUT_OPTIONS and not 0 <= value < 1:
            raise ConfigError(f"{name} must be in [0, 1), got {value}")
        return value

    def training_args(self) -> TrainingArgs:
        derived = {"train_classifier", "discriminative_epochs", "rewards"}
        own = {f.name for f in fields(TrainingArgs)} - set(_RECIPE_KEYS) - derived
        gve = self.variant == "gve"
        epochs = self.discriminative_epochs
        return TrainingArgs(
            train_classifier=not self.freeze_classifier,
            discriminative_epochs=(10 if gve else 0) if epochs is None else epochs,
            rewards=self.rewards or ({"class-true": 1.0} if gve else {}),
            **{name: getattr(self, name) for name in own},
            **{k: self.resolved(k) for k in _RECIPE_KEYS if k not in DROPOUT_OPTIONS},
        )

    def conditioning(self) -> Conditioning:
        return Conditioning(
            self.variant,
            self.num_hidden,
            self.layers,
            self.include_input,
            self.include_softmax,
            decision_label=self.decision_label,
        )

    def explainer_config(self) -> ExplainerConfig:
        sizes = {f.name: getattr(self, f.name) for f in fields(ExplainerConfig) if f.name != "kind"}
        return ExplainerConfig(kind=self.explainer, **sizes)

    # ---- files ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> TrainConfig:
        return options_from_dict(cls, data, source)

    @classmethod
    def from_file(cls, path: str | Path) -> TrainConfig:
        """Read a ``.json`` or ``.toml`` file of options (names as in this class)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InterpnetError(f"{path}: config file not found") from None
        except (OSError, UnicodeDecodeError) as err:
            raise InterpnetError(f"{path}: cannot read config ({err})") from None
        try:
            data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except (json.JSONDecodeError, tomllib.TOMLDecodeError) as err:
            raise InterpnetError(f"{path}: cannot parse config ({err})") from None
        if not isinstance(data, dict):
            raise InterpnetError(f"{path}: a config is a table/object of options")
        return cls.from_dict(data, str(path))
