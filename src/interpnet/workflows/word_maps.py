"""Per-word maps of a split's explanations, computed once per batch and handed to the checks
that read them (grounding against the parts, the intervention test). The kinds of map: the
explainer's attention over the positions of r(x) (an explainer that attends), integrated
gradients per position (a feature map that r(x) keeps position by position) and Grad-CAM at the
classifier's last convolution (a classifier on pixels)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from tqdm import tqdm

from interpnet.attribution import WordAttributor, sentence_tokens
from interpnet.data.splits import SplitData
from interpnet.errors import ConfigError
from interpnet.evidence import EvidenceMaps, attends
from interpnet.features.backbones import MAP
from interpnet.model import InterpNet

MAP_KINDS = ("attention", "integrated_gradients", "grad_cam")


def combined_map(maps: dict[str, torch.Tensor]) -> torch.Tensor | None:
    """One (T, H, W) map from several layers' (T, h, w) maps: each brought to the finest grid
    (bilinear) and summed."""
    if not maps:
        return None
    h, w = max((m.shape[1:] for m in maps.values()), key=lambda s: s[0] * s[1])
    out = [
        m if m.shape[1:] == (h, w) else F.interpolate(m[:, None], (h, w), mode="bilinear")[:, 0]
        for m in maps.values()
    ]
    return torch.stack(out).sum(0)


def feature_map_shape(model: InterpNet) -> list[int] | None:
    """(C, H, W) of the backbone's feature map a feature run keeps position by position (the
    last columns of its input), or None."""
    shape = (model.input_spec or {}).get("side_inputs", {}).get(MAP)
    return list(shape) if isinstance(shape, list | tuple) else None


def has_image_maps(model: InterpNet, data: SplitData) -> bool:
    """Whether ``model``'s per-word maps lie over the image: a split of images, or features
    with the backbone's feature map."""
    images = data.inputs.dim() == 4 and data.inputs.dtype == torch.uint8
    return images or feature_map_shape(model) is not None


def available_kinds(model: InterpNet) -> list[str]:
    """The kinds of per-word map ``model`` may have (``attention`` for an explainer that
    attends; ``integrated_gradients`` and ``grad_cam`` are only known for sure on an input)."""
    kinds = ["integrated_gradients", "grad_cam"]
    if attends(model.explainer):
        kinds.insert(0, "attention")
    return kinds


def word_maps(
    model: InterpNet, x: torch.Tensor, sentences: list[str], kinds: Sequence[str]
) -> dict[str, list[torch.Tensor]]:
    """Each kind's per-word maps of the explanations ``sentences`` of images ``x``: one
    (T, H, W) tensor per image (T its words), non-negative evidence; a kind the model does not
    have is left out."""
    out: dict[str, list[torch.Tensor]] = {}
    if "attention" in kinds:
        maps = [combined_map(e.maps) for e in EvidenceMaps(model).explain(x, sentences)]
        if all(m is not None for m in maps):
            out["attention"] = maps
    if "integrated_gradients" in kinds or "grad_cam" in kinds:
        layer = "auto" if "grad_cam" in kinds else None
        attributions = WordAttributor(model, heatmap_layer=layer).attribute(x, sentences)
        if "integrated_gradients" in kinds:
            ig = [
                combined_map({k: v.clamp_min(0) for k, v in a.position_scores.items()})
                for a in attributions
            ]
            if all(m is not None for m in ig):
                out["integrated_gradients"] = ig
        if "grad_cam" in kinds and all(a.heatmaps is not None for a in attributions):
            out["grad_cam"] = [a.heatmaps for a in attributions]
    return out


@dataclass
class MapBatch:
    """A batch of items with their explanations and per-word maps: ``index`` into the split,
    ``x`` the classifier's inputs, ``tokens`` each explanation's words, ``maps[kind][j]`` item
    j's (T, H, W) maps (on the CPU)."""

    index: list[int]
    x: torch.Tensor
    tokens: list[list[str]]
    maps: dict[str, list[torch.Tensor]]


class MapCheck(Protocol):
    """A check that reads the per-word maps batch by batch."""

    name: str

    def add(self, batch: MapBatch) -> None: ...

    def result(self, kinds: Sequence[str]) -> dict[str, Any]: ...


def run_checks(
    model: InterpNet,
    data: SplitData,
    explanations: list[str],
    checks: Sequence[MapCheck],
    kinds: Sequence[str] | None = None,
    limit: int | None = None,
    batch_size: int = 32,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, dict[str, Any]]:
    """Compute the per-word maps of ``explanations`` (one per item of ``data``, a split of
    images) of each of ``kinds`` (default: every kind the model has) on ``limit`` items spread
    evenly over the split (default all), and give every batch to each of ``checks``. Returns
    each check's result by its name, for the kinds the model had."""
    if not has_image_maps(model, data):
        raise ConfigError(
            "per-word maps over the image need a split of images (a classifier on pixels) or "
            "features with the backbone's feature map (extracted with spatial=True)"
        )
    if len(explanations) != len(data):
        raise ValueError(f"{len(explanations)} explanations for {len(data)} items")
    if limit is not None and limit < 0:
        raise ConfigError(f"the number of items to check must be >= 0, got {limit}")
    kinds = available_kinds(model) if kinds is None else list(kinds)
    unknown = set(kinds) - set(MAP_KINDS)
    if unknown:
        raise ConfigError(f"unknown map kinds {sorted(unknown)}; choose from {MAP_KINDS}")
    n = len(data) if limit is None else min(limit, len(data))
    chosen = torch.linspace(0, len(data) - 1, n).round().long().unique().tolist() if n else []
    device = next(model.parameters()).device
    seen: set[str] = set()
    names = "/".join(c.name for c in checks)
    with tqdm(total=n, desc=names, unit="img", disable=not progress, leave=False) as bar:
        for start in range(0, n, batch_size):
            index = chosen[start : start + batch_size]
            sentences = [explanations[i] for i in index]
            x = data.batch(torch.tensor(index), device)
            maps = word_maps(model, x, sentences, kinds)
            maps = {k: [m.float().cpu() for m in v] for k, v in maps.items()}
            seen |= maps.keys()
            batch = MapBatch(index, x, [sentence_tokens(s) for s in sentences], maps)
            for check in checks:
                check.add(batch)
            bar.update(len(index))
    found = [k for k in kinds if k in seen]
    if len(found) < len(kinds):
        missing = ", ".join(k for k in kinds if k not in seen)
        log(f"{names}: no {missing} maps for this model")
    return {c.name: {"images": n, **c.result(found)} for c in checks}
