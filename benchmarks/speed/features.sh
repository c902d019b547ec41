#!/usr/bin/env bash
# `interpnet features` for all 8,189 Flowers photos into an empty cache: throughput and peak
# memory (before: benchmarks/flowers/results/features-first.time). Resumable (lib.sh).
# Usage (repository root, venv active): bash benchmarks/speed/features.sh FLOWERS_ROOT WORKDIR
set -euo pipefail
. benchmarks/lib.sh
root=$1
work=$2
out=benchmarks/speed/results
mkdir -p "$out" "$work"
[ -f "$out/features-flowers.time" ] || rm -rf "$work/features"
timed "$out" features-flowers interpnet features flowers --root "$root" --out "$work/features" --quiet
