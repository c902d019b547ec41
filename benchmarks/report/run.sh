#!/usr/bin/env bash
# The report benchmark: the HTML report of a run's test split timed with a cold and a warm
# thumbnail cache, opened in headless Chromium (checks with JavaScript on and off,
# screenshots), for Flowers and SynthBirds; then per-word attribution over each whole test
# split. Resumable (see benchmarks/lib.sh; attribution.py skips finished chunks).
# Needs: apt-get install chromium; pip install -e ".[bench]" (Playwright, drives that Chromium).
# Usage (repository root, venv active): bash benchmarks/report/run.sh FLOWERS_RUN SYNTH_RUN WORKDIR
set -euo pipefail
. benchmarks/lib.sh
flowers=$1
synth=$2
work=$3
out=benchmarks/report/results
mkdir -p "$out" "$work"
report() {  # report NAME RUN_DIR
  local name=$1 run=$2
  [ -f "$out/report-$name-cold.time" ] || rm -rf "$work/thumbs-$name"
  for cache in cold warm; do
    timed "$out" "report-$name-$cache" interpnet report "$run" --out "$work/$name.html" \
      --cache-dir "$work/thumbs-$name" --quiet
  done
  [ -f "$out/browser-$name.json" ] || python benchmarks/report/browser.py "$work/$name.html" "$name"
}
report flowers "$flowers"
report synthbirds "$synth"
for name in synthbirds flowers; do
  run=$flowers
  [ "$name" = synthbirds ] && run=$synth
  [ -f "$out/attribution-$name.json" ] ||
    python benchmarks/report/attribution.py "$run" "$work/attribution" "$name"
done
