#!/usr/bin/env bash
# examples/explain_your_classifier.py at full size on the demo's SynthBirds (50 species x 50
# images; generated if missing): the user's CNN trained in plain PyTorch, then explained frozen.
# Usage (repository root, venv active): bash benchmarks/example/run.sh [WORKDIR]
set -euo pipefail
. benchmarks/lib.sh
work=${1:-interpnet-demo}
out=benchmarks/example/results
mkdir -p "$out"
if [ ! -f "$out/example.time" ]; then rm -rf "$work/runs/your-classifier"*; fi
timed "$out" example python examples/explain_your_classifier.py --data "$work/synthbirds" \
  --out "$work/runs/your-classifier" --quiet
cp "$work/runs/your-classifier/metrics.json" "$out/metrics.json"
tail -1 "$out/example.txt"
