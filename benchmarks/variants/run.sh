#!/usr/bin/env bash
# Train the four conditioning variants on the demo's SynthBirds with the demo's configuration
# and seed, evaluate each on the test split, and compare them (the paper's Table 1 on
# SynthBirds). Resumable per variant (see benchmarks/lib.sh).
# Usage (repository root, venv active): bash benchmarks/variants/run.sh [WORKDIR]
set -euo pipefail
. benchmarks/lib.sh
work=${1:-interpnet-demo}
out=benchmarks/variants/results
mkdir -p "$out"
runs=()
for variant in captioning gve-label output-only interpnet; do
  run="$work/runs/variants-$variant"
  if [ ! -f "$out/train-$variant.time" ]; then
    rm -rf "$work/runs/$variant"-*
  fi
  timed "$out" "train-$variant" interpnet demo --workdir "$work" --variant "$variant" --quiet
  if [ ! -e "$run" ]; then ln -s "$(basename "$(ls -d "$work/runs/$variant"-* | tail -1)")" "$run"; fi
  human=()
  if [ "$variant" != captioning ]; then human=(--no-human); fi
  # --no-repeat-ngram 0: as the committed results were measured (before n-gram blocking)
  timed "$out" "evaluate-$variant" interpnet evaluate "$run" --quiet --no-repeat-ngram 0 \
    "${human[@]}"
  runs+=("$run")
done
interpnet compare "${runs[@]}" --csv "$out/compare.csv" > "$out/compare.md"
cat "$out/compare.md"
