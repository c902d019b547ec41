"""Open a data root as the right layout: CUB-200-2011 / SynthBirds, Oxford-102 Flowers, or a
folder of your own images with ``metadata.jsonl`` / ``metadata.csv``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from interpnet.data.cub import CUBLayout, Example
from interpnet.data.flowers import FlowersLayout
from interpnet.data.generic import MetadataLayout, metadata_file
from interpnet.errors import DataError, DataRootNotFound

DATASETS = ("auto", "cub", "synthbirds", "flowers", "generic")
Layout = CUBLayout | FlowersLayout | MetadataLayout


def detect_dataset(root: str | Path) -> str:
    root = Path(root)
    if metadata_file(root) is not None:
        return "generic"
    if (root / "setid.mat").exists() or (root / "imagelabels.mat").exists():
        return "flowers"
    if (root / "CUB_200_2011").is_dir():
        return "cub"
    raise DataError(
        f"{root}: not a data set interpnet knows: expected metadata.jsonl or metadata.csv "
        "(your own images), CUB_200_2011/ + text_c10/ (CUB, SynthBirds), or jpg/, "
        "imagelabels.mat, setid.mat, text_c10/ (Oxford-102)"
    )


def open_layout(
    root: str | Path,
    dataset: str = "auto",
    splits: str = "auto",
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 0,
) -> Layout:
    """The layout of ``root``. ``splits`` (CUB layout only): "auto" (split files under
    ``root/splits`` or ``root/splits/gve``, else the official split), "official", or a folder
    with train.txt / val.txt / test.txt (or GVE's train_noCub.txt / val.txt / test.txt).
    ``val_fraction`` / ``test_fraction`` / ``seed``: the split of a generic folder without a
    split column (and of CUB's validation carve-out, for the seed)."""
    if dataset not in DATASETS:
        raise DataError(f"unknown dataset {dataset!r}; choose one of {DATASETS}")
    if not Path(root).is_dir():
        raise DataRootNotFound(f"{root}: data root not found; check the path")
    kind = detect_dataset(root) if dataset == "auto" else dataset
    if kind == "generic":
        if splits != "auto":
            raise DataError("a metadata folder takes its split from its split column")
        return MetadataLayout(root, val_fraction, test_fraction, seed)
    if kind == "flowers":
        if splits != "auto":
            raise DataError("Oxford-102 uses its official setid.mat split; leave splits on auto")
        return FlowersLayout(root)
    return CUBLayout(root, splits=splits)


def split_examples(
    layout: Layout, name: str, skip_missing: bool = False, log: Callable[[str], None] = print
) -> list[Example]:
    """``layout.split(name)``, saying how many items ``skip_missing`` dropped (never silent)."""
    examples = layout.split(name, skip_missing=skip_missing)
    if layout.skipped.get(name):
        log(f"skip-missing: dropped {layout.skipped[name]} item(s) from split {name!r}")
    return examples
