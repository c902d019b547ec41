"""Where SynthBirds' attribute precision goes: each attribute a greedy test explanation
mentions, sorted into true of the image (visible), true of its species but on an occluded
part, true of the *predicted* species (not of the image), or other; on correctly and on
wrongly classified images. An explanation that follows a wrong decision states the predicted
species' attributes, which the precision metric counts as errors (``AttributeTruth.score``
with the predicted classes: ``by_decision``, also in ``interpnet evaluate``'s metrics.json).

Usage (repository root, venv active):
  python -m benchmarks.faithful precision-breakdown SYNTHBIRDS_ROOT RUN_DIR...
writes benchmarks/faithful/results/precision-breakdown-synthbirds.json (one entry per run; a
run already there is skipped).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from interpnet.metrics.attributes import AttributeTruth
from interpnet.workflows.explain import explain_split
from interpnet.workflows.run import Run

OUT = Path(__file__).parent / "results" / "precision-breakdown-synthbirds.json"


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    root, runs = Path(argv[0]).resolve(), [Path(a).resolve() for a in argv[1:]]
    truth = AttributeTruth(root)
    results = json.loads(OUT.read_text()) if OUT.is_file() else {}
    for run in runs:
        if run.name in results:
            continue
        opened = Run(run, str(root), progress=False)
        model, test = opened.model, opened.split("test")
        # no n-gram blocking: as the committed results were measured (it came later)
        records = explain_split(model, test, progress=False, no_repeat_ngram=0)
        keys, sentences = [r["key"] for r in records], [r["explanation"] for r in records]
        results[run.name] = truth.score(keys, sentences, [r["class_name"] for r in records])
        OUT.write_text(json.dumps(results, indent=1) + "\n")
        r = results[run.name]
        print(f"{run.name}: precision {r['precision']:.3f}; {r['by_decision']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
