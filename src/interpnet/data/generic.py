"""Your own data: a folder of images with ``metadata.jsonl`` or ``metadata.csv``.

The Hugging Face ImageFolder convention: one line (row) per image with

- ``file_name``: the image path, relative to the folder;
- ``label``: the class, by name (``"daisy"``) or by 0-based id (``3``);
- ``text``: its description(s): a string or, in JSON lines, a list of strings (in CSV, put
  several descriptions in one quoted cell, one per line);
- ``split`` (optional): ``train``, ``val`` (or ``validation``) or ``test``. Without a split
  column the images are split per class at random (seeded), ``val_fraction`` and
  ``test_fraction`` of each class going to val and test.

Class names are the sorted label names, or ``"0"``, ``"1"``, ... for ids. Problems in the file
are errors that name the file and line.
"""

from __future__ import annotations

import csv
import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

from interpnet.data.cub import Example, missing_items_error
from interpnet.errors import DataError

METADATA_FILES = ("metadata.jsonl", "metadata.csv")
SPLIT_NAMES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}


def metadata_file(root: Path) -> Path | None:
    """The metadata file of ``root``, or None; two of them are an error."""
    found = [root / n for n in METADATA_FILES if (root / n).is_file()]
    if len(found) > 1:
        raise DataError(f"{root}: has both {METADATA_FILES[0]} and {METADATA_FILES[1]}; keep one")
    return found[0] if found else None


def _read_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, record) for each record of a JSON-lines or CSV file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text ({err}); save it as UTF-8") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err})") from None
    rows: list[tuple[int, dict[str, Any]]] = []
    if path.suffix == ".jsonl":
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"{path}:{n}: not valid JSON ({err.msg})") from None
            if not isinstance(record, dict):
                raise DataError(f"{path}:{n}: expected a JSON object with file_name, label, text")
            rows.append((n, record))
        return rows
    reader = csv.DictReader(text.splitlines(keepends=True))
    if reader.fieldnames is None:
        raise DataError(f"{path}: empty; expected a header line with file_name,label,text")
    try:
        for record in reader:
            if None in record:
                raise DataError(f"{path}:{reader.line_num}: more cells than header columns")
            text_cell = record.get("text")
            if isinstance(text_cell, str):
                record["text"] = text_cell.splitlines()
            rows.append((reader.line_num, record))
    except csv.Error as err:
        raise DataError(f"{path}:{reader.line_num}: malformed CSV ({err})") from None
    return rows


def _label_kind(rows: list[tuple[int, dict[str, Any]]]) -> str:
    def is_id(v: Any) -> bool:
        if isinstance(v, bool):
            return False
        return isinstance(v, int) or (isinstance(v, str) and v.strip().isdigit())

    return "id" if all(is_id(r.get("label")) for _, r in rows) else "name"


class MetadataLayout:
    """A folder of images described by ``metadata.jsonl`` / ``metadata.csv``; same interface
    as the CUB and Flowers layouts."""

    def __init__(
        self,
        root: str | Path,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        seed: int = 0,
    ):
        self.root = Path(root)
        path = metadata_file(self.root)
        if path is None:
            raise DataError(f"{self.root}: no metadata.jsonl or metadata.csv")
        self.metadata = path
        rows = _read_rows(path)
        if not rows:
            raise DataError(f"{path}: no images listed")
        kind = _label_kind(rows)
        items: list[tuple[int, str, Any, list[str], str | None]] = []
        first_line: dict[str, int] = {}
        for n, r in rows:
            items.append(self._item(path, n, r, first_line))
        if kind == "id":
            ids = [int(str(lab).strip()) for _, _, lab, _, _ in items]
            self.class_names = [str(i) for i in range(max(ids) + 1)]
            labels = ids
        else:
            names = sorted({str(lab).strip() for _, _, lab, _, _ in items})
            self.class_names = names
            index = {name: i for i, name in enumerate(names)}
            labels = [index[str(lab).strip()] for _, _, lab, _, _ in items]
        with_split = [s is not None for *_, s in items]
        if any(with_split) and not all(with_split):
            n = items[with_split.index(False)][0]
            raise DataError(
                f"{path}:{n}: no split, while other lines have one; give every line a split or none"
            )
        self.examples = [
            Example(n, name, self.root / name, label, sents)
            for (n, name, _, sents, _), label in zip(items, labels, strict=True)
        ]
        if all(with_split):
            self.split_source = f"{path.name} (split column)"
            assign = [s for *_, s in items]
        else:
            self.split_source = (
                f"seeded stratified split (seed {seed}, val {val_fraction}, test {test_fraction})"
            )
            assign = _stratified(labels, val_fraction, test_fraction, seed)
        self.split_index: dict[str, list[int]] = {"train": [], "val": [], "test": []}
        for i, s in enumerate(assign):
            self.split_index[s].append(i)
        self.skipped: dict[str, int] = {}

    def _item(
        self, path: Path, n: int, r: dict[str, Any], first_line: dict[str, int]
    ) -> tuple[int, str, Any, list[str], str | None]:
        missing = [k for k in ("file_name", "label", "text") if k not in r]
        if missing:
            raise DataError(
                f"{path}:{n}: missing {missing}; each line needs file_name, label, text"
            )
        name = r["file_name"]
        if not isinstance(name, str) or not name.strip():
            raise DataError(f"{path}:{n}: file_name must be a non-empty path")
        name = name.strip()
        rel = Path(name)
        if rel.is_absolute() or ".." in rel.parts:
            raise DataError(f"{path}:{n}: file_name {name!r} must be relative to {self.root}")
        if name in first_line:
            raise DataError(
                f"{path}:{n}: duplicate file_name {name!r} (first on line {first_line[name]})"
            )
        first_line[name] = n
        label = r["label"]
        if label is None or isinstance(label, bool | list | dict) or not str(label).strip():
            raise DataError(f"{path}:{n}: label must be a class name or id, got {label!r}")
        text = r["text"]
        sents = [text] if isinstance(text, str) else text
        if not isinstance(sents, list) or not all(isinstance(s, str) for s in sents):
            raise DataError(f"{path}:{n}: text must be a string or a list of strings")
        sents = [" ".join(s.split()) for s in sents if s.strip()]
        if not sents:
            raise DataError(f"{path}:{n}: empty text for {name!r}; give at least one description")
        split = r.get("split")
        if isinstance(split, str) and not split.strip():
            split = None
        if split is not None:
            key = str(split).strip().lower()
            if key not in SPLIT_NAMES:
                raise DataError(
                    f"{path}:{n}: unknown split {split!r}; use train, val (or validation) or test"
                )
            split = SPLIT_NAMES[key]
        return n, name, label, sents, split

    def split(self, name: str, skip_missing: bool = False) -> list[Example]:
        """The examples of one split; missing image files are an error naming them, unless
        ``skip_missing`` drops them (counted in ``self.skipped[name]``)."""
        if name not in self.split_index:
            raise DataError(f"unknown split {name!r}; choose one of {sorted(self.split_index)}")
        examples, missing = [], []
        for i in self.split_index[name]:
            e = self.examples[i]
            if e.image_path.is_file():
                examples.append(e)
            else:
                missing.append(f"{self.metadata}:{e.image_id}: image {e.image_path}")
        if missing and not skip_missing:
            raise missing_items_error(
                f"split {name!r} has", "missing image(s)", missing, "Fix the paths"
            )
        self.skipped[name] = len(missing)
        return examples


def _stratified(labels: list[int], val: float, test: float, seed: int) -> list[str]:
    """A split name per item: per class, round(n * test) to test and round(n * val) to val
    (at least one item of each class stays in train)."""
    by_class: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_class[label].append(i)
    rng = random.Random(seed)
    out = ["train"] * len(labels)
    for label in sorted(by_class):
        idx = by_class[label]
        rng.shuffle(idx)
        n = len(idx)
        n_test = min(round(n * test), n - 1)
        n_val = min(round(n * val), n - 1 - n_test)
        for i in idx[:n_test]:
            out[i] = "test"
        for i in idx[n_test : n_test + n_val]:
            out[i] = "val"
    return out
