"""Introspector: collect r(x), the concatenated activations of chosen layers of any classifier."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from interpnet.errors import ConfigError

_POOLS = ("avg", "max", "flatten", "none")


def reduce_activation(t: torch.Tensor, pool: str) -> torch.Tensor:
    """Turn an activation of shape (N, C, ...) into (N, D): spatial dims pooled or flattened."""
    if t.dim() == 1:
        return t.unsqueeze(1)
    if t.dim() == 2:
        return t
    if pool == "avg":
        return t.flatten(2).mean(dim=2)
    if pool == "max":
        return t.flatten(2).amax(dim=2)
    return t.flatten(1)  # "flatten", "none": every position kept, channel-major


class Introspector(nn.Module):
    """Wrap a classifier and return ``(logits, r)`` where r(x) concatenates, in this order:
    the input (if ``include_input``), the outputs of ``layers`` (module names as in
    ``model.named_modules()``), and the softmax of the logits (if ``include_softmax``).

    Spatial activations are reduced to vectors by ``pool`` ("avg" = global average pooling,
    "max", or "flatten"). r(x) is detached: no gradient flows from the explainer back into the
    classifier. Hooks are attached only for the duration of a call, so the wrapped model is left
    untouched.
    """

    def __init__(
        self,
        model: nn.Module,
        layers: Sequence[str] = (),
        include_input: bool = False,
        include_softmax: bool = False,
        pool: str = "avg",
    ):
        super().__init__()
        if pool not in _POOLS:
            raise ConfigError(f"unknown pool {pool!r}; choose one of {_POOLS}")
        modules = dict(model.named_modules())
        unknown = [name for name in layers if name not in modules or name == ""]
        if unknown:
            available = ", ".join(n for n in modules if n) or "(none)"
            raise ConfigError(
                f"unknown layer name(s) {unknown} in {type(model).__name__}; available: {available}"
            )
        if not (layers or include_input or include_softmax):
            raise ConfigError("Introspector needs at least one layer, the input or the softmax")
        self.model = model
        self.layers = list(layers)
        self.include_input = include_input
        self.include_softmax = include_softmax
        self.pool = pool

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, parts = self.collect(x)
        return logits, torch.cat([t for _, t in parts], dim=1)

    def collect(
        self, x: torch.Tensor, detach: bool = True
    ) -> tuple[torch.Tensor, list[tuple[str, torch.Tensor]]]:
        """Run the model once; return its logits and the named, reduced parts of r, detached
        unless ``detach=False`` (attribution carries gradients through the classifier)."""
        logits, parts = self._parts(x)
        reduced = [
            (n, reduce_activation(t.detach() if detach else t, self.pool).float()) for n, t in parts
        ]
        return logits, reduced

    def _parts(self, x: torch.Tensor) -> tuple[torch.Tensor, list[tuple[str, torch.Tensor]]]:
        """Run the model once; its logits and the named parts of r as they are, unreduced."""
        captured: dict[str, torch.Tensor] = {}
        modules = dict(self.model.named_modules())

        def make_hook(name: str):
            def hook(_module, _inputs, output):
                captured[name] = output[0] if isinstance(output, tuple) else output

            return hook

        handles = [modules[name].register_forward_hook(make_hook(name)) for name in self.layers]
        try:
            logits = self.model(x)
        finally:
            for handle in handles:
                handle.remove()
        missing = [name for name in self.layers if name not in captured]
        if missing:
            raise RuntimeError(f"layer(s) {missing} were not executed by the model's forward")
        parts = [("input", x)] if self.include_input else []
        parts += [(name, captured[name]) for name in self.layers]
        if self.include_softmax:
            parts.append(("softmax", torch.softmax(logits, dim=-1)))
        return logits, parts

    @torch.no_grad()
    def part_shapes(self, example: torch.Tensor) -> list[tuple[str, list[int]]]:
        """(name, shape without the batch) of each part of r(x) before it is reduced: (C, H, W)
        for a feature map, (D,) for a vector. With ``pool="none"`` a map's part of r(x) holds
        every position, channel-major, and an explainer reads it back in this shape."""
        was_training = self.model.training
        self.model.eval()
        try:
            _, parts = self._parts(example)
        finally:
            self.model.train(was_training)
        return [(name, list(t.shape[1:])) for name, t in parts]

    @torch.no_grad()
    def part_dims(self, example: torch.Tensor) -> list[tuple[str, int]]:
        """(name, size) of each part of r(x), measured on an example batch (in eval mode)."""
        was_training = self.model.training
        self.model.eval()
        try:
            _, parts = self.collect(example)
        finally:
            self.model.train(was_training)
        return [(name, t.shape[1]) for name, t in parts]

    def output_dim(self, example: torch.Tensor) -> int:
        """Size of r(x), measured on an example batch."""
        return sum(dim for _, dim in self.part_dims(example))
