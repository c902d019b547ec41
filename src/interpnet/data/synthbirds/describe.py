"""Reed-style descriptions of SynthBirds images, and a parser that reads attribute mentions
back out of any sentence (references or generated explanations)."""

from __future__ import annotations

import random
import re

from interpnet.data.synthbirds.attributes import SCHEMA
from interpnet.text import tokenize

_SHAPE_WORD = {
    "cone": "cone-shaped",
    "hooked": "hooked",
    "needle": "needle-like",
    "dagger": "dagger-like",
}
_SIZE_WORD = {"small": "small", "medium": "medium-sized", "large": "large"}
_PART_NOUNS = {
    "crown": ("crown", "head", "cap"),
    "wings": ("wings", "wing"),
    "breast": ("breast", "belly", "chest"),
    "tail": ("tail",),
    "bill": ("bill", "beak"),
}
_SUBJECTS_WITH_SIZE = (
    "a {s} bird with",
    "this {s} bird has",
    "this is a {s} bird with",
    "the {s} bird has",
)
_SUBJECTS = (
    "this bird has",
    "the bird has",
    "a bird with",
    "this is a bird with",
    "this particular bird has",
    "a bird that has",
)


def _phrase(kind: str, a: dict[str, str], chosen: set[str], rng: random.Random) -> str:
    """A noun phrase for one part, mentioning the chosen attribute types of that part."""
    if kind == "crown":
        return f"a {a['crown_color']} {rng.choice(_PART_NOUNS['crown'])}"
    if kind == "wings":
        mods = [a[t] for t in ("wing_pattern", "wing_color") if t in chosen]
        return f"{' '.join(mods)} wings"
    if kind == "breast":
        return f"a {a['breast_color']} {rng.choice(_PART_NOUNS['breast'])}"
    if kind == "tail":
        return f"a {a['tail_color']} tail"
    if kind == "bill":
        mods = []
        if "bill_length" in chosen:
            mods.append(a["bill_length"])
        if "bill_color" in chosen:
            mods.append(a["bill_color"])
        if "bill_shape" in chosen:
            mods.append(_SHAPE_WORD[a["bill_shape"]])
        return f"a {' '.join(mods)} {rng.choice(_PART_NOUNS['bill'])}"
    return rng.choice(("a white eye ring", "white eye rings", "a white ring around its eye"))


_KIND_OF = {
    "crown_color": "crown",
    "wing_color": "wings",
    "wing_pattern": "wings",
    "breast_color": "breast",
    "tail_color": "tail",
    "bill_color": "bill",
    "bill_shape": "bill",
    "bill_length": "bill",
    "eye_ring": "eye",
}


def describe(
    attrs: dict[str, str],
    visible: set[str],
    rng: random.Random,
    discriminative: list[str] = (),
) -> str:
    """One sentence that mentions a random subset of the visible attributes.

    Discriminative attributes are three times as likely to be mentioned (people describe
    what stands out). An absent eye ring is never mentioned.
    """
    candidates = [t for t in SCHEMA if t in visible and not (t == "eye_ring" and attrs[t] == "no")]
    weights = [3.0 if t in discriminative else 1.0 for t in candidates]
    k = min(len(candidates), rng.choices((1, 2, 3, 4), (0.1, 0.4, 0.35, 0.15))[0])
    chosen: set[str] = set()
    while len(chosen) < k:
        chosen.add(rng.choices(candidates, weights)[0])
    kinds = []
    for t in sorted(chosen, key=list(SCHEMA).index):
        if t != "size" and _KIND_OF[t] not in kinds:
            kinds.append(_KIND_OF[t])
    rng.shuffle(kinds)
    if "size" in chosen:
        subject = rng.choice(_SUBJECTS_WITH_SIZE).format(s=_SIZE_WORD[attrs["size"]])
    else:
        subject = rng.choice(_SUBJECTS)
    end = "." if rng.random() < 0.8 else ""
    if not kinds:  # only the size was chosen, or nothing describable is visible
        size = f"{_SIZE_WORD[attrs['size']]} " if "size" in chosen else ""
        return f"this is a {size}bird{end}"
    phrases = [_phrase(kind, attrs, chosen, rng) for kind in kinds]
    if len(phrases) == 1:
        body = phrases[0]
    else:
        sep = ", and " if len(phrases) > 2 and rng.random() < 0.3 else " and "
        body = ", ".join(phrases[:-1]) + sep + phrases[-1]
    return re.sub(r"\ba (?=[aeiou])", "an ", f"{subject} {body}{end}")


# ---- parsing ----------------------------------------------------------------------------
_COLOR_WORDS = set(SCHEMA["crown_color"])
_BILL_COLOR_WORDS = set(SCHEMA["bill_color"])
_SHAPES = {w: s for s, w in _SHAPE_WORD.items()}
_SIZES = {w: s for s, w in _SIZE_WORD.items()}
_NOUN_KIND = {noun: kind for kind, nouns in _PART_NOUNS.items() for noun in nouns}


def parse_mentions(sentence: str) -> set[tuple[str, str]]:
    """Attribute (type, value) pairs a sentence states, e.g. ``{("crown_color", "red")}``.

    Reads adjectives directly before a part noun ("a short yellow cone-shaped bill"), sizes
    before "bird", and "eye ring(s)" / "ring around its eye". Words it does not know are
    ignored, so it can score generated sentences as well as references.
    """
    toks = tokenize(sentence, end_with_period=False)
    found: set[tuple[str, str]] = set()
    for i, tok in enumerate(toks):
        mods = _modifiers(toks, i)
        if tok == "bird":
            found |= {("size", _SIZES[m]) for m in mods if m in _SIZES}
        elif tok in ("ring", "rings") and (
            i > 0 and toks[i - 1] == "eye" or toks[i + 1 : i + 4] == ["around", "its", "eye"]
        ):
            found.add(("eye_ring", "yes"))
        elif tok in _NOUN_KIND:
            found |= _part_mentions(_NOUN_KIND[tok], mods)
    return found


def _modifiers(toks: list[str], i: int) -> list[str]:
    known = (
        _COLOR_WORDS | set(_SHAPES) | set(_SIZES) | set(SCHEMA["wing_pattern"]) | {"short", "long"}
    )
    mods: list[str] = []
    j = i - 1
    while j >= 0 and toks[j] in known:
        mods.append(toks[j])
        j -= 1
    return mods


def _part_mentions(kind: str, mods: list[str]) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for m in mods:
        if kind == "bill":
            if m in _BILL_COLOR_WORDS:
                out.add(("bill_color", m))
            elif m in _SHAPES:
                out.add(("bill_shape", _SHAPES[m]))
            elif m in ("short", "long"):
                out.add(("bill_length", m))
        elif kind == "wings" and m in SCHEMA["wing_pattern"]:
            out.add(("wing_pattern", m))
        elif m in _COLOR_WORDS:
            out.add((f"{'crown' if kind == 'crown' else kind.rstrip('s')}_color", m))
    return out
