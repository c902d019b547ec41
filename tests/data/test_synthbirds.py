import hashlib
import json
import random

import pytest
from PIL import Image

from interpnet.data.cub import CUBLayout
from interpnet.data.synthbirds import (
    MANIFEST,
    SCHEMA,
    SynthBirdsConfig,
    describe,
    generate_synthbirds,
    make_species,
    parse_mentions,
    visible_attributes,
)
from interpnet.errors import DataError, InterpnetError
from tests.helpers import TINY_DATA


def _digest(root) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def test_same_seed_same_files_other_seed_differs(tiny_birds, tmp_path):
    again = generate_synthbirds(tmp_path / "again", TINY_DATA, progress=False)
    assert _digest(again) == _digest(tiny_birds)
    other_cfg = SynthBirdsConfig(**{**TINY_DATA.__dict__, "seed": TINY_DATA.seed + 1})
    other = generate_synthbirds(tmp_path / "other", other_cfg, progress=False)
    assert _digest(other) != _digest(tiny_birds)


def test_cub_layout_and_splits(tiny_birds):
    layout = CUBLayout(tiny_birds)
    assert layout.split_source.endswith("splits")
    assert len(layout.class_names) == 6
    sizes = {s: len(layout.split(s)) for s in ("train", "val", "test")}
    assert sizes == {"train": 24, "val": 12, "test": 12}
    ex = layout.split("train")[0]
    assert len(ex.sentences) == 10
    with Image.open(ex.image_path) as img:
        assert img.size == (32, 32) and img.mode == "RGB"
    flags = dict(
        line.split()
        for line in (tiny_birds / "CUB_200_2011" / "train_test_split.txt").read_text().splitlines()
    )
    test_ids = {str(e.image_id) for e in layout.split("test")}
    assert {i for i, f in flags.items() if f == "0"} == test_ids


def test_descriptions_only_mention_visible_attributes(tiny_birds):
    manifest = json.loads((tiny_birds / MANIFEST).read_text())
    species = {sp["class_id"]: sp for sp in manifest["species"]}
    labels = dict(
        line.split()
        for line in (tiny_birds / "CUB_200_2011" / "image_class_labels.txt")
        .read_text()
        .splitlines()
    )
    occluded_seen = 0
    for img in manifest["images"]:
        attrs = species[int(labels[str(img["image_id"])])]["attributes"]
        visible = visible_attributes(img["occluded"])
        truth = {(t, attrs[t]) for t in visible}
        text = (tiny_birds / "text_c10" / img["path"]).with_suffix(".txt").read_text()
        for sentence in text.splitlines():
            mentions = parse_mentions(sentence)
            assert mentions, sentence
            assert mentions <= truth, (sentence, img["occluded"])
        occluded_seen += img["occluded"] is not None
    assert occluded_seen > 0


def test_image_attribute_file_matches_ground_truth(tiny_birds):
    cub = tiny_birds / "CUB_200_2011" / "attributes"
    names = [line.split(" ", 1)[1] for line in (cub / "attributes.txt").read_text().splitlines()]
    assert len(names) == sum(len(v) for v in SCHEMA.values())
    manifest = json.loads((tiny_birds / MANIFEST).read_text())
    first = manifest["images"][0]
    rows = [
        r.split()
        for r in (cub / "image_attribute_labels.txt").read_text().splitlines()
        if r.split()[0] == str(first["image_id"])
    ]
    present = {names[int(r[1]) - 1] for r in rows if r[2] == "1"}
    attrs = manifest["species"][0]["attributes"]
    visible = visible_attributes(first["occluded"])
    assert present == {f"has_{t}::{attrs[t]}" for t in visible}


def test_species_share_most_attributes_with_siblings():
    species = make_species(40, random.Random(0))
    assert len({sp.name for sp in species}) == 40
    assert len({tuple(sorted(sp.attributes.items())) for sp in species}) == 40
    close = 0
    for sp in species:
        siblings = [o for o in species if o.genus == sp.genus and o is not sp]
        assert siblings, "every species has at least one sibling"
        diffs = [sum(sp.attributes[t] != o.attributes[t] for t in SCHEMA) for o in siblings]
        assert min(diffs) <= 4  # shares at least 6 of its 10 attributes with a sibling
        close += min(diffs) <= 2
        assert sp.discriminative and set(sp.discriminative) <= set(SCHEMA)
    assert close >= 30


def test_describe_and_parse_agree_on_many_random_cases():
    rng = random.Random(5)
    species = make_species(10, rng)
    for i in range(500):
        sp = species[i % 10]
        visible = set(rng.sample(list(SCHEMA), rng.randint(1, len(SCHEMA))))
        sentence = describe(sp.attributes, visible, rng, sp.discriminative)
        assert parse_mentions(sentence) <= {(t, sp.attributes[t]) for t in visible}
    assert parse_mentions("a small bird with a long yellow hooked beak and striped grey wings") == {
        ("size", "small"),
        ("bill_length", "long"),
        ("bill_color", "yellow"),
        ("bill_shape", "hooked"),
        ("wing_pattern", "striped"),
        ("wing_color", "grey"),
    }


def test_reuse_and_refusals(tiny_birds, tmp_path):
    logs = []
    generate_synthbirds(tiny_birds, TINY_DATA, progress=False, log=logs.append)
    assert "reusing" in logs[0]
    other = SynthBirdsConfig(**{**TINY_DATA.__dict__, "species": 7})
    with pytest.raises(DataError, match="another config"):
        generate_synthbirds(tiny_birds, other, progress=False)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "precious.txt").write_text("keep me")
    with pytest.raises(DataError, match="not empty"):
        generate_synthbirds(tmp_path / "mine", TINY_DATA, progress=False)
    assert (tmp_path / "mine" / "precious.txt").read_text() == "keep me"
    with pytest.raises(InterpnetError, match="species"):
        generate_synthbirds(tmp_path / "x", SynthBirdsConfig(species=1), progress=False)
