"""SynthBirds attribute precision and recall of explanations, from the generator's ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from interpnet.data.synthbirds import MANIFEST, parse_mentions, visible_attributes
from interpnet.errors import DataError
from interpnet.storage import read_json


class AttributeTruth:
    """Per-image true visible attributes and discriminative attributes of a SynthBirds root."""

    def __init__(self, root: str | Path):
        path = Path(root) / MANIFEST
        manifest = read_json(path, "SynthBirds manifest")
        self.truth: dict[str, set] = {}
        self.discriminative: dict[str, set] = {}
        self.species: dict[int, set] = {}  # class id -> every (type, value) of the species
        try:
            species = {sp["class_id"]: sp for sp in manifest["species"]}
            self.species = {c: set(sp["attributes"].items()) for c, sp in species.items()}
            for img in manifest["images"]:
                sp = species[_class_id(img["path"])]
                visible = visible_attributes(img["occluded"])
                attrs = sp["attributes"]
                self.truth[img["path"]] = {(t, attrs[t]) for t in visible}
                self.discriminative[img["path"]] = {
                    (t, attrs[t])
                    for t in sp["discriminative"]
                    if t in visible and not (t == "eye_ring" and attrs[t] == "no")
                }
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as err:
            raise DataError(
                f"{path}: not a SynthBirds manifest ({type(err).__name__}: {err}); regenerate "
                "the data set"
            ) from None

    @staticmethod
    def available(root: str | Path) -> bool:
        return (Path(root) / MANIFEST).is_file()

    def score(
        self, keys: list[str], sentences: list[str], predicted: list[str] | None = None
    ) -> dict[str, Any]:
        """Micro-averaged precision (mentioned attributes that are true of the image) and
        recall (the image's visible discriminative attributes that are mentioned).

        ``predicted``: the class name (``"NNN.Species"``) the classifier gave each image; then
        ``by_decision`` splits the mentions by correctly and wrongly classified images:
        precision, the share true of the image's species but on the part it occludes, and the
        share true of the predicted species only (what an explanation that follows a wrong
        decision states, and precision counts as an error)."""
        mentioned = correct = disc_total = disc_hit = 0
        parsed = [parse_mentions(s) for s in sentences]
        for key, mentions in zip(keys, parsed, strict=True):
            mentioned += len(mentions)
            correct += len(mentions & self.truth[key])
            disc_total += len(self.discriminative[key])
            disc_hit += len(mentions & self.discriminative[key])
        out: dict[str, Any] = {
            "precision": _share(correct, mentioned),
            "recall": _share(disc_hit, disc_total),
            "mentions_per_sentence": _share(mentioned, len(keys)),
        }
        if predicted is not None:
            out["by_decision"] = self._by_decision(keys, parsed, predicted)
        return out

    def _by_decision(
        self, keys: list[str], parsed: list[set], predicted: list[str]
    ) -> dict[str, dict[str, float]]:
        counts = {
            g: dict.fromkeys(("images", "mentions", "true", "occluded", "predicted"), 0)
            for g in ("correct", "misclassified")
        }
        for key, mentions, name in zip(keys, parsed, predicted, strict=True):
            own, guess = _class_id(key), _class_id(name)
            c = counts["correct" if own == guess else "misclassified"]
            true = mentions & self.truth[key]
            occluded = (mentions - true) & self.species[own]
            c["images"] += 1
            c["mentions"] += len(mentions)
            c["true"] += len(true)
            c["occluded"] += len(occluded)
            c["predicted"] += len((mentions - self.species[own]) & self.species[guess])
        return {
            g: {
                "images": c["images"],
                "mentions": c["mentions"],
                "precision": _share(c["true"], c["mentions"]),
                "occluded_share": _share(c["occluded"], c["mentions"]),
                "predicted_species_share": _share(c["predicted"], c["mentions"]),
            }
            for g, c in counts.items()
        }


def _class_id(path_or_name: str) -> int:
    """The species of an image path or class name: its ``NNN.`` prefix."""
    return int(path_or_name.split(".", 1)[0])


def _share(part: int, whole: int) -> float:
    return part / whole if whole else float("nan")
