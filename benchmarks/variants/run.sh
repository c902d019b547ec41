#!/usr/bin/env bash
# Train the four conditioning variants on the demo's SynthBirds with the demo's configuration
# and seed, evaluate each on the test split, and compare them (the paper's Table 1 on SynthBirds).
# Usage (repository root, venv active): bash benchmarks/variants/run.sh [WORKDIR]
set -euo pipefail
work=${1:-interpnet-demo}
out=benchmarks/variants/results
mkdir -p "$out"
runs=()
for variant in captioning gve-label output-only interpnet; do
  interpnet demo --workdir "$work" --variant "$variant" --quiet > "$out/train-$variant.log"
  run=$(ls -d "$work"/runs/"$variant"-* | tail -1)
  /usr/bin/time -f "%e s, %M KB peak" -o "$out/evaluate-$variant.time" \
    interpnet evaluate "$run" --quiet > "$out/evaluate-$variant.txt"
  runs+=("$run")
done
interpnet compare "${runs[@]}" --csv "$out/compare.csv" > "$out/compare.md"
cat "$out/compare.md"
