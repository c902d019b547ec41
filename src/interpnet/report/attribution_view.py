"""How the report draws one explanation's per-word attribution: coloured words, a small bar
of each word's shares per part of r(x), and per-word heat maps over the image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib import colormaps
from PIL import Image

from interpnet.attribution import WordAttribution
from interpnet.data.images import ImagePreprocessing
from interpnet.report.thumbnails import data_uri

# one colour per part of r(x), in order (colour-blind-safe Okabe-Ito palette)
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
HEAT_SIZE = 48


def part_colour(k: int) -> str:
    return PALETTE[k % len(PALETTE)]


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha:.2f})"


def heat_overlays(image: torch.Tensor, maps: torch.Tensor, size: int = HEAT_SIZE) -> list[str]:
    """Each map (T, H, W) blended over the uint8 image (3, H, W) in the jet colour map, scaled
    by the largest value over all maps (so the words of a sentence compare), as data URIs."""
    top = float(maps.max()) or 1.0
    base = image.permute(1, 2, 0).numpy().astype(np.float32) / 255.0
    cmap = colormaps["jet"]
    out = []
    for m in maps:
        colour = cmap((m / top).clamp(0, 1).numpy())[..., :3]
        blend = (0.55 * base + 0.45 * colour) * 255.0
        img = Image.fromarray(blend.clip(0, 255).astype(np.uint8)).resize(
            (size, size), Image.BILINEAR
        )
        out.append(data_uri(img, quality=70))
    return out


def attribution_view(
    a: WordAttribution,
    path: str | Path,
    preprocess: ImagePreprocessing | None = None,
    attention: torch.Tensor | None = None,
) -> dict:
    """Template data for one attributed explanation; ``preprocess``: how the classifier's
    input image was made from ``path`` (for the heat maps of a classifier on pixels);
    ``attention``: each word's attention over a feature map's grid (T, h, w), for an explainer
    that attends, drawn over the image too."""
    shares = a.shares
    tokens = []
    for t, tok in enumerate(a.tokens):
        row = shares[t]
        k = int(row.abs().argmax())
        detail = ", ".join(
            f"{name} {float(a.scores[t, j]):+.2f} ({100 * float(row[j]):+.0f}%)"
            for j, name in enumerate(a.parts)
        )
        tokens.append(
            {
                "word": tok,
                "background": _rgba(part_colour(k), 0.15 + 0.6 * abs(float(row[k]))),
                "title": f"log p {float(a.logprob[t]):.2f} (zero r(x): "
                f"{float(a.baseline_logprob[t]):.2f}); {detail}",
                "bar": [(part_colour(j), round(100 * abs(float(v)), 1)) for j, v in enumerate(row)],
            }
        )
    view: dict[str, Any] = {
        "tokens": tokens,
        "parts": [(name, part_colour(j)) for j, name in enumerate(a.parts)],
        "abs_shares": shares.abs().tolist(),
        "heat": [],
        "attention": [],
    }
    if preprocess is None or not len(a.tokens) or (a.heatmaps is None and attention is None):
        return view
    image = preprocess.load([path])[0]  # the image as the classifier saw it
    for key, maps in (("heat", a.heatmaps), ("attention", attention)):
        if maps is not None:
            view[key] = list(
                zip(a.tokens, heat_overlays(image, _on_image(maps, image)), strict=True)
            )
    return view


def _on_image(maps: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """Maps (T, h, w) brought to the image's size (bilinear)."""
    size = tuple(image.shape[1:])
    if tuple(maps.shape[1:]) == size:
        return maps
    return torch.nn.functional.interpolate(maps[:, None].float(), size, mode="bilinear")[:, 0]
