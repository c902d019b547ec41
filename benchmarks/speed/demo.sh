#!/usr/bin/env bash
# `interpnet demo` from an empty work folder (SynthBirds generated, CNN + InterpNET_2
# trained, the test split explained), timed, then its run evaluated on the test split for the
# side-by-side metrics. LABEL names the result files; run it once with the code before a
# change (e.g. PYTHONPATH=<checkout of the old commit>/src) and once after. Resumable (lib.sh).
# SEED (default 0) is the demo's --seed.
# Usage (repository root, venv active): [SEED=1] bash benchmarks/speed/demo.sh LABEL WORKDIR
set -euo pipefail
. benchmarks/lib.sh
label=$1
work=$2/demo-$label
out=benchmarks/speed/results
mkdir -p "$out"
[ -f "$out/demo-$label.time" ] || rm -rf "$work"
timed "$out" "demo-$label" interpnet demo --workdir "$work" --seed "${SEED:-0}" --quiet
run=$(ls -d "$work"/runs/*/ | head -1)
# unblocked (--no-repeat-ngram 0) as the committed results were measured; older checkouts,
# which this script also times, have no such flag and never block
off=()
if [[ $(interpnet evaluate --help) == *--no-repeat-ngram* ]]; then off=(--no-repeat-ngram 0); fi
timed "$out" "demo-$label-evaluate" interpnet evaluate "$run" --quiet "${off[@]}"
python - "$run" > "$out/demo-$label-metrics.json" <<'PY'
import json, sys
from interpnet.rundir import RunDirectory
m = RunDirectory(sys.argv[1]).read_metrics("test")
e = m["explanations"]
print(json.dumps({
    "accuracy": m["accuracy"],
    "METEOR": e["standard"]["METEOR"], "CIDEr-D": e["standard"]["CIDEr-D"],
    "distinct": e["specificity"]["distinct_share"], "fidelity": e["fidelity"],
    "relevance": e["class_relevance"]["predicted_class"], "R@5": e["self_retrieval"]["R@5"],
    "attr_precision": e["attributes"]["precision"], "attr_recall": e["attributes"]["recall"],
    "train_seconds": sum(r["seconds"] for r in RunDirectory(sys.argv[1]).read_log()),
}, indent=1))
PY
cat "$out/demo-$label-metrics.json"
