#!/usr/bin/env bash
# `interpnet evaluate` of a run's test split without and with the human-agreement cache.
# Human agreement depends only on the split's references, so the second evaluation reads it
# from the cache (INTERPNET_CACHE) instead of scoring 10 x 6,149 Flowers references again.
# The run is copied first (evaluate rewrites its metrics.json and explanations); its judges,
# trained by an earlier evaluation, stay cached in the copy, so both timings train none.
# Resumable (benchmarks/lib.sh). Usage (repository root, venv active):
#   bash benchmarks/speed/evaluate.sh RUN_DIR WORKDIR NAME
set -euo pipefail
. benchmarks/lib.sh
run=$1
work=$2
name=$3
out=benchmarks/speed/results
mkdir -p "$out" "$work"
[ -d "$work/$name-run" ] || cp -r "$run" "$work/$name-run"
[ -f "$out/evaluate-$name-no-cache.time" ] || rm -rf "$work/$name-cache"
for step in no-cache cached; do
  timed "$out" "evaluate-$name-$step" env INTERPNET_CACHE="$work/$name-cache" \
    interpnet evaluate "$work/$name-run" --quiet --no-repeat-ngram 0  # as measured: unblocked
done
