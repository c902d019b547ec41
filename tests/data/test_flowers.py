import json
import shutil

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat

from interpnet.data.flowers import FlowersLayout
from interpnet.data.layouts import detect_dataset, open_layout
from interpnet.errors import DataError
from tests.helpers import SHARED_DATA

REAL = SHARED_DATA / "flowers102"
needs_real = pytest.mark.skipif(
    not (REAL / "setid.mat").is_file(), reason=f"Oxford-102 not found at {REAL}"
)


@needs_real
def test_real_flowers_official_split_and_text():
    layout = open_layout(REAL)
    assert isinstance(layout, FlowersLayout)
    assert len(layout.class_names) == 102 and layout.class_names[0] == "pink primrose"
    sizes = {s: len(layout.split(s)) for s in ("train", "val", "test")}
    assert sizes == {"train": 1020, "val": 1020, "test": 6149}
    train = layout.split("train")
    assert all(len(e.sentences) == 10 for e in train)
    assert {e.label for e in train} == set(range(102))  # 10 train images per class
    assert train[0].image_path.is_file() and train[0].rel_path.startswith("jpg/image_")


def _fake_flowers(root, n=6):
    """A small Oxford-102 layout: n images of 3 classes, official-style .mat files."""
    (root / "jpg").mkdir(parents=True)
    labels = [1 + i % 3 for i in range(n)]
    for i, label in enumerate(labels, 1):
        Image.fromarray(np.full((40, 60, 3), 40 * label, np.uint8)).save(
            root / "jpg" / f"image_{i:05d}.jpg"
        )
        text = root / "text_c10" / f"class_{label:05d}" / f"image_{i:05d}.txt"
        text.parent.mkdir(parents=True, exist_ok=True)
        text.write_text("".join(f"a flower with {k} petals.\n" for k in range(10)))
    savemat(root / "imagelabels.mat", {"labels": np.array([labels])})
    savemat(
        root / "setid.mat",
        {"trnid": np.array([[1, 2, 3]]), "valid": np.array([[4]]), "tstid": np.array([[5, 6]])},
    )
    (root / "cat_to_name.json").write_text(json.dumps({"1": "rose", "2": "lily", "3": "iris"}))
    return root


def test_fake_layout_reads_and_detects(tmp_path):
    root = _fake_flowers(tmp_path / "f")
    assert detect_dataset(root) == "flowers"
    layout = open_layout(root)
    assert layout.class_names == ["rose", "lily", "iris"]
    assert [e.label for e in layout.split("train")] == [0, 1, 2]
    assert [e.rel_path for e in layout.split("test")] == [
        "jpg/image_00005.jpg",
        "jpg/image_00006.jpg",
    ]


def test_broken_copies_give_clear_errors(tmp_path):
    root = _fake_flowers(tmp_path / "f")
    (root / "jpg" / "image_00002.jpg").unlink()
    with pytest.raises(DataError, match=r"split 'train' has 1 missing.*image_00002.jpg"):
        open_layout(root).split("train")
    layout = open_layout(root)
    assert len(layout.split("train", skip_missing=True)) == 2 and layout.skipped["train"] == 1
    (root / "text_c10" / "class_00001" / "image_00004.txt").write_text("\n\n")
    with pytest.raises(DataError, match=r"image_00004.txt \(0 of 10 sentences\)"):
        open_layout(root).split("val")
    savemat(
        root / "setid.mat",
        {"trnid": np.array([[1, 99]]), "valid": np.array([[4]]), "tstid": np.array([[5]])},
    )
    with pytest.raises(DataError, match="image id 99 has no label"):
        open_layout(root)
    (root / "setid.mat").write_bytes(b"garbage")
    with pytest.raises(DataError, match="setid.mat: cannot read MATLAB file"):
        open_layout(root)
    shutil.rmtree(root / "jpg")
    (root / "setid.mat").unlink()
    (root / "imagelabels.mat").unlink()
    with pytest.raises(DataError, match="not a data set interpnet knows"):
        open_layout(root)
