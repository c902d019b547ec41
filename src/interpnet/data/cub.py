"""Loader for the CUB-200-2011 layout with Reed et al.'s text_c10 descriptions.

The same loader reads real CUB and SynthBirds (which is written in this layout). Splits come
from, in this order: split files given by the caller; ``<root>/splits/{train,val,test}.txt``
(SynthBirds); ``<root>/splits/gve/{train_noCub,val,test}.txt`` (the GVE split the paper used);
otherwise the official ``train_test_split.txt`` with a seeded validation part carved from train.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from interpnet.errors import DataError, DataRootNotFound

SPLITS = ("train", "val", "test")
_GVE_FILES = {"train": "train_noCub.txt", "val": "val.txt", "test": "test.txt"}


@dataclass
class Example:
    """One image with its class and reference sentences."""

    image_id: int
    rel_path: str  # "<class folder>/<image file>", as in images.txt
    image_path: Path
    label: int  # 0-based class index
    sentences: list[str]


def _read_text(path: Path) -> str:
    """A UTF-8 text file, or a DataError naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise DataError(
            f"{path}: not UTF-8 text ({err.reason} at byte {err.start}); save it as UTF-8"
        ) from None
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror})") from None


def _read_table(path: Path, columns: int, numeric: int = 1) -> list[list]:
    """Rows of a whitespace-separated table; the first ``numeric`` columns are integers."""
    if not path.is_file():
        raise DataError(
            f"{path}: file not found; is the data root the folder that holds "
            "CUB_200_2011/ and text_c10/?"
        )
    rows = []
    for n, line in enumerate(_read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=columns - 1)
        if len(parts) != columns:
            raise DataError(f"{path}:{n}: expected {columns} columns, got {line!r}")
        try:
            rows.append([int(p) for p in parts[:numeric]] + parts[numeric:])
        except ValueError:
            raise DataError(f"{path}:{n}: expected integer ids, got {line!r}") from None
    return rows


def _split_files_in(folder: Path) -> dict[str, Path] | None:
    """train/val/test split files in ``folder`` (plain or GVE names), or None."""
    for names in ({s: f"{s}.txt" for s in SPLITS}, _GVE_FILES):
        if all((folder / n).is_file() for n in names.values()):
            return {s: folder / n for s, n in names.items()}
    return None


class CUBLayout:
    """A data root holding ``CUB_200_2011/`` and ``text_c10/`` (real CUB or SynthBirds)."""

    def __init__(
        self,
        root: str | Path,
        splits: str = "auto",
        val_fraction: float = 0.1,
        seed: int = 0,
        sentences_per_image: int = 10,
    ):
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataRootNotFound(
                f"{self.root}: data root not found; pass the folder that holds "
                "CUB_200_2011/ and text_c10/",
            )
        cub = self.root / "CUB_200_2011"
        self.image_dir = cub / "images"
        self.text_dir = self.root / "text_c10"
        classes = _read_table(cub / "classes.txt", 2)
        self.class_names = [name for _, name in classes]
        class_index = {cid: i for i, (cid, _) in enumerate(classes)}
        self.paths = {i: p for i, p in _read_table(cub / "images.txt", 2)}
        labels_path = cub / "image_class_labels.txt"
        self.labels = {}
        for image_id, class_id in _read_table(labels_path, 2, numeric=2):
            if class_id not in class_index:
                raise DataError(f"{labels_path}: image {image_id} has unknown class {class_id}")
            self.labels[image_id] = class_index[class_id]
        if set(self.labels) != set(self.paths):
            raise DataError(f"{labels_path}: image ids do not match images.txt")
        self.sentences_per_image = sentences_per_image
        self.split_ids = self._resolve_splits(str(splits), val_fraction, seed)
        self.skipped: dict[str, int] = {}

    def _resolve_splits(self, splits: str, val_fraction: float, seed: int) -> dict[str, list[int]]:
        files = None
        if splits == "auto":
            for folder in (self.root / "splits", self.root / "splits" / "gve"):
                files = files or _split_files_in(folder)
        elif splits != "official":
            files = _split_files_in(Path(splits))
            if files is None:
                raise DataError(
                    f"{splits}: no train.txt/val.txt/test.txt (or the GVE names "
                    "train_noCub.txt/val.txt/test.txt) in this folder"
                )
        if files is not None:
            self.split_source = str(files["train"].parent)
            by_path = {p: i for i, p in self.paths.items()}
            return {s: self._read_split_file(f, by_path) for s, f in files.items()}
        self.split_source = "official train_test_split.txt + seeded validation carve-out"
        table = _read_table(self.root / "CUB_200_2011" / "train_test_split.txt", 2)
        train = sorted(int(i) for i, flag in table if flag == "1")
        test = sorted(int(i) for i, flag in table if flag == "0")
        rng = random.Random(seed)
        val = set(rng.sample(train, round(len(train) * val_fraction)))
        return {"train": [i for i in train if i not in val], "val": sorted(val), "test": test}

    @staticmethod
    def _read_split_file(path: Path, by_path: dict[str, int]) -> list[int]:
        if not path.is_file():
            raise DataError(f"{path}: split file not found")
        ids = []
        for n, line in enumerate(_read_text(path).splitlines(), 1):
            rel = line.strip()
            if not rel:
                continue
            if rel not in by_path:
                raise DataError(
                    f"{path}:{n}: {rel!r} is not in images.txt; "
                    "is this split file for this data set?"
                )
            ids.append(by_path[rel])
        return ids

    def split(self, name: str, skip_missing: bool = False) -> list[Example]:
        """The examples of one split. Missing images or text files raise a :class:`DataError`
        naming them, unless ``skip_missing`` drops them (their number is then reported in
        ``self.skipped[name]``)."""
        if name not in self.split_ids:
            raise DataError(f"unknown split {name!r}; choose one of {sorted(self.split_ids)}")
        candidates = []
        for image_id in self.split_ids[name]:
            rel = self.paths[image_id]
            candidates.append(
                (
                    image_id,
                    rel,
                    self.image_dir / rel,
                    (self.text_dir / rel).with_suffix(".txt"),
                    self.labels[image_id],
                )
            )
        examples, self.skipped[name] = check_examples(
            candidates, self.sentences_per_image, skip_missing, f"{self.root}: split {name!r}"
        )
        return examples


def check_examples(
    candidates: list[tuple[int, str, Path, Path, int]],
    sentences_per_image: int,
    skip_missing: bool,
    where: str,
) -> tuple[list[Example], int]:
    """Examples from (image id, key, image path, text path, label) whose image exists and whose
    text file holds enough sentences. Problems raise one :class:`DataError` that counts and
    names them, unless ``skip_missing``; returns the examples and how many were dropped."""
    examples, missing = [], []
    for image_id, rel, image_path, text_path, label in candidates:
        if not image_path.is_file():
            missing.append(f"image {image_path}")
            continue
        if not text_path.is_file():
            missing.append(f"text {text_path}")
            continue
        text = _read_text(text_path)
        sentences = [s.strip() for s in text.splitlines() if s.strip()]
        if len(sentences) < sentences_per_image:
            missing.append(
                f"text {text_path} ({len(sentences)} of {sentences_per_image} sentences)"
            )
            continue
        examples.append(Example(image_id, rel, image_path, label, sentences))
    if missing and not skip_missing:
        raise missing_items_error(
            f"{where} has", "missing or incomplete item(s)", missing, "Fix the download"
        )
    return examples, len(missing)


def missing_items_error(where: str, what: str, missing: list[str], fix: str) -> DataError:
    """One error for all missing items of a split, naming the first three."""
    more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
    return DataError(
        f"{where} {len(missing)} {what}: {'; '.join(missing[:3])}{more}. {fix}, or drop them "
        "with the skip-missing option"
    )
