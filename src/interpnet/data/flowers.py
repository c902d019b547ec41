"""Loader for Oxford-102 Flowers (Nilsback & Zisserman 2008) with Reed et al.'s descriptions.

Layout: ``jpg/image_XXXXX.jpg``, ``imagelabels.mat`` (labels 1..102), ``setid.mat`` (1-based
``trnid`` / ``valid`` / ``tstid`` = train / val / test), ``text_c10/class_XXXXX/image_XXXXX.txt``
and, optionally, ``cat_to_name.json`` (class id -> name).
"""

from __future__ import annotations

import json
from pathlib import Path

from interpnet.data.cub import Example, check_examples
from interpnet.errors import DataError, DataRootNotFound

_SETS = {"train": "trnid", "val": "valid", "test": "tstid"}


def _loadmat(path: Path, keys: tuple[str, ...]) -> dict:
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    if not path.is_file():
        raise DataError(
            f"{path}: file not found; is the data root the Oxford-102 folder "
            "(jpg/, imagelabels.mat, setid.mat, text_c10/)?"
        )
    try:
        data = loadmat(path)
    except (MatReadError, ValueError, OSError, TypeError) as err:
        raise DataError(f"{path}: cannot read MATLAB file ({err})") from None
    except Exception as err:  # noqa: BLE001 - scipy's parser fails on broken files in many ways
        raise DataError(f"{path}: cannot read MATLAB file ({type(err).__name__}: {err})") from None
    missing = [k for k in keys if k not in data]
    if missing:
        raise DataError(f"{path}: has no {missing}; is this the official file?")
    try:
        return {k: [int(v) for v in data[k].ravel()] for k in keys}
    except (TypeError, ValueError, AttributeError) as err:
        raise DataError(f"{path}: {keys} must hold integer ids ({err})") from None


def _class_names(path: Path) -> dict[str, str]:
    try:
        names = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(
            f"{path}: not a JSON file of class names ({err}); fix or remove it"
        ) from None
    if not isinstance(names, dict) or not all(isinstance(v, str) for v in names.values()):
        raise DataError(f'{path}: expected {{"1": "pink primrose", ...}}; fix or remove it')
    return names


class FlowersLayout:
    """An Oxford-102 root with Reed's text_c10 descriptions; same interface as CUBLayout."""

    split_source = "official setid.mat (trnid / valid / tstid)"

    def __init__(self, root: str | Path, sentences_per_image: int = 10):
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataRootNotFound(f"{self.root}: data root not found")
        labels = _loadmat(self.root / "imagelabels.mat", ("labels",))["labels"]
        sets = _loadmat(self.root / "setid.mat", tuple(_SETS.values()))
        self.labels = {i: lab for i, lab in enumerate(labels, 1)}
        bad = [i for ids in sets.values() for i in ids if i not in self.labels]
        if bad:
            raise DataError(
                f"{self.root / 'setid.mat'}: image id {bad[0]} has no label in "
                "imagelabels.mat; the two files do not belong together"
            )
        num_classes = max(labels)
        names_path = self.root / "cat_to_name.json"
        names = _class_names(names_path) if names_path.is_file() else {}
        self.class_names = [names.get(str(c), f"class_{c:03d}") for c in range(1, num_classes + 1)]
        self.split_ids = {split: sets[key] for split, key in _SETS.items()}
        self.sentences_per_image = sentences_per_image
        self.skipped: dict[str, int] = {}

    def split(self, name: str, skip_missing: bool = False) -> list[Example]:
        if name not in self.split_ids:
            raise DataError(f"unknown split {name!r}; choose one of {sorted(self.split_ids)}")
        candidates = []
        for image_id in self.split_ids[name]:
            label = self.labels[image_id]
            rel = f"jpg/image_{image_id:05d}.jpg"
            text = self.root / "text_c10" / f"class_{label:05d}" / f"image_{image_id:05d}.txt"
            candidates.append((image_id, rel, self.root / rel, text, label - 1))
        examples, self.skipped[name] = check_examples(
            candidates, self.sentences_per_image, skip_missing, f"{self.root}: split {name!r}"
        )
        return examples
