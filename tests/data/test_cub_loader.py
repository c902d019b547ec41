import shutil

import pytest

from interpnet.data.cub import CUBLayout
from interpnet.data.images import load_image
from interpnet.errors import DataError
from tests.helpers import SHARED_DATA

REAL_CUB = SHARED_DATA / "cub"
needs_real_cub = pytest.mark.skipif(
    not (REAL_CUB / "CUB_200_2011").is_dir(), reason=f"real CUB layout not found at {REAL_CUB}"
)


@needs_real_cub
def test_real_cub_metadata_and_gve_split():
    layout = CUBLayout(REAL_CUB)
    assert len(layout.class_names) == 200 and layout.class_names[0] == "001.Black_footed_Albatross"
    assert len(layout.paths) == 11788
    assert layout.split_source.endswith("gve")
    sizes = {s: len(ids) for s, ids in layout.split_ids.items()}
    assert sizes == {"train": 4000, "val": 1994, "test": 5794}


@needs_real_cub
def test_real_cub_partial_download_is_reported_then_skippable():
    layout = CUBLayout(REAL_CUB)
    with pytest.raises(DataError, match=r"missing or incomplete.*skip-missing option"):
        layout.split("test")
    present = sum(len(layout.split(s, skip_missing=True)) for s in ("train", "val", "test"))
    assert present == 9
    assert sum(layout.skipped.values()) == 11788 - 9
    ex = layout.split("test", skip_missing=True)[0]
    assert len(ex.sentences) == 10
    image = load_image(ex.image_path, 64)
    assert image.shape == (3, 64, 64)


@needs_real_cub
def test_real_cub_official_split_with_seeded_validation(tmp_path):
    root = tmp_path / "cub"
    shutil.copytree(
        REAL_CUB / "CUB_200_2011",
        root / "CUB_200_2011",
        ignore=shutil.ignore_patterns("images", "attributes", "parts"),
    )
    a, b = CUBLayout(root, seed=1), CUBLayout(root, seed=1)
    assert a.split_source.startswith("official")
    assert a.split_ids == b.split_ids
    assert len(a.split_ids["test"]) == 5794
    assert len(a.split_ids["train"]) + len(a.split_ids["val"]) == 5994
    assert not set(a.split_ids["train"]) & set(a.split_ids["val"])
    assert CUBLayout(root, seed=2).split_ids["val"] != a.split_ids["val"]


@pytest.fixture()
def broken(tiny_birds, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(tiny_birds, root)
    return root


def test_missing_image_is_named(broken):
    rel = (broken / "splits" / "train.txt").read_text().splitlines()[0]
    (broken / "CUB_200_2011" / "images" / rel).unlink()
    with pytest.raises(DataError, match=rf"1 missing.*{rel.split('/')[1]}"):
        CUBLayout(broken).split("train")
    layout = CUBLayout(broken)
    assert len(layout.split("train", skip_missing=True)) == 23 and layout.skipped["train"] == 1


def test_empty_or_short_text_file_is_named(broken):
    rel = (broken / "splits" / "val.txt").read_text().splitlines()[0]
    text = (broken / "text_c10" / rel).with_suffix(".txt")
    text.write_text("")
    with pytest.raises(DataError, match=r"0 of 10 sentences"):
        CUBLayout(broken).split("val")
    text.write_text("one sentence\nand another\n")
    with pytest.raises(DataError, match=r"2 of 10 sentences"):
        CUBLayout(broken).split("val")


def test_bad_split_file_and_metadata(broken):
    (broken / "splits" / "test.txt").write_text("001.Nope/nothing.png\n")
    with pytest.raises(DataError, match=r"test.txt:1: '001.Nope/nothing.png' is not in images"):
        CUBLayout(broken)
    (broken / "CUB_200_2011" / "classes.txt").unlink()
    with pytest.raises(DataError, match="classes.txt: file not found"):
        CUBLayout(broken)
    with pytest.raises(DataError, match="data root not found"):
        CUBLayout(broken / "nowhere")


def test_corrupt_image_is_named(broken):
    rel = (broken / "splits" / "train.txt").read_text().splitlines()[0]
    path = broken / "CUB_200_2011" / "images" / rel
    path.write_bytes(b"not an image")
    with pytest.raises(DataError, match="cannot read image"):
        load_image(path, 32)


@needs_real_cub
def test_explicit_split_choices(tmp_path):
    gve = CUBLayout(REAL_CUB, splits=str(REAL_CUB / "splits" / "gve"))
    assert len(gve.split_ids["val"]) == 1994
    official = CUBLayout(REAL_CUB, splits="official", seed=3)
    assert official.split_source.startswith("official")
    assert len(official.split_ids["test"]) == 5794
    with pytest.raises(DataError, match="no train.txt"):
        CUBLayout(REAL_CUB, splits=str(tmp_path))
