"""Grounding of per-word evidence maps against where the parts are.

A map is a grid of non-negative evidence over the classifier's input (a feature map's H x W
positions, or the image's pixels). A part is a set of regions (ellipses, in fractions of the
input's side). For each word that names a part:

- **pointing**: whether the map's peak falls on the part (a cell counts when the part covers
  any of it; when several cells tie for the peak, the share of them on the part);
- **mass**: the share of the map's evidence on the part (each cell weighted by the fraction of
  it the part covers).

Beside each, the same for a map that knows nothing (a uniform map, whose peak is any cell): the
share of cells the part touches and the part's area. Scores above these baselines mean the
evidence looks at the part.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

_SAMPLES = 6  # sample points per cell side when a region's cover of a cell is measured


class Ellipse(Protocol):
    cx: float
    cy: float
    rx: float
    ry: float
    angle: float


def coverage(regions: Sequence[Ellipse], height: int, width: int) -> torch.Tensor:
    """(height, width): the fraction of each cell of a grid over the unit square that the
    union of ``regions`` covers (measured at 6 x 6 points per cell)."""
    ys = (torch.arange(height * _SAMPLES, dtype=torch.float64) + 0.5) / (height * _SAMPLES)
    xs = (torch.arange(width * _SAMPLES, dtype=torch.float64) + 0.5) / (width * _SAMPLES)
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    inside = torch.zeros_like(x, dtype=torch.bool)
    for r in regions:
        if r.rx <= 0 or r.ry <= 0:
            continue
        c, s = math.cos(r.angle), math.sin(r.angle)
        dx, dy = x - r.cx, y - r.cy
        u, v = dx * c + dy * s, -dx * s + dy * c
        inside |= (u / r.rx) ** 2 + (v / r.ry) ** 2 <= 1.0
    cells = inside.reshape(height, _SAMPLES, width, _SAMPLES).double().mean(dim=(1, 3))
    return cells.float()


def pointing(evidence: torch.Tensor, cover: torch.Tensor) -> float:
    """Whether the peak of ``evidence`` lies on the part that covers ``cover`` of each cell:
    the share of the tied peak cells that the part touches."""
    peak = evidence == evidence.max()
    return float((cover[peak] > 0).float().mean())


def mass(evidence: torch.Tensor, cover: torch.Tensor) -> float:
    """The share of the (non-negative part of) ``evidence`` on the part; a map with no
    evidence at all counts as uniform."""
    e = evidence.clamp_min(0).double()
    total = float(e.sum())
    if total <= 0:
        return float(cover.double().mean())
    return float((e * cover.double()).sum()) / total


@dataclass
class GroundingTally:
    """The running pointing and mass scores of one kind of map, with their baselines."""

    words: int = 0
    hits: float = 0.0
    mass: float = 0.0
    touched: float = 0.0
    area: float = 0.0
    by_part: dict[str, list[float]] = field(default_factory=dict)

    def add(self, evidence: torch.Tensor, cover: torch.Tensor, part: str = "") -> None:
        """Score one word's map ``evidence`` against its part's ``cover`` (same grid)."""
        if evidence.shape != cover.shape:
            raise ValueError(f"map {tuple(evidence.shape)} and part {tuple(cover.shape)} differ")
        hit = pointing(evidence, cover)
        self.words += 1
        self.hits += hit
        self.mass += mass(evidence, cover)
        self.touched += float((cover > 0).float().mean())
        self.area += float(cover.mean())
        counts = self.by_part.setdefault(part, [0, 0.0])
        counts[0] += 1
        counts[1] += hit

    def result(self) -> dict[str, Any]:
        """``words``, ``pointing`` and ``mass`` (means over words) and their baselines
        ``pointing_baseline`` (the share of cells the part touches) and ``mass_baseline`` (its
        area), ``pointing_by_part``; None values without words."""
        n = self.words

        def mean(v: float) -> float | None:
            return v / n if n else None

        return {
            "words": n,
            "pointing": mean(self.hits),
            "pointing_baseline": mean(self.touched),
            "mass": mean(self.mass),
            "mass_baseline": mean(self.area),
            "pointing_by_part": {p: h / c for p, (c, h) in sorted(self.by_part.items())},
        }
