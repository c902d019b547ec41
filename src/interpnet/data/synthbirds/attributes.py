"""SynthBirds attribute schema and species: CUB-style attributes, species grouped in genera
that share most attributes so that only a few attributes tell siblings apart."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

COLORS: dict[str, tuple[int, int, int]] = {
    "black": (28, 28, 30),
    "white": (238, 238, 232),
    "grey": (128, 130, 134),
    "brown": (128, 82, 42),
    "red": (206, 32, 32),
    "yellow": (238, 206, 36),
    "blue": (40, 82, 205),
    "orange": (242, 132, 22),
    "green": (48, 150, 62),
}
BILL_COLORS = ("black", "grey", "yellow", "orange", "white")

# attribute type -> allowed values (CUB's attribute file names them has_<type>::<value>)
SCHEMA: dict[str, tuple[str, ...]] = {
    "crown_color": tuple(COLORS),
    "wing_color": tuple(COLORS),
    "wing_pattern": ("plain", "spotted", "striped"),
    "breast_color": tuple(COLORS),
    "tail_color": tuple(COLORS),
    "bill_color": BILL_COLORS,
    "bill_shape": ("cone", "hooked", "needle", "dagger"),
    "bill_length": ("short", "long"),
    "eye_ring": ("yes", "no"),
    "size": ("small", "medium", "large"),
}
ATTRIBUTE_TYPES = tuple(SCHEMA)

# Which body part shows each attribute (an occluded part hides its attributes).
PART_OF: dict[str, str] = {
    "crown_color": "head",
    "eye_ring": "head",
    "bill_color": "bill",
    "bill_shape": "bill",
    "bill_length": "bill",
    "wing_color": "wings",
    "wing_pattern": "wings",
    "breast_color": "breast",
    "tail_color": "tail",
    "size": "body",
}
OCCLUDABLE_PARTS = ("head", "bill", "wings", "breast", "tail")

GENUS_NAMES = (
    "Finch",
    "Warbler",
    "Sparrow",
    "Tanager",
    "Vireo",
    "Wren",
    "Flycatcher",
    "Bunting",
    "Grosbeak",
    "Oriole",
    "Thrush",
    "Kingbird",
    "Jay",
    "Swallow",
    "Tern",
    "Pipit",
    "Shrike",
    "Kinglet",
    "Waxwing",
    "Towhee",
    "Junco",
    "Cuckoo",
    "Nuthatch",
    "Creeper",
    "Cowbird",
    "Blackbird",
    "Lark",
    "Starling",
    "Martin",
    "Phoebe",
    "Pewee",
    "Redstart",
    "Chat",
    "Siskin",
    "Crossbill",
    "Dove",
    "Kestrel",
    "Gnatcatcher",
    "Titmouse",
    "Chickadee",
    "Catbird",
    "Mockingbird",
    "Thrasher",
    "Bobolink",
    "Meadowlark",
    "Grackle",
    "Dickcissel",
    "Longspur",
)
_EPITHET = {
    "crown_color": "{v}_crowned",
    "wing_color": "{v}_winged",
    "wing_pattern": "{v}_winged",
    "breast_color": "{v}_breasted",
    "tail_color": "{v}_tailed",
    "bill_color": "{v}_billed",
    "bill_shape": "{v}_billed",
    "bill_length": "{v}_billed",
    "size": "{v}",
}


@dataclass
class Species:
    """One species: its attributes and the attribute types that set it apart from its genus."""

    class_id: int  # 1-based, as in CUB's classes.txt
    name: str  # e.g. "017.Red_crowned_Finch"
    genus: int
    attributes: dict[str, str]
    discriminative: list[str] = field(default_factory=list)


def _random_attributes(rng: random.Random) -> dict[str, str]:
    attrs = {t: rng.choice(values) for t, values in SCHEMA.items()}
    if attrs["wing_pattern"] != "plain" and attrs["wing_color"] in ("white", "black"):
        attrs["wing_color"] = rng.choice(["grey", "brown", "blue"])
    return attrs


def _mutate(base: dict[str, str], rng: random.Random, changes: int) -> dict[str, str]:
    attrs = dict(base)
    for attr in rng.sample(ATTRIBUTE_TYPES, changes):
        attrs[attr] = rng.choice([v for v in SCHEMA[attr] if v != base[attr]])
    return attrs


def make_species(num_species: int, rng: random.Random) -> list[Species]:
    """Species in genera of 2-6 siblings; siblings differ from their genus in 1-2 attributes."""
    seen: set[tuple[str, ...]] = set()
    groups: list[list[dict[str, str]]] = []
    remaining = num_species
    while remaining > 0:
        size = min(remaining, rng.randint(2, 6))
        if remaining - size == 1:  # never leave a genus with a single species
            size += 1
        base = _random_attributes(rng)
        members: list[dict[str, str]] = []
        while len(members) < size:
            cand = _mutate(base, rng, rng.randint(1, 2))
            key = tuple(cand[t] for t in ATTRIBUTE_TYPES)
            if key not in seen:
                seen.add(key)
                members.append(cand)
        groups.append(members)
        remaining -= size
    species: list[Species] = []
    for genus, members in enumerate(groups):
        for attrs in members:
            disc = sorted(
                {
                    t
                    for other in members
                    if other is not attrs
                    for t in SCHEMA
                    if other[t] != attrs[t]
                },
                key=ATTRIBUTE_TYPES.index,
            )
            species.append(Species(len(species) + 1, "", genus, attrs, disc))
    _name_species(species, rng)
    return species


def _name_species(species: list[Species], rng: random.Random) -> None:
    used: set[str] = set()
    prefixes = ["", "Northern_", "Southern_", "Eastern_", "Western_", "Lesser_", "Greater_"]
    for sp in species:
        genus = GENUS_NAMES[sp.genus % len(GENUS_NAMES)]
        if sp.genus >= len(GENUS_NAMES):
            genus = f"{genus}_{sp.genus // len(GENUS_NAMES) + 1}"
        attr = rng.choice(sp.discriminative or list(ATTRIBUTE_TYPES))
        value = sp.attributes[attr]
        if attr == "eye_ring":
            epithet = "Eye_ringed" if value == "yes" else "Plain_faced"
        else:
            epithet = _EPITHET[attr].format(v=value.capitalize())
        for prefix in prefixes:
            base = f"{prefix}{epithet}_{genus}"
            if base not in used:
                break
        else:
            base = f"{epithet}_{genus}_{sp.class_id}"
        used.add(base)
        sp.name = f"{sp.class_id:03d}.{base}"
