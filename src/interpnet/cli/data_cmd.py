"""``interpnet data synthbirds``: generate the SynthBirds data set."""

from __future__ import annotations

import argparse
import time

from interpnet.data.synthbirds import SynthBirdsConfig, generate_synthbirds


def add_parser(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="generate or prepare data sets")
    kinds = data.add_subparsers(dest="dataset", metavar="DATASET", required=True)
    p = kinds.add_parser(
        "synthbirds",
        help="generate SynthBirds (procedural birds + Reed-style descriptions, CUB layout)",
        description="Generate SynthBirds: procedurally drawn birds whose species are "
        "combinations of CUB-style attributes, with 10 descriptions per image, written in the "
        "CUB_200_2011 + text_c10 layout with train/val/test split files. The same options and "
        "seed always give the same files; an existing folder with the same options is reused.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    d = SynthBirdsConfig()
    p.add_argument("--out", required=True, help="folder to write (new or empty)")
    p.add_argument("--species", type=int, default=d.species, help="number of species (classes)")
    p.add_argument(
        "--images-per-species",
        type=int,
        default=d.images_per_species,
        help="images drawn per species",
    )
    p.add_argument("--seed", type=int, default=d.seed, help="random seed")
    p.add_argument("--image-size", type=int, default=d.image_size, help="image side in pixels")
    p.add_argument(
        "--occlusion-prob",
        type=float,
        default=d.occlusion_prob,
        help="probability that one body part is hidden behind leaves",
    )
    p.add_argument(
        "--val-fraction",
        type=float,
        default=d.val_fraction,
        help="share of each species' images in the validation split",
    )
    p.add_argument(
        "--test-fraction",
        type=float,
        default=d.test_fraction,
        help="share of each species' images in the test split",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def config_from_args(args: argparse.Namespace) -> SynthBirdsConfig:
    return SynthBirdsConfig(
        species=args.species,
        images_per_species=args.images_per_species,
        image_size=args.image_size,
        seed=args.seed,
        occlusion_prob=args.occlusion_prob,
        val_fraction=args.val_fraction,
        test_fraction=args.test_fraction,
    )


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    start = time.time()
    out = generate_synthbirds(args.out, cfg, progress=not args.quiet)
    n = cfg.species * cfg.images_per_species
    print(f"SynthBirds: {cfg.species} species, {n} images in {out} ({time.time() - start:.1f}s)")
    return 0
