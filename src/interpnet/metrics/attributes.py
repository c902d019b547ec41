"""SynthBirds attribute precision and recall of explanations, from the generator's ground truth."""

from __future__ import annotations

from pathlib import Path

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
        try:
            species = {sp["class_id"]: sp for sp in manifest["species"]}
            for img in manifest["images"]:
                sp = species[int(img["path"].split(".", 1)[0])]
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

    def score(self, keys: list[str], sentences: list[str]) -> dict[str, float]:
        """Micro-averaged precision (mentioned attributes that are true of the image) and
        recall (the image's visible discriminative attributes that are mentioned)."""
        mentioned = correct = disc_total = disc_hit = 0
        for key, sentence in zip(keys, sentences, strict=True):
            mentions = parse_mentions(sentence)
            mentioned += len(mentions)
            correct += len(mentions & self.truth[key])
            disc_total += len(self.discriminative[key])
            disc_hit += len(mentions & self.discriminative[key])
        return {
            "precision": correct / mentioned if mentioned else float("nan"),
            "recall": disc_hit / disc_total if disc_total else float("nan"),
            "mentions_per_sentence": mentioned / len(keys) if keys else float("nan"),
        }
