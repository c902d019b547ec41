#!/usr/bin/env bash
# Probe: n-gram blocking on the demo. Runs `interpnet demo` (its printed explanations decode with
# the default, no_repeat_ngram 3), evaluates the demo's run on the test split with
# --no-repeat-ngram 0 and 3, counts explanations that repeat a phrase, and writes the report
# (its most frequent explanations come from the last evaluation: the default).
# Usage (repository root, venv active): bash benchmarks/faithful/probe_ngram_demo.sh WORKDIR
set -euo pipefail
work=${1:?usage: probe_ngram_demo.sh WORKDIR}
out=benchmarks/faithful/results/probes/ngram-demo
mkdir -p "$out" "$work"
if [ ! -f "$out/demo.txt" ]; then
  interpnet demo --workdir "$work" --quiet > "$out/demo.txt.tmp"
  mv "$out/demo.txt.tmp" "$out/demo.txt"
fi
run=$(ls -d "$work"/runs/*/ | head -1)
for n in 0 3; do
  if [ ! -f "$out/evaluate-ngram$n.json" ]; then
    interpnet evaluate "$run" --no-repeat-ngram "$n" --no-human --quiet > "$out/evaluate-ngram$n.txt"
    python - "$run" "$n" "$out/evaluate-ngram$n.json" <<'EOF'
import json, sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, ".")
from benchmarks.faithful.probe_ngram import repeat_shares, repeats

run, n, out = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
metrics = json.loads((run / "metrics.json").read_text())["explanations"]
records = [json.loads(x) for x in (run / "explanations/test.jsonl").read_text().splitlines()]
common = Counter(r["explanation"] for r in records).most_common(10)
result = {
    "no_repeat_ngram": n,
    "METEOR": metrics["standard"].get("METEOR"),
    "CIDEr-D": metrics["standard"].get("CIDEr-D"),
    "distinct_share": metrics["specificity"]["distinct_share"],
    "fidelity": metrics["fidelity"],
    "R@5": metrics["self_retrieval"]["R@5"],
    "repeats": repeat_shares(run, "test"),
    "most_frequent": [[s, c, repeats(s, 2)] for s, c in common],
}
out.write_text(json.dumps(result, indent=1) + "\n")
EOF
  fi
done
interpnet report "$run" --attribute 4 --quiet --out "$work/report-test.html" > /dev/null
python - "$out/demo.txt" <<'EOF'
import sys
sys.path.insert(0, ".")
from benchmarks.faithful.probe_ngram import repeats

lines = [x.split("explanation:", 1)[1] for x in open(sys.argv[1]) if "explanation:" in x]
print(f"demo: {len(lines)} printed explanations, {sum(repeats(s, 2) for s in lines)} repeat a bigram")
EOF
