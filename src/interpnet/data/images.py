"""Image loading with clear errors: resize the shorter side, centre-crop, to a uint8 tensor."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from interpnet.errors import DataError


def load_image(path: str | Path, size: int, resize: int | None = None) -> torch.Tensor:
    """Read an image as a (3, size, size) uint8 tensor: the shorter side is resized to
    ``resize`` (default ``size``), then the centre ``size`` x ``size`` is cropped."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
            if img.size != (size, size):
                w, h = img.size
                new_w, new_h = _resized(w, h, size, resize)
                img = img.resize((new_w, new_h), Image.Resampling.BICUBIC)
                left, top = (new_w - size) // 2, (new_h - size) // 2
                img = img.crop((left, top, left + size, top + size))
            arr = np.asarray(img, dtype=np.uint8)
    except FileNotFoundError:
        raise DataError(f"{path}: image not found") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise DataError(f"{path}: cannot read image ({err}); replace or remove the file") from None
    return torch.from_numpy(arr.copy()).permute(2, 0, 1)


def _resized(width: int, height: int, size: int, resize: int | None) -> tuple[int, int]:
    """The size an image is resized to before its centre crop: shorter side ``resize``
    (default ``size``), neither side under ``size``."""
    scale = (resize or size) / min(width, height)
    return max(size, round(width * scale)), max(size, round(height * scale))


def crop_box(
    width: int, height: int, size: int, resize: int | None = None
) -> tuple[float, float, float]:
    """Where :func:`load_image` takes its crop from a ``width`` x ``height`` image: the scale
    of the resize (the mean of the two sides') and the crop's left and top edges after it. A
    point (x, y) of the image lies at (x * scale - left, y * scale - top) in the crop."""
    if (width, height) == (size, size):
        return 1.0, 0.0, 0.0
    new_w, new_h = _resized(width, height, size, resize)
    scale = (new_w / width + new_h / height) / 2
    return scale, float((new_w - size) // 2), float((new_h - size) // 2)


def load_workers() -> int:
    """Threads that decode images (PIL releases the GIL while it decodes and resizes)."""
    return max(1, min(4, os.cpu_count() or 1))


def load_images(
    paths: Sequence[str | Path],
    size: int,
    progress: bool = True,
    resize: int | None = None,
    workers: int | None = None,
) -> torch.Tensor:
    """Stack images into an (N, 3, size, size) uint8 tensor, decoded by ``workers`` threads
    (default :func:`load_workers`); the pixels do not depend on how many."""
    out = torch.empty((len(paths), 3, size, size), dtype=torch.uint8)

    def load(i: int) -> None:
        out[i] = load_image(paths[i], size, resize)

    with ThreadPoolExecutor(workers or load_workers()) as pool:
        done = pool.map(load, range(len(paths)))
        for _ in tqdm(
            done,
            total=len(paths),
            desc="loading images",
            unit="img",
            disable=not progress,
            leave=False,
        ):
            pass
    return out


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 images -> float in [0, 1], the input the CNN classifier expects."""
    return images.float().div_(255.0)


@dataclass(frozen=True)
class ImagePreprocessing:
    """How an image file becomes a classifier input: shorter side resized to ``resize``
    (default ``size``), centre crop ``size``, scaled to [0, 1], then ``(x - mean) / std``
    when ``mean``/``std`` are given (e.g. ImageNet statistics for a pretrained model)."""

    size: int = 64
    resize: int | None = None
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None

    def __post_init__(self) -> None:
        if self.size < 1 or (self.resize is not None and self.resize < self.size):
            raise ValueError(
                f"image size must be positive and resize >= size (got {self.size}, {self.resize})"
            )
        if (self.mean is None) != (self.std is None):
            raise ValueError("give both mean and std, or neither")

    def load(self, paths: Sequence[str | Path], progress: bool = False) -> torch.Tensor:
        """uint8 (N, 3, size, size) images, as stored in memory for training."""
        return load_images(paths, self.size, progress, self.resize)

    def to_input(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images -> the float input of the classifier."""
        x = to_float(images)
        if self.mean is None:
            return x
        mean = torch.tensor(self.mean, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=x.device).view(1, 3, 1, 1)
        return (x - mean) / std

    def __call__(self, paths: Sequence[str | Path]) -> torch.Tensor:
        """Image files -> a batch of classifier inputs."""
        return self.to_input(self.load(paths))

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImagePreprocessing:
        def tup(v: Any) -> Any:
            return tuple(v) if v is not None else None

        return cls(
            int(data["size"]), data.get("resize"), tup(data.get("mean")), tup(data.get("std"))
        )
