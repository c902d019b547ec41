"""``interpnet features``: extract frozen-backbone features of a data set into a cache."""

from __future__ import annotations

import argparse
import time

from interpnet.data.layouts import DATASETS, open_layout, split_examples
from interpnet.devices import resolve_device
from interpnet.distributed import is_main_process
from interpnet.features import available_backbones, extract_features
from interpnet.workflows.run import ALL_SPLITS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "features",
        help="extract pretrained-backbone features of every image into a cache",
        description="Run a frozen pretrained backbone over every image of the train, val and "
        "test splits (deterministic preprocessing: shorter side resized, centre crop, the "
        "backbone's normalisation) and write pooled features into a cache folder keyed by "
        "backbone + preprocessing + saved layers + image list. An interrupted extraction "
        "resumes; a finished one is reused. Then: interpnet train --data-root DIR "
        "--features CACHE.",
    )
    p.add_argument(
        "dataset",
        metavar="DATASET",
        choices=DATASETS,
        help=f"data set layout: one of {', '.join(DATASETS)}",
    )
    p.add_argument("--root", required=True, help="the data set's folder")
    p.add_argument("--out", required=True, help="cache folder (created if needed)")
    p.add_argument(
        "--backbone",
        default="efficientnet-lite0",
        help=f"one of {available_backbones()} (default: efficientnet-lite0)",
    )
    p.add_argument(
        "--layers",
        nargs="+",
        default=[],
        help="intermediate backbone modules whose pooled outputs are saved too "
        "(e.g. _blocks.10 for efficientnet-lite0)",
    )
    p.add_argument(
        "--spatial",
        action="store_true",
        help="also keep the backbone's last feature map position by position (the input of "
        "its global pooling; EfficientNet-Lite0: 1280 x 7 x 7), in float16: for explainers "
        "that attend over where things are (interpnet train --features CACHE --spatial)",
    )
    p.add_argument("--batch-size", type=int, default=32, help="images per batch (default: 32)")
    p.add_argument(
        "--chunk-size",
        type=int,
        default=512,
        help="images per cache file, the unit of resuming and of sharing the work between "
        "torchrun processes (default: 512)",
    )
    p.add_argument(
        "--skip-missing",
        action="store_true",
        help="drop (and count) images whose image or text file is missing",
    )
    p.add_argument(
        "--device",
        default="auto",
        help="'auto' (CUDA when available), 'cpu' or 'cuda' (default: auto)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    layout = open_layout(args.root, args.dataset)
    images = [
        (e.rel_path, e.image_path)
        for split in ALL_SPLITS
        for e in split_examples(layout, split, args.skip_missing)
    ]
    start = time.time()
    cache = extract_features(
        images,
        args.backbone,
        args.out,
        args.layers,
        args.batch_size,
        args.chunk_size,
        device=resolve_device(args.device),
        progress=not args.quiet and is_main_process(),
        spatial=args.spatial,
    )
    seconds = time.time() - start
    if not is_main_process():
        return 0
    dim = cache.get([images[0][0]]).shape[1] if images else 0
    how = "reused" if cache.reused else f"{len(images) / max(seconds, 1e-9):.1f} images/s"
    fmap = ""
    if args.spatial:
        c, h, w = cache.map_shape
        size = sum(p.stat().st_size for p in (cache.folder / "chunks").glob("*.safetensors"))
        fmap = f", and its {c} x {h} x {w} feature map ({size / 2**30:.2f} GiB on disk)"
    print(
        f"{len(images)} images, {dim}-d {args.backbone} features{fmap} in {cache.folder} "
        f"({seconds:.1f}s, {how})"
    )
    spatial = " --spatial" if args.spatial else ""
    print(
        f"train on them with: interpnet train --data-root {args.root} --features {args.out}"
        + spatial
    )
    return 0
