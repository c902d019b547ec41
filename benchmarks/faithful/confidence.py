"""How confident is the classifier on each split? The explainer (and the discriminative phase)
learn from training images, where the classifier is nearly always right and sure; fidelity is
measured on misclassified test images, where its softmax is spread between the predicted and
the true class. This prints the gap: mean top-1 probability, the predicted and true class's
probability on misclassified images, and the entropy, per split.

Usage (repository root, venv active): python -m benchmarks.faithful confidence RUN_DIR NAME
writes benchmarks/faithful/results/confidence-NAME.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from interpnet.workflows.run import Run

RESULTS = Path(__file__).parent / "results"


def main(argv: list[str]) -> int:
    run, name = Path(argv[0]), argv[1]
    opened = Run(run, progress=False)
    model = opened.model
    out = {"run": str(run)}
    for split in ("train", "val", "test"):
        data = opened.split(split)
        logits, _ = model.introspect_split(data)
        probs = torch.softmax(logits, dim=-1).cpu()
        top, pred = probs.max(dim=1)
        true = data.labels
        wrong = pred != true
        rows = torch.arange(len(true))
        entropy = -(probs * probs.clamp_min(1e-12).log()).sum(1)
        out[split] = {
            "images": len(true),
            "accuracy": float((~wrong).float().mean()),
            "mean_top1_probability": float(top.mean()),
            "share_top1_above_0.9": float((top > 0.9).float().mean()),
            "mean_entropy_nats": float(entropy.mean()),
            "wrong": {
                "images": int(wrong.sum()),
                "mean_p_predicted": float(top[wrong].mean()) if wrong.any() else None,
                "mean_p_true": float(probs[rows, true][wrong].mean()) if wrong.any() else None,
            },
        }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"confidence-{name}.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
