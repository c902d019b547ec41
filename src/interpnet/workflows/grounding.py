"""Grounding: does each word that names a part of the bird point at that part? Every word of
an explanation that names or describes a part ("crown", "red" in "a red breast") is scored
against the part's annotated regions, for each kind of per-word map the model has
(:mod:`interpnet.workflows.word_maps`). See :mod:`interpnet.metrics.grounding` for the scores."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from interpnet.data.parts import PartAnnotations
from interpnet.data.splits import SplitData
from interpnet.features.backbones import get_backbone
from interpnet.metrics.grounding import GroundingTally, coverage
from interpnet.model import InterpNet
from interpnet.text.part_words import part_words
from interpnet.workflows.word_maps import MAP_KINDS, MapBatch, feature_map_shape, run_checks


class GroundingCheck:
    """Scores the part words of each batch's explanations against ``parts``; the items' keys
    are ``keys`` (paths under the image folder), their inputs ``size`` px crops of images
    resized to ``resize``."""

    name = "grounding"

    def __init__(
        self, parts: PartAnnotations, keys: list[str], size: int, resize: int | None = None
    ) -> None:
        self.parts, self.keys, self.size, self.resize = parts, keys, size, resize
        self.tallies = {k: GroundingTally() for k in MAP_KINDS}
        self.counted = self.hidden = 0

    def add(self, batch: MapBatch) -> None:
        for j, i in enumerate(batch.index):
            regions = self.parts.regions(self.keys[i], self.size, self.resize)
            covers: dict[tuple[Any, ...], torch.Tensor] = {}
            for t, meant in part_words(batch.tokens[j], self.parts.parts):
                self.counted += 1
                visible = [p for p in meant if p in regions]
                if not visible:
                    self.hidden += 1
                    continue
                for kind, per_item in batch.maps.items():
                    m = per_item[j][t]
                    key = (*visible, *m.shape)
                    if key not in covers:
                        covers[key] = coverage([r for p in visible for r in regions[p]], *m.shape)
                    self.tallies[kind].add(m, covers[key], "/".join(meant))

    def result(self, kinds: Sequence[str]) -> dict[str, Any]:
        return {
            "part_words": self.counted,
            "not_visible": self.hidden,
            **{k: self.tallies[k].result() for k in kinds},
        }


def ground_explanations(
    model: InterpNet,
    data: SplitData,
    explanations: list[str],
    parts: PartAnnotations,
    kinds: list[str] | None = None,
    limit: int | None = None,
    batch_size: int = 32,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Score the part words of ``explanations`` (one per item of ``data``, a split of images or
    of features with the backbone's feature map)
    against ``parts``, for each of ``kinds`` (default: every kind the model has) on ``limit``
    items spread evenly over the split (default all). Returns ``{"images", "part_words",
    "not_visible", kind: GroundingTally.result()}``; a word whose part is hidden in its image
    counts as ``not_visible`` and is not scored."""
    check = grounding_check(parts, data, model)
    return run_checks(model, data, explanations, [check], kinds, limit, batch_size, progress, log)[
        check.name
    ]


def grounding_check(parts: PartAnnotations, data: SplitData, model: InterpNet) -> GroundingCheck:
    """The grounding check of the items of ``data``: regions in the coordinates of the image
    as ``model``'s classifier saw it, or, for a feature run, as its backbone did (its maps lie
    on the backbone's grid of that crop)."""
    if feature_map_shape(model) is not None:
        backbone = get_backbone(model.input_spec["backbone"])
        return GroundingCheck(parts, data.keys, backbone.crop, backbone.resize)
    resize = data.preprocess.resize if data.preprocess is not None else None
    return GroundingCheck(parts, data.keys, data.inputs.shape[-1], resize)
