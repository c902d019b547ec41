#!/usr/bin/env bash
# Probe (issue 35) on Oxford-102 Flowers: the LRCN, the attention and the transformer explainer
# on frozen EfficientNet-Lite0 features with the backbone's 1280 x 7 x 7 feature map kept
# (interpnet features --spatial), the faithful benchmark's Flowers recipe (default recipe, 15
# explainer epochs). All three read the same parts: the map (the LRCN average-pooled, which is
# the feature vector x; the others its 49 positions, --pool none), the MLP's last hidden layer and
# the softmax. Greedy test explanations, evaluated with the judges (no human agreement);
# intervention test on 100 test images (Flowers has no part annotations: no grounding).
# Resumable: a finished step leaves its file in the results folder.
# Usage (repository root, venv active): bash benchmarks/faithful/probe_attention_flowers.sh WORKDIR [SEED]
set -euo pipefail
work=${1:?usage: probe_attention_flowers.sh WORKDIR [SEED]}
seed=${2:-0}
data=${FLOWERS:-../shared/data/flowers102}
out=benchmarks/faithful/results/probes/attention-flowers/seed$seed
mkdir -p "$out" "$work/runs/seed$seed"
# the explainers' training speed on Flowers' shapes first, on an otherwise idle machine
if [ ! -f benchmarks/speed/results/explainer-flops-spatial.json ]; then
  python -m benchmarks.speed.explainer_flops_spatial "$data" 30 > /dev/null
fi
if [ ! -f "$out/../features.txt" ]; then
  /usr/bin/time -v interpnet features flowers --root "$data" --out "$work/features" --spatial \
    --quiet > "$out/../features.txt" 2> "$out/../features-time.txt"
fi
reads=(--features "$work/features" --spatial --variant custom --layers side.map hidden.1
  --include-softmax --recipe default --explainer-epochs 15)
for name in lrcn transformer attention; do
  pool=none budget=()
  [ "$name" = lrcn ] && pool=avg
  # 2 CPU cores: the transformer's epoch is about 4x the LRCN's (explainer-flops-spatial), so it
  # gets 6 epochs (EPOCHS_TRANSFORMER) where the others get 15
  [ "$name" = transformer ] && budget=(--explainer-epochs "${EPOCHS_TRANSFORMER:-6}")
  run="$work/runs/seed$seed/$name"
  if [ ! -f "$out/$name-train_log.jsonl" ]; then
    rm -rf "$run"
    start=$(date +%s)
    interpnet train --data-root "$data" "${reads[@]}" --pool "$pool" --explainer "$name" \
      "${budget[@]}" --seed "$seed" --device cpu --quiet --out "$run" > "$out/$name-train.txt"
    echo "wall seconds: $(( $(date +%s) - start ))" >> "$out/$name-train.txt"
    cp "$run/train_log.jsonl" "$out/$name-train_log.jsonl"
  fi
  if [ ! -f "$out/$name-metrics.json" ]; then
    interpnet evaluate "$run" --no-human --evidence-images 100 --quiet > "$out/$name-evaluate.txt"
    cp "$run/metrics.json" "$out/$name-metrics.json"
  fi
done
