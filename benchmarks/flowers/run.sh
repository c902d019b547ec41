#!/usr/bin/env bash
# The real run on Oxford-102 Flowers (official split): EfficientNet-Lite0 features, then
# InterpNET_2 and the captioning baseline with the paper's recipe, then evaluate + compare.
# Usage (repository root, venv active): bash benchmarks/flowers/run.sh [FLOWERS_ROOT] [WORKDIR]
set -euo pipefail
root=${1:-../shared/data/flowers102}
work=${2:-flowers-work}
out=benchmarks/flowers/results
mkdir -p "$out" "$work"
# 1. features: first run extracts (throughput, peak memory), second run reuses the cache
/usr/bin/time -f "%e s wall, %M KB peak RSS" -o "$out/features-first.time" \
  interpnet features flowers --root "$root" --out "$work/features" --quiet > "$out/features-first.txt"
/usr/bin/time -f "%e s wall, %M KB peak RSS" -o "$out/features-second.time" \
  interpnet features flowers --root "$root" --out "$work/features" --quiet > "$out/features-second.txt"
# 2. the paper's recipe (Adam, lr 1e-3 / 5e-4, batch 32, MLP [500, 300], explainer 256/512/512,
#    best checkpoint, lr halving); the explainer is capped at 15 epochs to fit 2 CPU cores
common=(--data-root "$root" --features "$work/features" --explainer-epochs 15 --patience 3
        --seed 0 --quiet)
for variant in interpnet captioning; do
  rm -rf "$work/runs/$variant"
  /usr/bin/time -f "%e s wall, %M KB peak RSS" -o "$out/train-$variant.time" \
    interpnet train "${common[@]}" --variant "$variant" --out "$work/runs/$variant" \
    > "$out/train-$variant.log"
  /usr/bin/time -f "%e s wall, %M KB peak RSS" -o "$out/evaluate-$variant.time" \
    interpnet evaluate "$work/runs/$variant" --quiet > "$out/evaluate-$variant.txt"
done
interpnet compare "$work/runs/interpnet" "$work/runs/captioning" --csv "$out/compare.csv" \
  > "$out/compare.md"
cat "$out/compare.md"
