#!/usr/bin/env bash
# The Flowers pipeline end to end on one device: features of all 8,189 photos into an empty
# cache, InterpNET_2 (interpnet's default recipe, EXPLAINER_EPOCHS explainer epochs: 15 as in
# benchmarks/flowers), evaluation of the test split (human agreement from the cache when
# there). DEVICE=cuda (default when a GPU is present) or cpu (the fallback; the CPU numbers
# of a full run are in README.md). Writes results/pipeline-<device>-*.time next to the CPU
# ones. Resumable (lib.sh). Usage (repository root, venv active):
#   [DEVICE=cuda] [EXPLAINER_EPOCHS=15] bash benchmarks/speed/gpu.sh FLOWERS_ROOT WORKDIR
set -euo pipefail
. benchmarks/lib.sh
root=$1
work=$2
device=${DEVICE:-$(python -c "import torch; print('cuda' if torch.cuda.is_available() else 'cpu')")}
epochs=${EXPLAINER_EPOCHS:-15}
tag="pipeline-$device-e$epochs"
out=benchmarks/speed/results
mkdir -p "$out" "$work/$tag"
python -c "import torch; print(torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else 'no CUDA')" \
  > "$out/$tag-device.txt"
[ -f "$out/$tag-features.time" ] || rm -rf "$work/$tag/features"
timed "$out" "$tag-features" interpnet features flowers --root "$root" \
  --out "$work/$tag/features" --device "$device" --quiet
[ -f "$out/$tag-train.time" ] || rm -rf "$work/$tag/run"
timed "$out" "$tag-train" interpnet train --data-root "$root" --features "$work/$tag/features" \
  --explainer-epochs "$epochs" --device "$device" --out "$work/$tag/run" --quiet
# --no-repeat-ngram 0: as the committed results were measured (before n-gram blocking)
timed "$out" "$tag-evaluate" interpnet evaluate "$work/$tag/run" --device "$device" \
  --judge-features "$work/$tag/features" --quiet --no-repeat-ngram 0
