"""One configuration for a run: :class:`TrainConfig`, composed of the sections a run is built
from (:class:`DataConfig`, :class:`ClassifierConfig`, :class:`~interpnet.model.Conditioning`,
:class:`~interpnet.model.ExplainerConfig`, :class:`~interpnet.training.TrainingArgs`). Every
option is declared once, in its section, with its default and help text
(:func:`interpnet.options.option`); the flat config, the CLI's flags and ``--help``, and config
files (flat, or in sections) are generated from them. ``interpnet train`` maps its flags to it
and saves it as the run's ``train_config.json`` (see
:func:`interpnet.workflows.train.configured_trainer`); library users build the sections'
objects themselves.
"""

from __future__ import annotations

import json
import math
import tomllib
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields, make_dataclass
from pathlib import Path
from typing import Any

from interpnet.data.layouts import DATASETS
from interpnet.errors import ConfigError, InterpnetError
from interpnet.model.conditioning import VARIANTS, Conditioning
from interpnet.model.explainer import ExplainerConfig
from interpnet.options import option
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

# Named starting points of a config (flags and config files override them): interpnet's
# defaults, the InterpNET paper's recipe, and the demo's (the paper's recipe with a model small
# enough to run the whole demo in a few minutes on 2 CPU cores).
PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    "paper": {"recipe": "paper"},
    "demo": {
        "recipe": "paper",
        "cnn_channels": [16, 32, 64, 128],
        "hidden_sizes": [256, 128],
        "embed_dim": 128,
        "hidden_dim": 256,
        "fusion_dim": 256,
        "classifier_epochs": 30,
        "explainer_epochs": 12,
        "explainer_batch_size": 64,
        "patience": 5,
    },
}
# built by the CLI, not Trainer
DROPOUT_OPTIONS = ("classifier_dropout", "classifier_input_dropout")


@dataclass
class DataConfig:
    """Where a run's data is and how its images become the classifier's input."""

    data_root: str = option(
        "",
        help=(
            "data root: a folder with metadata.jsonl/metadata.csv (your own images), the CUB "
            "layout (CUB_200_2011/ + text_c10/, e.g. SynthBirds) or Oxford-102"
        ),
    )
    dataset: str = option(
        "auto",
        help=(
            "'auto' (detected from the data root), 'cub', 'synthbirds', 'flowers' or 'generic' "
            "(metadata.jsonl / metadata.csv)"
        ),
        choices=DATASETS,
    )
    splits: str = option(
        "auto",
        help=(
            "CUB layout: 'auto' (split files in <root>/splits or <root>/splits/gve, else the "
            "official split with a seeded validation part), 'official', or a folder holding "
            "train.txt/val.txt/test.txt or GVE's train_noCub.txt/val.txt/test.txt"
        ),
    )
    val_fraction: float = option(
        0.1, help="generic layout without a split column: share of each class for val"
    )
    test_fraction: float = option(
        0.1, help="generic layout without a split column: share of each class for test"
    )
    features: str = option(
        "",
        help=(
            "feature-cache folder: classify frozen-backbone features of the images with the "
            "paper's MLP (extracted into it first if needed) instead of training a CNN on pixels"
        ),
    )
    backbone: str = option(
        "efficientnet-lite0",
        help=(
            "with features: the pretrained backbone: efficientnet-lite0, torchvision/<arch> or "
            "timm/<name> (their weights from the local cache, never downloaded)"
        ),
    )
    backbone_layers: list[str] = option(
        factory=list,
        help=(
            "with features: intermediate backbone modules to save too; they are exposed to the "
            "introspector as side.<name> (use variant custom to read them)"
        ),
    )
    spatial: bool = option(
        False,
        help=(
            "with features: keep the backbone's last feature map position by position "
            "(EfficientNet-Lite0: 1280 x 7 x 7, float16 in the cache), exposed to the "
            "introspector as side.map: read it with --variant custom --layers side.map ... "
            "--pool none and an explainer that attends (attention, transformer)"
        ),
    )
    skip_missing: bool = option(
        False, help="drop (and count) images whose image or text file is missing"
    )
    image_size: int | None = option(
        None,
        help=(
            "images are resized (shorter side) and centre-cropped to this size (default: 64 for "
            "the built-in CNN, 224 for torchvision models)"
        ),
    )
    image_resize: int | None = option(
        None,
        help=(
            "shorter side before the centre crop (default: the image size; 256 for torchvision "
            "models at 224)"
        ),
    )
    image_mean: list[float] = option(
        factory=list,
        help=(
            "3 values: normalise image inputs as (x - mean) / std (x in [0, 1]; default: none, or "
            "ImageNet's for torchvision models)"
        ),
    )
    image_std: list[float] = option(factory=list, help="3 values, with image_mean")


@dataclass
class ClassifierConfig:
    """The classifier a run explains (built-in, torchvision, timm or a factory) and the
    regularisation recipe of its phase; ``None`` takes the recipe's value."""

    classifier: str = option(
        "",
        help=(
            "your classifier instead of the built-in one: torchvision/<arch>, timm/<name> (both "
            "need the vision extra) or package.module:factory (a callable returning an nn.Module, "
            "given num_classes= when it takes it); the run records it, so explain/evaluate rebuild"
            " it (a factory only with trust_code)"
        ),
    )
    classifier_weights: str = option(
        "",
        help=(
            "weights for classifier: a state dict in a .safetensors, .pt, .pth or .bin file "
            "(torch.save; read without unpickling code), also a training checkpoint holding one "
            "under state_dict, model_state_dict, model or ema"
        ),
    )
    freeze_classifier: bool = option(
        False,
        help=(
            "keep the classifier as it is (skip phase 1) and train only the explainer on its "
            "activations"
        ),
    )
    recipe: str = option(
        "default",
        help=(
            "classifier-phase regularisation: one of ['default', 'paper']; 'paper' is the "
            "InterpNET paper's (Adam, no regularisation), 'default' adds dropout, weight decay and"
            " label smoothing"
        ),
        choices=tuple(RECIPES),
    )
    cnn_channels: list[int] = option(
        factory=lambda: [32, 64, 128, 128], help="channels of the CNN classifier's conv blocks"
    )
    hidden_sizes: list[int] = option(
        factory=lambda: [500, 300],
        help="sizes of the classifier's ReLU hidden layers (the paper's MLP)",
    )
    classifier_dropout: float | None = option(
        None, help="dropout after each hidden layer of the built-in classifier's MLP"
    )
    classifier_input_dropout: float | None = option(
        None, help="dropout on the input features of the built-in MLP on backbone features"
    )


# TrainingArgs options whose flat value is None unless given: the recipe's (classifier phase),
# or, for discriminative_epochs and rewards, the variant's (gve trains phase 3 by default)
_FROM_RECIPE = frozenset(RECIPES["paper"]) - set(DROPOUT_OPTIONS)
_DERIVED = ("train_classifier",)  # from freeze_classifier
_FLAT_NAMES = {"kind": "explainer", "options": "explainer_options"}  # flat names of those two
SECTIONS: dict[str, type] = {
    "data": DataConfig,
    "classifier": ClassifierConfig,
    "conditioning": Conditioning,
    "explainer": ExplainerConfig,
    "training": TrainingArgs,
}


def _flat_fields() -> list[tuple[str, Any, Any]]:
    """(name, type, field) of every option of every section, each declared once."""
    out = []
    for section in SECTIONS.values():
        hints = typing.get_type_hints(section)
        for f in fields(section):
            if f.name in _DERIVED:
                continue
            meta = dict(f.metadata)
            kind, default, factory = hints[f.name], f.default, f.default_factory
            if f.name in _FROM_RECIPE or f.name == "discriminative_epochs":
                kind, default, factory = kind | None, None, MISSING
            if factory is not MISSING:
                made = field(default_factory=factory, metadata=meta)
            else:
                made = field(default=default, metadata=meta)
            out.append((_FLAT_NAMES.get(f.name, f.name), kind, made))
    return out


class _TrainConfigMethods:
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
        phase3 = self.conditioning().phase3_defaults()
        epochs = self.discriminative_epochs
        return TrainingArgs(
            train_classifier=not self.freeze_classifier,
            discriminative_epochs=phase3["discriminative_epochs"] if epochs is None else epochs,
            rewards=self.rewards or phase3["rewards"],
            **{name: getattr(self, name) for name in own},
            **{k: self.resolved(k) for k in _RECIPE_KEYS if k not in DROPOUT_OPTIONS},
        )

    def conditioning(self) -> Conditioning:
        return Conditioning(**self._section("conditioning"))

    def explainer_config(self) -> ExplainerConfig:
        return ExplainerConfig(**self._section("explainer"))

    def _section(self, name: str) -> dict[str, Any]:
        """This config's values of one section's options, by the section's field names."""
        names = [f.name for f in fields(SECTIONS[name]) if f.name not in _DERIVED]
        return {n: getattr(self, _FLAT_NAMES.get(n, n)) for n in names}

    def sections(self) -> dict[str, dict[str, Any]]:
        """The options by section (``data``, ``classifier``, ``conditioning``, ``explainer``,
        ``training``), as a config file may hold them."""
        return {name: self._section(name) for name in SECTIONS}

    # ---- files ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> TrainConfig:
        """From flat options (``train_config.json``, or a config file) or options in sections
        (``{"data": {...}, "training": {...}}``, the names of :meth:`sections`)."""
        return options_from_dict(cls, flat_options(data), source)

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> TrainConfig:
        """The named preset (:data:`PRESETS`: ``default``, ``paper``, ``demo``) with
        ``overrides``."""
        if name not in PRESETS:
            raise ConfigError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
        return cls.from_dict({**PRESETS[name], **overrides}, f"preset {name!r}")

    @classmethod
    def from_file(cls, path: str | Path) -> TrainConfig:
        """Read a ``.json`` or ``.toml`` file of options: flat (names as in this class) or in
        sections (:meth:`sections`)."""
        return cls.from_dict(read_options(path), str(path))


def flat_options(data: dict[str, Any]) -> dict[str, Any]:
    """Options given flat or in sections (``{"data": {...}, ...}``), flat."""
    flat = {k: v for k, v in data.items() if k not in SECTIONS or not isinstance(v, dict)}
    for name, values in data.items():
        if name in SECTIONS and isinstance(values, dict):
            for key, value in values.items():
                flat[_FLAT_NAMES.get(key, key)] = value
    return flat


def read_options(path: str | Path) -> dict[str, Any]:
    """The options a ``.json`` or ``.toml`` config file gives, flat."""
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
    return flat_options(data)


TrainConfig = make_dataclass(
    "TrainConfig",
    _flat_fields(),
    bases=(_TrainConfigMethods,),
    namespace={
        "__module__": __name__,
        "__doc__": "Everything ``interpnet train`` needs, flat: the options of every section "
        "(:data:`SECTIONS`), each declared once there. Options left ``None`` take the "
        "recipe's value (the classifier phase's regularisation) or the variant's.",
    },
)
