"""The intervention test: remove what an explanation points at and see whether the decision
weakens. For each item, the cells of a grid over the classifier's input where the words of its
explanation peak (each word's map brought to the grid, the cell of its maximum) are set to the
data's mean input, and, as a control, as many random cells (several draws); reported is how
much the classifier's probability of its own decision drops each way, and the ratio. Words that
point where the decision came from make the ratio large; maps that point anywhere give 1."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from interpnet.data.splits import SplitData
from interpnet.errors import ConfigError
from interpnet.model import InterpNet
from interpnet.workflows.word_maps import MAP_KINDS, MapBatch, feature_map_shape, run_checks


def pointed_cells(maps: torch.Tensor, grid: int) -> list[int]:
    """The distinct cells (row-major indices of a ``grid`` x ``grid`` grid) where the words'
    maps ``maps`` (T, H, W) peak, each map averaged onto the grid first."""
    pooled = F.adaptive_avg_pool2d(maps[:, None].float(), grid).flatten(1)
    return sorted(set(pooled.argmax(dim=1).tolist()))


def remove_cells(
    x: torch.Tensor, cells: Sequence[int], grid: int, fill: torch.Tensor
) -> torch.Tensor:
    """A copy of input ``x`` (C, H, W) with the pixels of ``cells`` of a ``grid`` x ``grid``
    grid over it set to ``fill`` (C,)."""
    out = x.clone()
    h, w = x.shape[1:]
    for cell in cells:
        r, c = divmod(int(cell), grid)
        rows = slice(r * h // grid, (r + 1) * h // grid)
        cols = slice(c * w // grid, (c + 1) * w // grid)
        out[:, rows, cols] = fill.view(-1, 1, 1).to(out)
    return out


class PixelRemover:
    """Removes cells of an image (C, H, W): their pixels take ``fill`` (C,)."""

    def __init__(self, fill: torch.Tensor) -> None:
        self.fill = fill

    def __call__(self, x: torch.Tensor, cells: Sequence[int], grid: int) -> torch.Tensor:
        return remove_cells(x, cells, grid, self.fill)


class MapRemover:
    """Removes cells of the backbone's feature map (C, H, W) that a feature run keeps in the
    last columns of its input: they take ``fill`` (C,), and the pooled features (the first C
    columns) are recomputed as the map's mean over positions, as the backbone's global average
    pooling makes them (EfficientNet-Lite0, torchvision's CNNs)."""

    def __init__(self, shape: Sequence[int], fill: torch.Tensor) -> None:
        self.shape, self.fill = tuple(shape), fill
        self.size = math.prod(self.shape)

    def __call__(self, x: torch.Tensor, cells: Sequence[int], grid: int) -> torch.Tensor:
        fmap = remove_cells(x[-self.size :].reshape(self.shape), cells, grid, self.fill)
        out = x.clone()
        out[-self.size :] = fmap.flatten()
        out[: self.shape[0]] = fmap.mean(dim=(1, 2))
        return out


class InterventionCheck:
    """Removes each item's pointed cells (``remove``: a :class:`PixelRemover` or
    :class:`MapRemover`), and as many random cells ``draws`` times (seeded), and tallies the
    drop in the probability of the classifier's decision (``classify``: inputs -> logits)."""

    name = "intervention"

    def __init__(
        self,
        classify: Callable[[torch.Tensor], torch.Tensor],
        remove: Callable[[torch.Tensor, Sequence[int], int], torch.Tensor],
        grid: int = 8,
        draws: int = 4,
        seed: int = 0,
    ) -> None:
        if grid < 1 or draws < 1:
            raise ConfigError(f"grid and draws must be at least 1, got {grid} and {draws}")
        self.classify, self.remove, self.grid, self.draws = classify, remove, grid, draws
        self.generator = torch.Generator().manual_seed(seed)
        self.sums = {k: torch.zeros(4, dtype=torch.float64) for k in MAP_KINDS}

    @torch.no_grad()
    def _decision(self, x: torch.Tensor, label: torch.Tensor | None = None):
        prob = torch.softmax(self.classify(x).float(), dim=-1)
        if label is None:
            label = prob.argmax(dim=-1)
        return prob.gather(1, label[:, None]).squeeze(1).cpu(), label

    def add(self, batch: MapBatch) -> None:
        before, label = self._decision(batch.x)
        cells_total = self.grid * self.grid
        for kind, per_item in batch.maps.items():
            pointed, random, sizes = [], [], []
            for j, maps in enumerate(per_item):
                cells = pointed_cells(maps, self.grid) if len(maps) else []
                sizes.append(len(cells))
                pointed.append(self.remove(batch.x[j], cells, self.grid))
                for _ in range(self.draws):
                    drawn = torch.randperm(cells_total, generator=self.generator)[: len(cells)]
                    random.append(self.remove(batch.x[j], drawn.tolist(), self.grid))
            after, _ = self._decision(torch.stack(pointed), label)
            after_random, _ = self._decision(
                torch.stack(random), label.repeat_interleave(self.draws)
            )
            drop_random = before - after_random.view(-1, self.draws).mean(dim=1)
            self.sums[kind] += torch.tensor(
                [
                    len(per_item),
                    sum(sizes),
                    float((before - after).sum()),
                    float(drop_random.sum()),
                ],
                dtype=torch.float64,
            )

    def result(self, kinds: Sequence[str]) -> dict[str, Any]:
        """Per kind: ``cells`` (mean pointed cells per item, of ``grid``^2), ``drop`` and
        ``random_drop`` (mean drop of the decision's probability), ``ratio`` (their ratio;
        None when random removal does not lower it)."""
        out: dict[str, Any] = {"grid": self.grid, "draws": self.draws}
        for kind in kinds:
            n, cells, drop, random = self.sums[kind].tolist()
            out[kind] = {
                "cells": cells / n if n else None,
                "drop": drop / n if n else None,
                "random_drop": random / n if n else None,
                "ratio": drop / random if n and random > 0 else None,
            }
        return out


def mean_input(data: SplitData, batch_size: int = 256, shape: Sequence[int] | None = None):
    """The mean classifier input of ``data``, per channel (C,): what removed cells become; with
    ``shape`` (C, H, W), the mean of the feature map in the last columns of feature inputs."""
    total, count = None, 0
    for start in range(0, len(data), batch_size):
        x = data.batch(torch.arange(start, min(start + batch_size, len(data))))
        if shape is not None:
            x = x[:, -math.prod(shape) :].reshape(len(x), *shape)
        s = x.double().sum(dim=(0, 2, 3))
        total = s if total is None else total + s
        count += x.shape[0] * x.shape[2] * x.shape[3]
    if total is None:
        raise ConfigError("the mean input of an empty split is undefined")
    return (total / count).float()


def intervention_test(
    model: InterpNet,
    data: SplitData,
    explanations: list[str],
    kinds: list[str] | None = None,
    grid: int = 8,
    draws: int = 4,
    limit: int | None = None,
    seed: int = 0,
    batch_size: int = 32,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """The intervention test of ``explanations`` (one per item of ``data``, a split of images)
    for each of ``kinds`` (default: every kind of per-word map the model has) on ``limit``
    items spread over the split (default all); removed cells take the split's mean input."""
    check = intervention_check(model, data, grid, draws, seed)
    return run_checks(model, data, explanations, [check], kinds, limit, batch_size, progress, log)[
        check.name
    ]


def intervention_check(
    model: InterpNet, data: SplitData, grid: int = 8, draws: int = 4, seed: int = 0
) -> InterventionCheck:
    """The intervention check of ``model``'s classifier on the items of ``data``: cells of a
    ``grid`` x ``grid`` grid over images, or the positions of the backbone's feature map of a
    feature run (its own grid)."""
    shape = feature_map_shape(model)
    if shape is not None:
        remove: Callable = MapRemover(shape, mean_input(data, shape=shape))
        grid = shape[1]
    else:
        remove = PixelRemover(mean_input(data))
    return InterventionCheck(lambda x: model.introspect(x)[0], remove, grid, draws, seed)
