#!/usr/bin/env bash
# Probe (issue 35): the attention and transformer explainers against the LRCN on the demo's
# SynthBirds and recipe, all reading the same layers of the same classifier (the CNN's third
# block, its last hidden layer, the softmax): the LRCN with the block average-pooled, the others
# with its 8 x 8 positions kept (--pool none); the attention explainer with and without its
# attention penalty, the transformer with its defaults (2 blocks, 4 heads, DeViL's dropout).
# Greedy test explanations, evaluated without human agreement and self-retrieval; grounding and
# the intervention test on 200 test images (a SynthBirds generated with its part regions).
# Resumable: a finished step leaves its file in the results folder.
# Usage (repository root, venv active): bash benchmarks/faithful/probe_attention.sh WORKDIR [SEED]
# (SEED, default 0, seeds the training; the data are the same for every seed).
set -euo pipefail
work=${1:?usage: probe_attention.sh WORKDIR [SEED]}
seed=${2:-0}
out=benchmarks/faithful/results/probes/attention-synthbirds/seed$seed
mkdir -p "$out" "$work/runs/seed$seed"
data="$work/synthbirds"
if [ ! -d "$data/CUB_200_2011" ]; then
  interpnet data synthbirds --out "$data" --species 50 --images-per-species 50 --quiet
fi
reads=(--variant custom --layers backbone.blocks.2 head.hidden.1 --include-softmax)
for name in lrcn attention attention-penalty0 transformer; do
  explainer=attention pool=none options=()
  [ "$name" = lrcn ] && explainer=lrcn pool=avg
  [ "$name" = transformer ] && explainer=transformer
  [ "$name" = attention-penalty0 ] && options=(--explainer-options penalty=0)
  run="$work/runs/seed$seed/$name"
  if [ ! -f "$out/$name-train_log.jsonl" ]; then
    rm -rf "$run"
    start=$(date +%s)
    interpnet train --preset demo --data-root "$data" "${reads[@]}" --pool "$pool" \
      --explainer "$explainer" "${options[@]}" --seed "$seed" --device cpu --quiet --out "$run" \
      > "$out/$name-train.txt"
    echo "wall seconds: $(( $(date +%s) - start ))" >> "$out/$name-train.txt"
    cp "$run/train_log.jsonl" "$out/$name-train_log.jsonl"
  fi
  if [ ! -f "$out/$name-metrics.json" ]; then
    interpnet evaluate "$run" --no-human --no-retrieval --quiet > "$out/$name-evaluate.txt"
    cp "$run/metrics.json" "$out/$name-metrics.json"
  fi
done
