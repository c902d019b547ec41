"""Extract backbone features for every image of a data set into a resumable on-disk cache.

A cache folder is keyed by backbone, preprocessing, saved layers, whether the backbone's last
feature map is kept position by position (``spatial``: tensor ``map``, float16) and the image
list, so a changed image list or setting never reuses stale features. Features are written in
chunks of safetensors; an interrupted extraction resumes at the first missing chunk, and a
finished one is reused as it is.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from interpnet import distributed
from interpnet.errors import CheckpointError, ConfigError, DataError
from interpnet.features.backbones import MAP, get_backbone, image_parts
from interpnet.introspector import Introspector
from interpnet.storage import load_tensors, read_json, save_tensors, write_json

META = "meta.json"
FEATURES = "features"  # tensor name of the final features; layers are "layer:<name>"


def cache_key(
    backbone: str, preprocessing: dict, layers: list[str], keys: list[str], spatial: bool = False
) -> str:
    fields = {"backbone": backbone, "pre": preprocessing, "layers": layers, "images": keys}
    if spatial:  # absent otherwise: the folders of caches made before it keep their names
        fields["spatial"] = True
    blob = json.dumps(fields, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


@dataclass
class FeatureCache:
    """A finished cache folder: ``get(keys)`` -> (N, D) features in the order of ``keys``."""

    folder: Path
    meta: dict
    reused: bool = False  # True when extract_features found it already finished
    _loaded: dict[str, torch.Tensor] = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, folder: str | Path) -> FeatureCache:
        folder = Path(folder)
        meta = read_json(folder / META, "feature cache index")
        shapes = {"chunks": int, "keys": list, "layers": list}
        wrong = [
            k
            for k, kind in shapes.items()
            if not isinstance(meta, dict) or not isinstance(meta.get(k), kind)
        ]
        if wrong:
            raise CheckpointError(
                f"{folder / META}: corrupt feature cache index (no valid {', '.join(wrong)}); "
                "delete the folder and extract the features again"
            )
        if not meta.get("complete"):
            raise CheckpointError(
                f"{folder}: feature extraction did not finish; run "
                "the feature extraction again to resume it"
            )
        return cls(folder, meta)

    def _all(self, name: str) -> torch.Tensor:
        """One saved tensor over all images (read from the chunks once, then kept)."""
        if name not in self._loaded:
            chunks = [
                load_tensors(self.folder / "chunks" / f"{i:05d}.safetensors", "features")
                for i in range(self.meta["chunks"])
            ]
            for key in chunks[0]:
                self._loaded[key] = torch.cat([c[key] for c in chunks])
        return self._loaded[name]

    @property
    def map_shape(self) -> list[int] | None:
        """(C, H, W) of the feature map kept position by position, or None without one."""
        return self.meta.get("map_shape")

    def dims(self) -> dict[str, int]:
        """Size of the final features (key ``features``) and of each saved layer (by name)."""
        out = {FEATURES: self._all(FEATURES).shape[1]}
        out.update({n: self._all(f"layer:{n}").shape[1] for n in self.meta["layers"]})
        return out

    def get(self, keys: list[str], layers: list[str] = (), spatial: bool = False) -> torch.Tensor:
        """Features (the final ones, then each of ``layers``) of the images ``keys``; with
        ``spatial``, then the feature map, flattened (C, H, W), and all in float16."""
        index = {k: i for i, k in enumerate(self.meta["keys"])}
        missing = [k for k in keys if k not in index]
        if missing:
            raise DataError(
                f"{self.folder}: no features for {len(missing)} image(s), e.g. "
                f"{missing[0]}; extract features for this data set first"
            )
        unknown = [name for name in layers if name not in self.meta["layers"]]
        if unknown:
            raise DataError(
                f"{self.folder}: layers {unknown} were not saved; saved: {self.meta['layers']}"
            )
        if spatial and self.map_shape is None:
            raise DataError(
                f"{self.folder}: holds no feature map; extract the features again with "
                "spatial=True"
            )
        rows = torch.tensor([index[k] for k in keys], dtype=torch.long)
        blocks = [self._all(FEATURES)] + [self._all(f"layer:{n}") for n in layers]
        if not spatial:
            return torch.cat([b[rows] for b in blocks], dim=1)
        return torch.cat([b[rows].half() for b in [*blocks, self._all(MAP)]], dim=1)


def extract_features(
    images: list[tuple[str, Path]],
    backbone_name: str,
    out: str | Path,
    layers: list[str] = (),
    batch_size: int = 32,
    chunk_size: int = 512,
    device: str | torch.device = "cpu",
    progress: bool = True,
    spatial: bool = False,
) -> FeatureCache:
    """Features of ``images`` (key, path) in ``out/<backbone>-<key hash>/``; returns the cache.
    With ``spatial``, also the backbone's last feature map (the input of its global pooling),
    every position kept, in float16 (``map``; EfficientNet-Lite0: 1280 x 7 x 7).

    Reuses a finished cache and resumes an unfinished one. Under ``torchrun`` every rank
    extracts its share of the chunks (chunk ``c`` on rank ``c % world_size``) into the one
    cache folder (on a file system all ranks read), which rank 0 then marks complete: the
    same files one process writes.
    """
    if batch_size < 1 or chunk_size < 1:
        raise ConfigError(
            f"batch_size and chunk_size must be at least 1, got {batch_size} and {chunk_size}"
        )
    backbone = get_backbone(backbone_name)
    keys = [k for k, _ in images]
    pre = backbone.preprocessing()
    digest = cache_key(backbone_name, pre, list(layers), keys, spatial)
    folder = Path(out) / f"{backbone_name.replace('/', '_')}-{digest}"
    group = distributed.join(torch.device(device))
    if (folder / META).is_file() and read_json(folder / META, "feature cache index").get(
        "complete"
    ):
        cache = FeatureCache.open(folder)
        cache.reused = True
        group.barrier()  # no rank rewrites the index while another still reads it
        return cache
    Introspector(backbone.model, [backbone.feature_layer, *layers])  # checks layer names first
    backbone.model.to(device)
    n_chunks = (len(images) + chunk_size - 1) // chunk_size
    meta = {
        "backbone": backbone_name,
        "preprocessing": pre,
        "layers": list(layers),
        "keys": keys,
        "chunks": n_chunks,
        "chunk_size": chunk_size,
        "complete": False,
    }
    if spatial and images:  # its shape, measured on one image
        fmap = image_parts(backbone, [images[0][1]], layers, device, spatial)[-1][1]
        meta["map_shape"] = list(fmap.shape[1:])
    group.barrier()  # every rank has seen the index unfinished
    if group.is_main:
        write_json(folder / META, meta)
    mine = range(group.rank, n_chunks, group.world_size)
    bar = tqdm(
        total=sum(len(images[c * chunk_size : (c + 1) * chunk_size]) for c in mine),
        desc=f"features ({backbone_name})",
        unit="img",
        disable=not (progress and group.is_main),
    )
    for c in mine:
        chunk_path = folder / "chunks" / f"{c:05d}.safetensors"
        chunk = images[c * chunk_size : (c + 1) * chunk_size]
        if chunk_path.is_file():
            bar.update(len(chunk))
            continue
        outputs: list[dict[str, torch.Tensor]] = []
        for start in range(0, len(chunk), batch_size):
            batch = [p for _, p in chunk[start : start + batch_size]]
            parts = image_parts(backbone, batch, layers, device, spatial)
            named = {
                (FEATURES if i == 0 else f"layer:{name}"): t
                for i, (name, t) in enumerate(parts[: len(parts) - spatial])
            }
            if spatial:
                named[MAP] = parts[-1][1].flatten(1).half()
            outputs.append(named)
            bar.update(len(batch))
        save_tensors(chunk_path, {k: torch.cat([o[k] for o in outputs]) for k in outputs[0]})
    bar.close()
    group.barrier()  # every rank's chunks are written
    if group.is_main:
        meta["complete"] = True
        write_json(folder / META, meta)
    group.barrier()
    return FeatureCache.open(folder)
