"""Write a SynthBirds data set to disk in the CUB-200-2011 + Reed text_c10 layout."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm import tqdm

from interpnet.data.synthbirds.attributes import (
    OCCLUDABLE_PARTS,
    PART_OF,
    SCHEMA,
    Species,
    make_species,
)
from interpnet.data.synthbirds.describe import describe
from interpnet.data.synthbirds.render import PART_REGIONS, render_bird_parts
from interpnet.errors import DataError, InterpnetError
from interpnet.storage import read_json, write_json, writing

MANIFEST = "synthbirds.json"
_INCOMPLETE = ".synthbirds-incomplete"
_CERTAINTIES = "1 not visible\n2 guessing\n3 probably\n4 definitely\n"


@dataclass(frozen=True)
class SynthBirdsConfig:
    """Everything that determines a SynthBirds data set (same config + seed = same files)."""

    species: int = 200
    images_per_species: int = 60
    image_size: int = 64
    seed: int = 0
    occlusion_prob: float = 0.3
    sentences_per_image: int = 10
    val_fraction: float = 0.15
    test_fraction: float = 0.35

    def validate(self) -> None:
        if self.species < 2:
            raise InterpnetError(f"species must be >= 2, got {self.species}")
        if self.images_per_species < 3:
            raise InterpnetError(f"images_per_species must be >= 3, got {self.images_per_species}")
        if self.image_size < 16:
            raise InterpnetError(f"image_size must be >= 16, got {self.image_size}")
        if not (0 < self.val_fraction < 1 and 0 < self.test_fraction < 1):
            raise InterpnetError("val_fraction and test_fraction must be between 0 and 1")
        if not 0 <= self.occlusion_prob <= 1:
            raise InterpnetError(f"occlusion_prob must be in [0, 1], got {self.occlusion_prob}")
        if not 0 < self.val_fraction + self.test_fraction < 1:
            raise InterpnetError("val_fraction + test_fraction must be between 0 and 1")


def attribute_names() -> list[str]:
    """CUB-style attribute names, ``has_<type>::<value>``, in attribute-id order."""
    return [f"has_{t}::{v}" for t, values in SCHEMA.items() for v in values]


def _split_of(index: int, n: int, cfg: SynthBirdsConfig) -> str:
    n_test = max(1, round(n * cfg.test_fraction))
    n_val = max(1, round(n * cfg.val_fraction))
    return "test" if index < n_test else "val" if index < n_test + n_val else "train"


def _image_records(species: list[Species], cfg: SynthBirdsConfig) -> list[dict]:
    records = []
    for sp in species:
        order = list(range(cfg.images_per_species))
        random.Random(f"{cfg.seed}-split-{sp.class_id}").shuffle(order)
        for k in range(cfg.images_per_species):
            image_id = len(records) + 1
            rng = random.Random(f"{cfg.seed}-image-{image_id}")
            occluded = rng.choice(OCCLUDABLE_PARTS) if rng.random() < cfg.occlusion_prob else None
            stem = sp.name.split(".", 1)[1]
            records.append(
                {
                    "image_id": image_id,
                    "class_id": sp.class_id,
                    "path": f"{sp.name}/{stem}_{k + 1:04d}_{image_id}.png",
                    "split": _split_of(order.index(k), cfg.images_per_species, cfg),
                    "occluded": occluded,
                    "render_seed": rng.getrandbits(32),
                }
            )
    return records


def generate_synthbirds(
    out: str | Path,
    config: SynthBirdsConfig | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> Path:
    """Generate SynthBirds into ``out`` (reused as it is when it already holds the same config).

    Returns ``out``. Refuses to write into a folder that holds anything else.
    """
    cfg = config or SynthBirdsConfig()
    cfg.validate()
    out = Path(out)
    manifest = out / MANIFEST
    if manifest.exists():
        existing = read_json(manifest, "SynthBirds manifest").get("config")
        if existing == asdict(cfg):
            log(f"SynthBirds already generated in {out} (same config); reusing it")
            return out
        raise DataError(
            f"{out}: holds a SynthBirds data set with another config ({existing}); "
            "choose a new output folder or delete this one"
        )
    if out.exists() and any(out.iterdir()) and not (out / _INCOMPLETE).exists():
        raise DataError(f"{out}: folder is not empty; choose an empty or new output folder")
    if out.exists():
        shutil.rmtree(out)  # an interrupted earlier generation of ours
    try:
        out.mkdir(parents=True)
        (out / _INCOMPLETE).touch()
    except OSError as err:
        raise DataError(
            f"{out}: cannot create the output folder ({err.strerror}); choose a writable place"
        ) from None
    species = make_species(cfg.species, random.Random(f"{cfg.seed}-species"))
    records = _image_records(species, cfg)
    _write_images_and_text(out, species, records, cfg, progress)
    _write_metadata(out, species, records, cfg)
    write_json(
        manifest,
        {
            "config": asdict(cfg),
            "species": [asdict(sp) for sp in species],
            "images": [
                {k: r[k] for k in ("image_id", "path", "split", "occluded")} for r in records
            ],
            "attribute_parts": PART_OF,
        },
    )
    (out / _INCOMPLETE).unlink()
    return out


def visible_attributes(occluded: str | None) -> set[str]:
    """Attribute types an image shows when ``occluded`` (a part name or None) is hidden."""
    return {t for t in SCHEMA if PART_OF[t] != occluded}


def _write_images_and_text(out: Path, species, records, cfg, progress: bool) -> None:
    by_id = {sp.class_id: sp for sp in species}
    for rec in tqdm(records, desc="SynthBirds", unit="img", disable=not progress):
        sp = by_id[rec["class_id"]]
        rng = random.Random(rec["render_seed"])
        image, rec["regions"] = render_bird_parts(
            sp.attributes, rng, cfg.image_size, rec["occluded"]
        )
        img_path = out / "CUB_200_2011" / "images" / rec["path"]
        with writing(img_path):
            img_path.parent.mkdir(parents=True, exist_ok=True)
            image.save(img_path)
        visible = visible_attributes(rec["occluded"])
        lines = [
            describe(sp.attributes, visible, rng, sp.discriminative)
            for _ in range(cfg.sentences_per_image)
        ]
        _write_text((out / "text_c10" / rec["path"]).with_suffix(".txt"), "\n".join(lines) + "\n")


def _write_text(path: Path, text: str) -> None:
    """Write a file of the data set (not atomically: an unfinished data set is marked and
    written again from scratch)."""
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _write_metadata(out: Path, species: list[Species], records: list[dict], cfg) -> None:
    cub = out / "CUB_200_2011"
    _write_text(cub / "images.txt", "".join(f"{r['image_id']} {r['path']}\n" for r in records))
    _write_text(cub / "classes.txt", "".join(f"{sp.class_id} {sp.name}\n" for sp in species))
    _write_text(
        cub / "image_class_labels.txt",
        "".join(f"{r['image_id']} {r['class_id']}\n" for r in records),
    )
    _write_text(
        cub / "train_test_split.txt",
        "".join(f"{r['image_id']} {int(r['split'] != 'test')}\n" for r in records),
    )
    names = attribute_names()
    _write_text(
        cub / "attributes" / "attributes.txt",
        "".join(f"{i} {name}\n" for i, name in enumerate(names, 1)),
    )
    _write_text(cub / "attributes" / "certainties.txt", _CERTAINTIES)
    by_id = {sp.class_id: sp for sp in species}
    rows, present = [], {sp.class_id: [0] * len(names) for sp in species}
    for r in records:
        attrs, visible = by_id[r["class_id"]].attributes, visible_attributes(r["occluded"])
        for a_id, name in enumerate(names, 1):
            a_type, value = name[4:].split("::")
            shown = a_type in visible
            is_present = int(shown and attrs[a_type] == value)
            present[r["class_id"]][a_id - 1] += is_present
            rows.append(f"{r['image_id']} {a_id} {is_present} {4 if shown else 1} 0\n")
    _write_text(cub / "attributes" / "image_attribute_labels.txt", "".join(rows))
    _write_text(
        cub / "attributes" / "class_attribute_labels_continuous.txt",
        "".join(
            " ".join(f"{100.0 * c / cfg.images_per_species:.4f}" for c in present[sp.class_id])
            + "\n"
            for sp in species
        ),
    )
    _write_parts(cub / "parts", records)
    splits = out / "splits"
    for split in ("train", "val", "test"):
        _write_text(
            splits / f"{split}.txt",
            "".join(f"{r['path']}\n" for r in records if r["split"] == split),
        )


def _write_parts(folder: Path, records: list[dict]) -> None:
    """The parts of every image: ``parts.txt`` (names), ``part_regions.txt`` (interpnet's: one
    ellipse per part, ``image_id part_id cx cy rx ry angle visible``, in pixels) and CUB's
    ``part_locs.txt`` (the ellipses' centres as keypoints); an occluded part is not visible."""
    names = list(PART_REGIONS)
    _write_text(folder / "parts.txt", "".join(f"{i} {n}\n" for i, n in enumerate(names, 1)))
    regions, keypoints = [], []
    for r in records:
        for part_id, name in enumerate(names, 1):
            visible = int(name != r["occluded"])
            cx, cy, rx, ry, angle = r["regions"][name]
            head = f"{r['image_id']} {part_id}"
            regions.append(f"{head} {cx:.2f} {cy:.2f} {rx:.2f} {ry:.2f} {angle:.4f} {visible}\n")
            keypoints.append(f"{head} {cx:.1f} {cy:.1f} {visible}\n")
    _write_text(folder / "part_regions.txt", "".join(regions))
    _write_text(folder / "part_locs.txt", "".join(keypoints))
