"""How far apart two runs' models and logs are (one process against torchrun's two):
the largest absolute weight difference per part of the model, and the logged losses."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from interpnet.rundir import RunDirectory
from interpnet.storage import load_tensors


def main(one: str, two: str) -> int:
    a = load_tensors(Path(one) / "model.safetensors")
    b = load_tensors(Path(two) / "model.safetensors")
    diff: dict[str, float] = {}
    for name in a:
        part = name.split(".")[0]
        d = float((a[name] - b[name]).abs().max())
        diff[part] = max(diff.get(part, 0.0), d)
    logs = [RunDirectory(p).read_log() for p in (one, two)]
    rows = [
        {
            "phase": r1["phase"],
            "epoch": r1["epoch"],
            **{
                k: [r1[k], r2[k]]
                for k in ("train_loss", "val_loss", "val_acc", "val_reward")
                if k in r1 and k in r2
            },
            "seconds": [r1["seconds"], r2["seconds"]],
        }
        for r1, r2 in zip(*logs, strict=False)
    ]
    report = {
        "max_abs_weight_difference": diff,
        "same_epochs": [(r["phase"], r["epoch"]) for r in logs[0]]
        == [(r["phase"], r["epoch"]) for r in logs[1]],
        "epochs (one process, two)": rows,
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
