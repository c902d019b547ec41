"""Part annotations: SynthBirds' part regions lie on the parts it drew, in the classifier
input's coordinates after any resize and crop; CUB's keypoints are read the same way; the words
that name or describe a part are found."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from interpnet.data.images import load_image
from interpnet.data.parts import KEYPOINT_RADIUS, PartAnnotations, Region
from interpnet.data.synthbirds import SynthBirdsConfig, generate_synthbirds
from interpnet.data.synthbirds.attributes import COLORS
from interpnet.errors import DataError
from interpnet.metrics.grounding import coverage
from interpnet.storage import read_json
from interpnet.text.part_words import part_words
from tests.helpers import SHARED_DATA

# the attribute whose colour fills the middle of each part's region
COLOURED = {"breast": "breast_color", "tail": "tail_color"}


@pytest.fixture(scope="module")
def birds(tmp_path_factory):
    cfg = SynthBirdsConfig(species=4, images_per_species=5, image_size=64, seed=1)
    return generate_synthbirds(tmp_path_factory.mktemp("parts") / "b", cfg, progress=False)


def _pixel(image, x: float, y: float) -> np.ndarray:
    """The pixel at (x, y), fractions of the side, of a (3, S, S) tensor."""
    side = image.shape[-1]
    return image[:, int(y * side), int(x * side)].numpy().astype(int)


def _species_attributes(root):
    manifest = read_json(root / "synthbirds.json", "manifest")
    species = {sp["class_id"]: sp["attributes"] for sp in manifest["species"]}
    return {img["path"]: species[int(img["path"][:3])] for img in manifest["images"]}, manifest


def test_synthbirds_regions_lie_on_the_parts_drawn(birds):
    parts = PartAnnotations(birds)
    assert parts.kind == "regions" and parts.parts == ("head", "bill", "wings", "breast", "tail")
    attributes, manifest = _species_attributes(birds)
    checked = 0
    for img in manifest["images"]:
        key = img["path"]
        regions = parts.regions(key, 64)
        assert (img["occluded"] in regions) is False  # a hidden part is not annotated
        assert len(regions) == 5 - (img["occluded"] is not None)
        image = load_image(parts.image_dir / key, 64)
        for part, attribute in COLOURED.items():
            if part in regions:
                (r,) = regions[part]
                want = np.array(COLORS[attributes[key][attribute]])
                assert np.abs(_pixel(image, r.cx, r.cy) - want).max() <= 60, (key, part)
                checked += 1
    assert checked >= 30


def test_regions_follow_the_resize_and_crop_of_the_classifier_input(birds):
    parts = PartAnnotations(birds)
    key = read_json(birds / "synthbirds.json", "manifest")["images"][0]["path"]
    at_64 = parts.regions(key, 64)
    at_32 = parts.regions(key, 32)  # the whole image, smaller: same fractions
    assert at_32["bill"][0].cx == pytest.approx(at_64["bill"][0].cx)
    crop = parts.regions(key, 48, resize=60)  # 60 px, the centre 48 px: zoomed in
    (r,) = at_64["breast"]
    (c,) = crop["breast"]
    assert c.cx == pytest.approx((r.cx * 60 - 6) / 48) and c.rx == pytest.approx(r.rx * 60 / 48)
    original = _pixel(load_image(parts.image_dir / key, 64), r.cx, r.cy)
    zoomed = _pixel(load_image(parts.image_dir / key, 48, resize=60), c.cx, c.cy)
    assert np.abs(original - zoomed).max() <= 40


def test_keypoints_stand_for_discs_when_there_are_no_regions(birds, tmp_path):
    root = tmp_path / "b"
    shutil.copytree(birds, root)
    (root / "CUB_200_2011/parts/part_regions.txt").unlink()
    assert PartAnnotations.available(root)
    parts, regions = PartAnnotations(root), PartAnnotations(birds)
    key = next(iter(regions._by_image))
    assert parts.kind == "keypoints"
    for name, (r,) in regions.regions(key, 64).items():
        (k,) = parts.regions(key, 64)[name]
        assert (k.cx, k.cy) == pytest.approx((r.cx, r.cy), abs=0.01)
        assert k.rx == k.ry == KEYPOINT_RADIUS
    (root / "CUB_200_2011/parts/part_locs.txt").write_text("1 99 1.0 2.0 1\n")
    with pytest.raises(DataError, match="part_locs.txt: row 1: unknown image 1 or part 99"):
        PartAnnotations(root)
    (root / "CUB_200_2011/parts/part_locs.txt").unlink()
    assert not PartAnnotations.available(root)


def test_part_words_finds_the_nouns_and_their_modifiers():
    tokens = "this bird has a short yellow cone-shaped bill and a red crown .".split()
    found = part_words(tokens, ["head", "bill", "wings", "breast", "tail"])
    assert found == [(4, ("bill",)), (5, ("bill",)), (6, ("bill",)), (7, ("bill",)),
                     (10, ("head",)), (11, ("head",))]  # fmt: skip
    # CUB's part names: the head is several keypoints; a part the data set lacks is no word
    cub = ["beak", "crown", "forehead", "nape", "left eye", "right eye", "left wing", "tail"]
    assert part_words(["white", "head", "and", "grey", "wings"], cub) == [
        (0, ("crown", "forehead", "nape", "left eye", "right eye")),
        (1, ("crown", "forehead", "nape", "left eye", "right eye")),
        (3, ("left wing",)),
        (4, ("left wing",)),
    ]
    assert part_words(["a", "long", "neck", "and", "legs"], cub) == []


REAL_CUB = SHARED_DATA / "cub"
PART_LOCS = Path(__file__).parents[1] / "fixtures" / "cub-parts" / "part_locs.txt"


@pytest.fixture()
def cub_with_parts(tmp_path):
    """The shared CUB-200-2011 (official metadata, 9 photos) with a hand-made part_locs.txt
    for its 9 photos (the shared copy has none)."""
    if not (REAL_CUB / "CUB_200_2011" / "images.txt").is_file():
        pytest.skip("the shared CUB-200-2011 copy is not here")
    cub = tmp_path / "cub" / "CUB_200_2011"
    (cub / "parts").mkdir(parents=True)
    for name in ("images.txt", "images", "parts/parts.txt"):
        (cub / name).symlink_to(REAL_CUB / "CUB_200_2011" / name)
    shutil.copy(PART_LOCS, cub / "parts" / "part_locs.txt")
    return tmp_path / "cub"


def _red_share(image, regions) -> float:
    """The share of reddish pixels of a (3, S, S) image inside ``regions``."""
    side = image.shape[-1]
    cover = coverage(regions, side, side) > 0
    rgb = image.int()
    red = (rgb[0] > rgb[1] + 50) & (rgb[0] > rgb[2] + 50)
    return float(red[cover].float().mean()) if cover.any() else 0.0


def test_cub_keypoints_on_real_photos_follow_the_crop(cub_with_parts):
    """In a 224 px centre crop of each photo resized to 256 (a torchvision model's input), the
    discs around the Red-headed Woodpeckers' crown, forehead and nape keypoints are far redder
    than the photo (the keypoints lie on the head's edge); every head lies above its belly or
    tail."""
    parts = PartAnnotations(cub_with_parts)
    assert parts.kind == "keypoints" and len(parts.parts) == 15
    assert len(parts._by_image) == 9
    woodpeckers = 0
    for key in parts._by_image:
        regions = parts.regions(key, 224, resize=256)
        assert all(r.rx == KEYPOINT_RADIUS for rs in regions.values() for r in rs)
        if "Woodpecker" in key:
            image = load_image(parts.image_dir / key, 224, resize=256)
            head = [r for name in ("crown", "forehead", "nape") for r in regions.get(name, [])]
            everything = [Region(0.5, 0.5, 1.0, 1.0)]
            assert _red_share(image, head) > max(0.2, 5 * _red_share(image, everything)), key
            woodpeckers += 1
        below = regions.get("belly", regions.get("tail"))
        if "crown" in regions and below:
            assert regions["crown"][0].cy < below[0].cy, key
    assert woodpeckers == 3
