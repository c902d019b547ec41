"""Which words of an explanation name a part of a bird, or describe one: "crown" and "beak"
name one; "red" in "a red breast" describes one. Grounding metrics check that such a word's
evidence lies on its part."""

from __future__ import annotations

from collections.abc import Iterable

# A noun -> the part names it may mean, across data sets (SynthBirds: head, bill, wings,
# breast, tail; CUB-200-2011: its 15 keypoints). A word means every one of them a data set has.
PART_NOUNS: dict[str, tuple[str, ...]] = {
    "head": ("head", "crown", "forehead", "nape", "left eye", "right eye"),
    "crown": ("head", "crown"),
    "cap": ("head", "crown"),
    "forehead": ("head", "forehead"),
    "nape": ("head", "nape"),
    "eye": ("head", "left eye", "right eye"),
    "eyes": ("head", "left eye", "right eye"),
    "eyering": ("head", "left eye", "right eye"),
    "bill": ("bill", "beak"),
    "beak": ("bill", "beak"),
    "wing": ("wings", "left wing", "right wing"),
    "wings": ("wings", "left wing", "right wing"),
    "wingbars": ("wings", "left wing", "right wing"),
    "breast": ("breast",),
    "chest": ("breast",),
    "belly": ("breast", "belly"),
    "abdomen": ("breast", "belly"),
    "throat": ("breast", "throat"),
    "tail": ("tail",),
    "back": ("back",),
    "leg": ("legs", "left leg", "right leg"),
    "legs": ("legs", "left leg", "right leg"),
    "feet": ("legs", "left leg", "right leg"),
}
# Words that end the run of modifiers before a part noun ("this bird has a red crown": "red"
# describes the crown, "has" does not).
_STOP = frozenset(
    "a an the and or with has have had is are was its it this that these bird birds flower of "
    "on in to as but while which , . ; :".split()
)
_MAX_MODIFIERS = 4


def part_words(tokens: list[str], parts: Iterable[str]) -> list[tuple[int, tuple[str, ...]]]:
    """(position, parts) of each token that names one of ``parts`` (a data set's part names)
    or is one of the up to four modifiers right before such a noun; a token named twice
    ("red and black wings" reads "red" once) keeps its first part."""
    known = set(parts)
    out: dict[int, tuple[str, ...]] = {}
    for i, token in enumerate(tokens):
        meant = tuple(p for p in PART_NOUNS.get(token, ()) if p in known)
        if not meant:
            continue
        out.setdefault(i, meant)
        j = i - 1
        while j >= 0 and i - j <= _MAX_MODIFIERS and tokens[j] not in _STOP:
            if tokens[j] in PART_NOUNS:
                break
            out.setdefault(j, meant)
            j -= 1
    return sorted(out.items())
