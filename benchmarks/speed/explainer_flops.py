"""The explainer phase's speed at the paper's sizes (embed 256, LSTMs 512, fusion 512, batch
32) on Flowers' shapes (r(x) of 2,182 entries, a 1,269-word vocabulary, the lengths of the
training references, at most 30 words): sentences/s and achieved FLOP/s of full training steps
(forward, backward, Adam), as a fraction of this machine's float32 matrix-multiply peak
measured in the same run; random batches against length-bucketed ones
(interpnet.training.batching.length_buckets). Writes results/explainer-flops.json.

Usage (repository root, venv active): python benchmarks/speed/explainer_flops.py FLOWERS_ROOT
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

from interpnet.data.layouts import open_layout
from interpnet.model import LRCNExplainer
from interpnet.model.explainer import sentence_loss
from interpnet.text import tokenize
from interpnet.training.batching import length_buckets
from interpnet.training.optim_state import adam

E, H, F, C, V, B, MAX_LEN = 256, 512, 512, 2182, 1269, 32, 30
OUT = Path(__file__).parent / "results" / "explainer-flops.json"


def matmul_peak(n: int = 2048, reps: int = 10) -> float:
    """Best float32 FLOP/s of an n x n matrix product over ``reps`` tries (after a warm-up)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best


def step_flops(batch: int, steps: int) -> float:
    """Multiply-add FLOPs of one training step (forward x 3 for forward + backward) on a
    batch of ``batch`` sentences padded to ``steps`` positions: both LSTMs (4 gates over input
    and recurrent weights), the word half of the fusion layer and the output layer at every
    position; the conditioning half once per sentence."""
    per_token = 8 * H * (E + H) + 2 * H * F + 8 * H * (F + H) + 2 * H * V
    return 3 * (batch * steps * per_token + batch * 2 * C * F)


def run(lengths: torch.Tensor, bucketed: bool, seconds: float = 60.0) -> dict:
    torch.manual_seed(0)
    model = LRCNExplainer(V, C, E, H, F, dropout=0.2)
    opt = adam(torch.optim.Adam, model.parameters(), lr=5e-4)  # the trainer's optimizer
    gen = torch.Generator().manual_seed(0)
    order = torch.randperm(len(lengths), generator=gen)
    batches = length_buckets(order, lengths, B, gen) if bucketed else list(order.split(B))
    r = torch.randn(B, C)
    done = sentences = real_tokens = padded_tokens = 0
    flops = 0.0
    start = time.perf_counter()
    for i, idx in enumerate(batches):
        if i == 2:  # two warm-up steps
            start, done, sentences, real_tokens, padded_tokens, flops = (
                time.perf_counter(),
                0,
                0,
                0,
                0,
                0.0,
            )
        lens = lengths[idx]
        t = int(lens.max())
        tokens = torch.randint(3, V, (len(idx), t), generator=gen)
        tokens[torch.arange(t)[None, :] >= lens[:, None]] = 0
        inputs = torch.cat([torch.ones(len(idx), 1, dtype=torch.long), tokens[:, :-1]], 1)
        loss = sentence_loss(model(inputs, r[: len(idx)]), tokens)
        opt.zero_grad()
        loss.backward()
        opt.step()
        done += 1
        sentences += len(idx)
        real_tokens += int(lens.sum())
        padded_tokens += len(idx) * t
        flops += step_flops(len(idx), t)
        if i >= 2 and time.perf_counter() - start > seconds:
            break
    elapsed = time.perf_counter() - start
    return {
        "batches": done,
        "seconds": round(elapsed, 2),
        "sentences_per_s": round(sentences / elapsed, 1),
        "padding_overhead": round(padded_tokens / real_tokens, 3),
        "achieved_flops": flops / elapsed,
        "useful_flops": flops / elapsed * real_tokens / padded_tokens,
    }


def main(root: str) -> int:
    layout = open_layout(root, "flowers")
    lengths = torch.tensor(
        [
            min(len(tokenize(s)), MAX_LEN) + 1  # + <eos>
            for e in layout.split("train")
            for s in e.sentences
        ]
    )
    peak = matmul_peak()
    result = {
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "sizes": {"embed": E, "hidden": H, "fusion": F, "cond": C, "vocab": V, "batch": B},
        "matmul_peak_flops": peak,
        "sentences": len(lengths),
    }
    for name, bucketed in (("random batches", False), ("length-bucketed", True)):
        r = run(lengths, bucketed)
        r["fraction_of_peak"] = round(r["achieved_flops"] / peak, 3)
        r["useful_fraction_of_peak"] = round(r["useful_flops"] / peak, 3)
        result[name] = r
        print(name, json.dumps(r), flush=True)
    result["matmul_peak_after"] = after = matmul_peak()
    best = max(peak, after)  # the fractions against the higher of the two measurements
    for name in ("random batches", "length-bucketed"):
        r = result[name]
        r["fraction_of_best_peak"] = round(r["achieved_flops"] / best, 3)
        r["useful_fraction_of_best_peak"] = round(r["useful_flops"] / best, 3)
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
