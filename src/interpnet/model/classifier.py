"""Classifiers: the paper's MLP on feature vectors and a small CNN for raw images.

Both expose ``hidden_layer_names`` (the ReLU outputs the paper's InterpNET_k reads, in order)
and ``feature_layer_name`` (the module whose output is the classifier's input feature vector
``x``; ``None`` when ``x`` is the raw input itself).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from interpnet.errors import ConfigError


class Columns(nn.Module):
    """Selects input columns [start, end): makes part of the input visible to forward hooks;
    ``shape`` (C, H, W): they hold a feature map, returned in that shape."""

    def __init__(self, start: int, end: int, shape: tuple[int, ...] | None = None):
        super().__init__()
        self.start, self.end, self.shape = start, end, shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x[:, self.start : self.end]
        return out if self.shape is None else out.reshape(len(x), *self.shape)


class MLPClassifier(nn.Module):
    """Feature vector -> ReLU hidden layers -> logits (the paper's classifier).

    ``side_inputs`` ({name: size}) are extra columns appended to the input (e.g. activations of
    intermediate backbone layers): the MLP does not read them, but they are exposed as modules
    ``side.<name>`` so an introspector can include them in r(x); the main features are then
    module ``main``. A size given as a shape ``[C, H, W]`` is a feature map (the backbone's,
    kept position by position), which ``side.<name>`` returns in that shape.

    ``dropout`` > 0 adds dropout after each hidden ReLU and ``input_dropout`` > 0 on the input
    features (the paper's MLP has neither). Dropout is active only in training mode, so r(x),
    read in eval mode, is unaffected; the hidden layers keep their names (``hidden.<i>``) and
    parameter keys.
    """

    def __init__(
        self,
        input_dim: int,
        num_classes: int,
        hidden_sizes: list[int] | None = None,
        side_inputs: dict[str, int | list[int]] | None = None,
        dropout: float = 0.0,
        input_dropout: float = 0.0,
    ):
        super().__init__()
        hidden_sizes = [500, 300] if hidden_sizes is None else list(hidden_sizes)
        side_inputs = dict(side_inputs or {})
        if input_dim < 1 or num_classes < 1 or any(h < 1 for h in hidden_sizes):
            raise ConfigError(
                f"MLPClassifier sizes must be positive (input {input_dim}, classes "
                f"{num_classes}, hidden {hidden_sizes})"
            )
        for name, rate in (("dropout", dropout), ("input_dropout", input_dropout)):
            if not 0.0 <= rate < 1.0:
                raise ConfigError(f"{name} must be in [0, 1), got {rate}")
        self.config = {
            "type": "mlp",
            "input_dim": input_dim,
            "num_classes": num_classes,
            "hidden_sizes": hidden_sizes,
        }
        if side_inputs:
            self.config["side_inputs"] = side_inputs
        if dropout:
            self.config["dropout"] = dropout
        if input_dropout:
            self.config["input_dropout"] = input_dropout
        self.input_dropout = nn.Dropout(input_dropout) if input_dropout else None
        sizes = {
            n: math.prod(d) if isinstance(d, list | tuple) else d for n, d in side_inputs.items()
        }
        self.total_dim = input_dim + sum(sizes.values())
        self.main = Columns(0, input_dim) if side_inputs else None
        self.side = nn.ModuleDict() if side_inputs else None
        start = input_dim
        for name, dim in side_inputs.items():
            shape = tuple(dim) if isinstance(dim, list | tuple) else None
            self.side[name.replace(".", "_")] = Columns(start, start + sizes[name], shape)
            start += sizes[name]
        self.hidden = nn.ModuleList()
        dims = [input_dim, *hidden_sizes]
        for d_in, d_out in zip(dims[:-1], dims[1:], strict=True):
            block = [nn.Linear(d_in, d_out), nn.ReLU()]
            self.hidden.append(nn.Sequential(*block, *([nn.Dropout(dropout)] if dropout else [])))
        self.logits = nn.Linear(dims[-1], num_classes)

    @property
    def feature_layer_name(self) -> str | None:
        return "main" if self.main is not None else None

    @property
    def hidden_layer_names(self) -> list[str]:
        return [f"hidden.{i}" for i in range(len(self.hidden))]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.total_dim:
            raise ValueError(
                f"MLPClassifier expects (batch, {self.total_dim}) features, "
                f"got shape {tuple(x.shape)}"
            )
        for side in self.side.values() if self.side is not None else ():
            side(x)  # visible to hooks; not used by the MLP
        if self.main is not None:
            x = self.main(x)
        if self.input_dropout is not None:
            x = self.input_dropout(x)
        for layer in self.hidden:
            x = layer(x)
        return self.logits(x)


class ConvBackbone(nn.Module):
    """Conv-BN-ReLU-MaxPool blocks, then global average pooling to a feature vector."""

    def __init__(self, channels: list[int], in_channels: int = 3):
        super().__init__()
        blocks: list[nn.Module] = []
        for c_in, c_out in zip([in_channels, *channels[:-1]], channels, strict=True):
            blocks.append(
                nn.Sequential(
                    nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                    nn.BatchNorm2d(c_out),
                    nn.ReLU(),
                    nn.MaxPool2d(2),
                )
            )
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        # channels-last convolutions: 1.36x faster training steps on the CPU for the demo's
        # CNN (48 against 66 ms per batch of 32 at 64 px, one thread), and the layout GPUs'
        # convolution kernels prefer; weights are saved contiguous all the same
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)
        return self.pool(self.blocks(x)).flatten(1)


class CNNClassifier(nn.Module):
    """Small CNN for raw RGB images: conv backbone -> feature vector x -> the paper's MLP head.

    The backbone output plays the role of the paper's input features ``x`` (there, a CNN
    fine-tuned on the birds); the head's hidden layers are what InterpNET_k introspects.
    """

    feature_layer_name = "backbone"

    def __init__(
        self,
        num_classes: int,
        image_size: int = 64,
        channels: list[int] | None = None,
        hidden_sizes: list[int] | None = None,
        dropout: float = 0.0,
    ):
        super().__init__()
        channels = [32, 64, 128, 128] if channels is None else list(channels)
        hidden_sizes = [256, 128] if hidden_sizes is None else list(hidden_sizes)
        if not channels or any(c < 1 for c in channels):
            raise ConfigError(f"CNNClassifier channels must be positive, got {channels}")
        self.config = {
            "type": "cnn",
            "num_classes": num_classes,
            "image_size": image_size,
            "channels": channels,
            "hidden_sizes": hidden_sizes,
        }
        if dropout:
            self.config["dropout"] = dropout
        self.backbone = ConvBackbone(channels)
        self.head = MLPClassifier(channels[-1], num_classes, hidden_sizes, dropout=dropout)

    @property
    def hidden_layer_names(self) -> list[str]:
        return [f"head.{name}" for name in self.head.hidden_layer_names]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = self.config["image_size"]
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(
                f"CNNClassifier expects (batch, 3, {size}, {size}) images, got {tuple(x.shape)}"
            )
        return self.head(self.backbone(x))


def classifier_config(classifier: nn.Module) -> dict[str, Any]:
    """How a run directory records ``classifier``: a built-in's config, the spec of one loaded
    by name (:func:`interpnet.load_classifier`), or just its class for any other module."""
    from interpnet.model.loading import SPEC_ATTR

    spec = getattr(classifier, SPEC_ATTR, None)
    if isinstance(spec, dict):
        return spec
    if isinstance(classifier, MLPClassifier | CNNClassifier):
        return classifier.config
    cls = type(classifier)
    return {"type": "custom", "class": f"{cls.__module__}:{cls.__qualname__}"}


def build_classifier(
    config: dict[str, Any], trust_code: bool = False, source: str = "the model config"
) -> nn.Module:
    """Rebuild a classifier from its recorded config (as saved in a run directory, ``source``).
    A config naming a ``package.module:factory`` imports and runs it only with ``trust_code``
    (:class:`~interpnet.errors.UntrustedCodeError` otherwise)."""
    kind = config.get("type")
    kwargs = {k: v for k, v in config.items() if k != "type"}
    if kind == "mlp":
        return MLPClassifier(**kwargs)
    if kind == "cnn":
        return CNNClassifier(**kwargs)
    if kind in ("torchvision", "timm", "factory"):
        from interpnet.model.loading import rebuild_classifier

        return rebuild_classifier(config, trust_code, source)
    raise ValueError(
        f"classifier type {kind!r} cannot be rebuilt from its config; pass classifier=... "
        "to InterpNet.from_pretrained"
    )
