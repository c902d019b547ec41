"""Image loading with clear errors: resize the shorter side, centre-crop, to a uint8 tensor."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from interpnet.errors import DataError


def load_image(path: str | Path, size: int, resize: int | None = None) -> torch.Tensor:
    """Read an image as a (3, size, size) uint8 tensor: the shorter side is resized to
    ``resize`` (default ``size``), then the centre ``size`` x ``size`` is cropped."""
    path = Path(path)
    resize = resize or size
    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
            if img.size != (size, size):
                w, h = img.size
                scale = resize / min(w, h)
                img = img.resize(
                    (max(size, round(w * scale)), max(size, round(h * scale))),
                    Image.Resampling.BICUBIC,
                )
                w, h = img.size
                left, top = (w - size) // 2, (h - size) // 2
                img = img.crop((left, top, left + size, top + size))
            arr = np.asarray(img, dtype=np.uint8)
    except FileNotFoundError:
        raise DataError(f"{path}: image not found") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise DataError(f"{path}: cannot read image ({err}); replace or remove the file") from None
    return torch.from_numpy(arr.copy()).permute(2, 0, 1)


def load_images(paths: Sequence[str | Path], size: int, progress: bool = True) -> torch.Tensor:
    """Stack images into an (N, 3, size, size) uint8 tensor."""
    out = torch.empty((len(paths), 3, size, size), dtype=torch.uint8)
    for i, p in enumerate(
        tqdm(paths, desc="loading images", unit="img", disable=not progress, leave=False)
    ):
        out[i] = load_image(p, size)
    return out


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 images -> float in [0, 1], the input the CNN classifier expects."""
    return images.float().div_(255.0)
