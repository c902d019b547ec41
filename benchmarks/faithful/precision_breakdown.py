"""Where SynthBirds' attribute precision goes: each attribute a greedy test explanation
mentions, sorted into true of the image (visible), true of its species but on an occluded
part, true of the *predicted* species (not of the image), or other; on correctly and on
wrongly classified images. An explanation that follows a wrong decision states the predicted
species' attributes, which the precision metric counts as errors.

Usage (repository root, venv active):
  python benchmarks/faithful/precision_breakdown.py SYNTHBIRDS_ROOT RUN_DIR...
writes benchmarks/faithful/results/precision-breakdown-synthbirds.json (one entry per run; a
run already there is skipped).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from interpnet.data.synthbirds import MANIFEST, parse_mentions, visible_attributes
from interpnet.model import InterpNet
from interpnet.report import explain_split
from interpnet.training.data import model_split, run_config

OUT = Path(__file__).parent / "results" / "precision-breakdown-synthbirds.json"
KINDS = ("true, visible", "true of the species, occluded part", "of the predicted species", "other")


def breakdown(root: Path, records: list[dict]) -> dict:
    manifest = json.loads((root / MANIFEST).read_text())
    species = {sp["class_id"]: sp["attributes"] for sp in manifest["species"]}
    first = min(species)  # class ids count from 1, labels from 0
    occluded = {img["path"]: img["occluded"] for img in manifest["images"]}
    counts = {"correct": Counter(), "misclassified": Counter()}
    images = Counter()
    for r in records:
        own, predicted = species[r["true_label"] + first], species[r["label"] + first]
        visible = visible_attributes(occluded[r["key"]])
        group = "correct" if r["label"] == r["true_label"] else "misclassified"
        images[group] += 1
        for part, value in parse_mentions(r["explanation"]):
            if own.get(part) == value:
                kind = KINDS[0] if part in visible else KINDS[1]
            else:
                kind = KINDS[2] if predicted.get(part) == value else KINDS[3]
            counts[group][kind] += 1
    out = {}
    for group, c in counts.items():
        n = sum(c.values())
        out[group] = {
            "images": images[group],
            "mentions": n,
            "precision": c[KINDS[0]] / n if n else None,
            "shares": {k: c[k] / n if n else None for k in KINDS},
        }
    total = sum(out[g]["mentions"] for g in out)
    out["precision"] = sum(counts[g][KINDS[0]] for g in counts) / total if total else None
    return out


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    root, runs = Path(argv[0]).resolve(), [Path(a).resolve() for a in argv[1:]]
    results = json.loads(OUT.read_text()) if OUT.is_file() else {}
    for run in runs:
        if run.name in results:
            continue
        model = InterpNet.from_pretrained(run)
        test = model_split(model, run_config(run, str(root)), "test", False)
        results[run.name] = breakdown(root, explain_split(model, test, progress=False))
        OUT.write_text(json.dumps(results, indent=1) + "\n")
        r = results[run.name]
        print(f"{run.name}: precision {r['precision']:.3f}; misclassified: {r['misclassified']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
