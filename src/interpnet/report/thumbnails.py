"""Thumbnails of a split's images as data URIs, cached in the user cache folder.

One cache file holds the thumbnails of one list of images at one size; its name is a hash of
the image paths, their sizes and modification times and the thumbnail settings, so a changed
image or setting makes a new one. Decoding runs in threads (PIL releases the GIL).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from interpnet.cache import cached_json, user_cache_dir
from interpnet.errors import DataError

FORMAT = "WEBP"
MIME = "image/webp"


def square_thumbnail(img: Image.Image, size: int) -> Image.Image:
    """The centre square of an image, ``size`` pixels wide."""
    img = img.convert("RGB")
    w, h = img.size
    scale = size / min(w, h)
    img = img.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BILINEAR)
    w, h = img.size
    left, top = (w - size) // 2, (h - size) // 2
    return img.crop((left, top, left + size, top + size))


def data_uri(img: Image.Image, quality: int = 60) -> str:
    buf = io.BytesIO()
    img.save(buf, FORMAT, quality=quality)
    return f"data:{MIME};base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _thumbnail(path: Path, size: int, quality: int) -> str:
    try:
        with Image.open(path) as img:
            img.draft("RGB", (2 * size, 2 * size))  # JPEG: decode at a reduced scale
            return data_uri(square_thumbnail(img, size), quality)
    except FileNotFoundError:
        raise DataError(f"{path}: image not found") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise DataError(f"{path}: cannot read image ({err}); replace or remove the file") from None


def _key(paths: Sequence[Path], size: int, quality: int) -> str:
    h = hashlib.sha256(json.dumps([FORMAT, size, quality]).encode())
    for p in paths:
        try:
            st = p.stat()
        except OSError:
            raise DataError(f"{p}: image not found") from None
        h.update(f"{p.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:24]


def thumbnails(
    paths: Sequence[str | Path],
    size: int = 96,
    quality: int = 60,
    cache_dir: str | Path | None = None,
    progress: bool = False,
    workers: int = 4,
) -> list[str]:
    """A data URI (WebP, ``size`` x ``size``, centre crop) for each image file, read from the
    cache (``cache_dir``, default the user cache folder's ``thumbnails/``) when it holds them,
    else made and cached."""
    paths = [Path(p) for p in paths]
    folder = Path(cache_dir) if cache_dir is not None else user_cache_dir("thumbnails")
    cached = folder / f"{_key(paths, size, quality)}.json"

    def make() -> list[str]:
        with ThreadPoolExecutor(max(1, workers)) as pool:
            jobs = pool.map(lambda p: _thumbnail(p, size, quality), paths)
            return list(tqdm(jobs, total=len(paths), desc="thumbnails", disable=not progress))

    return cached_json(cached, make, lambda v: isinstance(v, list) and len(v) == len(paths))
