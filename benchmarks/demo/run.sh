#!/usr/bin/env bash
# Time `interpnet demo` from a fresh clone and a fresh venv; results go to benchmarks/demo/results/.
# Usage: bash benchmarks/demo/run.sh   (from the repository root)
set -euo pipefail
repo=$(pwd)
out="$repo/benchmarks/demo/results"
mkdir -p "$out"
work=$(mktemp -d)
git clone -q "$repo" "$work/repo"
cd "$work/repo"
start=$(date +%s)
python3 -m venv .venv
. .venv/bin/activate
pip install -q --disable-pip-version-check torch==2.13.0 -e ".[dev,eval]"
setup=$(date +%s)
/usr/bin/time -v interpnet demo --quiet > "$out/demo.out" 2> "$out/demo.time"
end=$(date +%s)
summary=$(ls -d interpnet-demo/runs/*/ | tail -1)demo_summary.json
cp "$summary" "$out/demo_summary.json"
peak=$(grep "Maximum resident" "$out/demo.time" | awk '{print $NF}')
echo "{\"setup_seconds\": $((setup - start)), \"demo_seconds\": $((end - setup)), \"peak_rss_kb\": $peak, \"cores\": $(nproc)}" > "$out/timing.json"
cat "$out/timing.json" "$out/demo_summary.json"
rm -rf "$work"
