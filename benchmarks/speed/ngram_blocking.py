"""Timing check, run by hand (not a test): greedy decoding of 6,000 inputs on the CPU with
n-gram blocking off (0) and on (3), by an explainer of the default size (random weights made
peaky, ``<eos>`` never likely, so every sentence runs to 30 words and repeats itself: the
blocking's worst case), in batches of 256 as ``InterpNet.explain`` decodes.

Usage (repository root, venv active): python benchmarks/speed/ngram_blocking.py [INPUTS]
"""

from __future__ import annotations

import sys
import time

import torch

from interpnet.decoding import greedy_decode
from interpnet.model import LRCNExplainer

VOCAB, COND, BOS, EOS = 1500, 512, 1, 2


def repeats(ids: torch.Tensor, n: int) -> int:
    """Sentences of ``ids`` (N, L) holding some n-gram twice."""
    out = 0
    for row in ids.tolist():
        grams = [tuple(row[i : i + n]) for i in range(len(row) - n + 1) if 0 not in row[i : i + n]]
        out += len(grams) != len(set(grams))
    return out


def main(inputs: int = 6000) -> None:
    torch.manual_seed(0)
    ex = LRCNExplainer(VOCAB, COND).eval()
    with torch.no_grad():
        ex.out.weight.mul_(4.0)
        ex.out.bias[EOS] -= 20.0
    cond = ex.condition(torch.randn(inputs, COND))
    greedy_decode(ex, cond[:256], BOS, EOS, 30, 3)  # warm-up
    best = {0: float("inf"), 3: float("inf")}
    for n in (0, 3) * 3:  # alternated, the best of three each: a shared machine is noisy
        start, out = time.perf_counter(), []
        for part in cond.split(256):
            out.append(greedy_decode(ex, part, BOS, EOS, 30, n)[0])
        seconds = time.perf_counter() - start
        best[n] = min(best[n], seconds)
        ids = torch.cat(out)
        print(
            f"no_repeat_ngram={n}: {seconds:.2f} s for {inputs} inputs "
            f"({torch.get_num_threads()} threads), length {ids.shape[1]}, "
            f"with a repeated 3-gram: {repeats(ids, 3)}"
        )
    print(f"best of three: off {best[0]:.2f} s, on {best[3]:.2f} s: x{best[3] / best[0]:.2f}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
