"""Probe: n-gram blocking (``Decoding(no_repeat_ngram=N)``), with and without, on the test split.

Trains (or reuses, in WORKDIR/runs) the runs of run.py at seed 0: InterpNET_2 and the best
configuration (InterpNET_2 + decision label, then phase 3 ``class-cider-crossfit-swap``), each
with the same options as run.py, so their training logs can be compared with run.py's
committed ones. Then evaluates each on test with greedy decoding (and the best configuration
with its val-chosen decoder, ``diverse10-class+retrieval``) at ``no_repeat_ngram`` 0 (as every
committed result) and 3 (the default of new explanations): caption metrics, distinct share,
fidelity, self-retrieval, and the share of explanations that repeat a phrase (any word
bigram or trigram twice). No choice is made from these numbers: the default was fixed before.

Resumable (results/probes/ngram-<dataset>/<step>.json). Usage (repository root, venv active):
  python -m benchmarks.faithful probe-ngram flowers WORKDIR [--steps PATTERN ...]
  python -m benchmarks.faithful probe-ngram synthbirds WORKDIR
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.faithful.run import LABEL_SET, OFF, PHASE3, RESULTS, REWARD_SETS, Bench
from interpnet.decoding import Decoding

BLOCK = {"no_repeat_ngram": 3}
DIVERSE = dict(method="diverse-beam", beam_width=10, groups=5, diversity=1.0)
DECODERS = {
    "greedy": Decoding(**OFF),
    "greedy-block3": Decoding(**BLOCK),
    "diverse10-class+retrieval": Decoding(**DIVERSE, rerank="class+retrieval", **OFF),
    "diverse10-class+retrieval-block3": Decoding(**DIVERSE, rerank="class+retrieval", **BLOCK),
}
BEST = f"disc-label-{LABEL_SET}-s0"


def repeats(sentence: str, n: int) -> bool:
    """Whether ``sentence`` holds a word n-gram twice (punctuation split off)."""
    words = sentence.replace(".", " .").replace(",", " ,").split()
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    return len(grams) != len(set(grams))


def repeat_shares(run: Path, split: str) -> dict[str, float]:
    """The share of ``run``'s explanations of ``split`` that repeat a bigram / a trigram."""
    path = run / "explanations" / f"{split}.jsonl"
    sentences = [json.loads(line)["explanation"] for line in path.read_text().splitlines()]
    n_sentences = len(sentences)
    return {f"repeat_{n}gram": sum(repeats(s, n) for s in sentences) / n_sentences for n in (2, 3)}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dataset", choices=("flowers", "synthbirds"))
    p.add_argument("work", type=Path)
    p.add_argument("--steps", nargs="*", default=[], help="only steps matching these patterns")
    args = p.parse_args(argv)
    out = RESULTS / "probes" / f"ngram-{args.dataset}"
    b = Bench(args.dataset, args.work.resolve(), args.steps, out=out, decoders=DECODERS)
    b.train("interpnet2-s0", variant="interpnet", seed=0)
    b.train("interpnet2-label-s0", variant="interpnet", decision_label=True, seed=0)
    b.finetune(BEST, "interpnet2-label-s0", **{**PHASE3, **REWARD_SETS[LABEL_SET]})
    plan = [(run, d) for run in ("interpnet2-s0", BEST) for d in ("greedy", "greedy-block3")]
    plan += [(BEST, d) for d in ("diverse10-class+retrieval", "diverse10-class+retrieval-block3")]
    for run, decoder in plan:
        step = out / f"eval-{run}-test-{decoder}.json"
        done = step.is_file()
        if b.evaluate(run, "test", decoder) is not None and not done:
            # the explanations that evaluation just wrote (the next one rewrites the file)
            result = json.loads(step.read_text())
            result["repeats"] = repeat_shares(b.run_dir(run), "test")
            step.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
