#!/usr/bin/env bash
# The real run on Oxford-102 Flowers (official split): EfficientNet-Lite0 features, then with
# the paper's recipe InterpNET_2 and the captioning baseline, and InterpNET_2 with interpnet's
# default classifier recipe; evaluate each; compare. Resumable (see benchmarks/lib.sh).
# Usage (repository root, venv active): bash benchmarks/flowers/run.sh [FLOWERS_ROOT] [WORKDIR]
set -euo pipefail
. benchmarks/lib.sh
root=${1:-../shared/data/flowers102}
work=${2:-flowers-work}
out=benchmarks/flowers/results
mkdir -p "$out" "$work"
# 1. features: the first run extracts (throughput, peak memory), the second reuses the cache
timed "$out" features-first interpnet features flowers --root "$root" --out "$work/features" --quiet
timed "$out" features-second interpnet features flowers --root "$root" --out "$work/features" --quiet
# 2. the paper's recipe (Adam, lr 1e-3 / 5e-4, batch 32, MLP [500, 300], explainer 256/512/512,
#    best checkpoint, lr halving, patience 10), and interpnet's default classifier recipe; the
#    explainer is capped at 15 epochs to fit 2 CPU cores
common=(--data-root "$root" --features "$work/features" --explainer-epochs 15 --seed 0 --quiet)
train() {  # train NAME FLAGS...: a run directory left by an interrupted step is resumed
  local name=$1
  shift
  if [ -f "$out/train-$name.time" ]; then echo "skip train-$name"; return 0; fi
  if [ -f "$work/runs/$name/train_config.json" ]; then
    timed "$out" "train-$name" interpnet train --resume "$work/runs/$name" --quiet
  else
    rm -rf "$work/runs/$name"
    timed "$out" "train-$name" interpnet train "${common[@]}" "$@" --out "$work/runs/$name"
  fi
}
train interpnet-paper --variant interpnet --recipe paper
train captioning-paper --variant captioning --recipe paper
train interpnet-default --variant interpnet
# 3. evaluate; human agreement (the same for every run of the split) is computed once;
# --no-repeat-ngram 0: as the committed results were measured (before n-gram blocking)
timed "$out" evaluate-interpnet-paper \
  interpnet evaluate "$work/runs/interpnet-paper" --quiet --no-repeat-ngram 0
timed "$out" evaluate-captioning-paper \
  interpnet evaluate "$work/runs/captioning-paper" --quiet --no-human --no-repeat-ngram 0
timed "$out" evaluate-interpnet-default \
  interpnet evaluate "$work/runs/interpnet-default" --quiet --no-human --no-repeat-ngram 0
interpnet compare "$work/runs/interpnet-paper" "$work/runs/captioning-paper" \
  "$work/runs/interpnet-default" --csv "$out/compare.csv" > "$out/compare.md"
cat "$out/compare.md"
