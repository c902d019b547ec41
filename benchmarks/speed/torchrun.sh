#!/usr/bin/env bash
# One process against two torchrun processes (gloo) on the CPU: the same Flowers training
# (InterpNET_2 on the EfficientNet-Lite0 feature cache, the paper's recipe (no dropout, no
# BatchNorm), explainer dropout 0, 20 classifier + 2 explainer epochs + 1 discriminative
# epoch), its wall time, and how far apart the two models are (torchrun_compare.py).
# Resumable (lib.sh). Usage (repository root, venv active):
#   bash benchmarks/speed/torchrun.sh FLOWERS_ROOT WORKDIR   # WORKDIR/features: the cache
set -euo pipefail
. benchmarks/lib.sh
root=$1
work=$2
out=benchmarks/speed/results
mkdir -p "$out" "$work/torchrun"
flags=(--data-root "$root" --features "$work/features" --recipe paper --dropout 0
  --classifier-epochs 20 --explainer-epochs 2 --discriminative-epochs 1
  --rewards class-predicted=1 cider=0.25 --device cpu --quiet)
for n in 1 2; do
  [ -f "$out/torchrun-train-$n.time" ] || rm -rf "$work/torchrun/run-$n"
done
OMP_NUM_THREADS=2 timed "$out" torchrun-train-1 \
  interpnet train --out "$work/torchrun/run-1" "${flags[@]}"
OMP_NUM_THREADS=1 timed "$out" torchrun-train-2 \
  python -m torch.distributed.run --standalone --nproc-per-node 2 -m interpnet train \
  --out "$work/torchrun/run-2" "${flags[@]}"
python benchmarks/speed/torchrun_compare.py "$work/torchrun/run-1" "$work/torchrun/run-2" \
  > "$out/torchrun-compare.json"
cat "$out/torchrun-compare.json"
