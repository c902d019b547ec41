"""The explainers' training speed with spatial r(x) (issue 35), at the paper's sizes (embed 256,
LSTMs / feed-forward 512, fusion / width 512, batch 32) on Flowers' shapes: r(x) is
EfficientNet-Lite0's 1280 x 7 x 7 map (the LRCN reads it average-pooled, the attention and
transformer explainers its 49 positions), the MLP's last hidden layer (300) and the softmax
(102); a 1,269-word vocabulary; the lengths of the training references (at most 30 words), in
random batches. Per explainer: sentences/s of full training steps (forward, backward, Adam) and
the FLOPs of each step, counted by ``torch.utils.flop_counter.FlopCounterMode`` (the LSTMs, which
it does not count, by hand: 8 H (I + H) per token and layer, x3 for the backward), as achieved
FLOP/s and a fraction of this machine's float32 matrix-multiply peak measured in the same run.
Writes results/explainer-flops-spatial.json.

Usage (repository root, venv active):
  python -m benchmarks.speed.explainer_flops_spatial FLOWERS_ROOT [SECONDS_PER_EXPLAINER]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.speed.explainer_flops import MAX_LEN, B, E, F, H, V, matmul_peak
from interpnet.data.layouts import open_layout
from interpnet.model.attention import AttentionExplainer
from interpnet.model.explainer import sentence_loss
from interpnet.model.lrcn import LRCNExplainer
from interpnet.model.transformer import TransformerExplainer
from interpnet.text import tokenize
from interpnet.training.optim_state import adam

OUT = Path(__file__).parent / "results" / "explainer-flops-spatial.json"
LAYOUT = [["side.map", [1280, 7, 7]], ["hidden.1", [300]], ["softmax", [102]]]
POOLED = 1280 + 300 + 102
SPATIAL = 1280 * 49 + 300 + 102


def build(kind: str) -> tuple[nn.Module, int]:
    """The explainer ``kind`` at the paper's sizes, and the width of its r(x)."""
    torch.manual_seed(0)
    sizes = dict(embed_dim=E, hidden_dim=H, fusion_dim=F, dropout=0.2)
    if kind == "lrcn":
        return LRCNExplainer(V, POOLED, **sizes), POOLED
    cls = AttentionExplainer if kind == "attention" else TransformerExplainer
    return cls(vocab_size=V, cond_dim=SPATIAL, layout=LAYOUT, **sizes), SPATIAL


def lstm_flops(model: nn.Module, tokens: int) -> float:
    """Forward and backward multiply-add FLOPs of the model's LSTMs over ``tokens`` tokens."""
    total = 0.0
    for m in model.modules():
        if isinstance(m, nn.LSTM):
            total += 8 * m.hidden_size * (m.input_size + m.hidden_size) * tokens
    return 3 * total


def step(model, opt, inputs, targets, r) -> None:
    logits = model(inputs, r)
    loss = sentence_loss(logits, targets)
    extra = model.auxiliary_loss((targets != 0).float())
    if extra is not None:
        loss = loss + extra
    opt.zero_grad()
    loss.backward()
    opt.step()


def run(kind: str, lengths: torch.Tensor, seconds: float) -> dict:
    model, width = build(kind)
    model.train()
    opt = adam(torch.optim.Adam, model.parameters(), lr=5e-4)  # the trainer's optimizer
    gen = torch.Generator().manual_seed(0)
    batches = list(torch.randperm(len(lengths), generator=gen).split(B))
    r = torch.randn(B, width)
    counted: dict[tuple[int, int], float] = {}
    done = sentences = 0
    flops = elapsed = 0.0
    for i, idx in enumerate(batches):
        lens = lengths[idx]
        t = int(lens.max())
        targets = torch.randint(3, V, (len(idx), t), generator=gen)
        targets[torch.arange(t)[None, :] >= lens[:, None]] = 0
        inputs = torch.cat([torch.ones(len(idx), 1, dtype=torch.long), targets[:, :-1]], 1)
        key = (len(idx), t)
        if key not in counted:  # counted on a copy of the step, untimed
            with FlopCounterMode(display=False) as counter:
                step(model, opt, inputs, targets, r[: len(idx)])
            counted[key] = counter.get_total_flops() + lstm_flops(model, len(idx) * t)
        start = time.perf_counter()
        step(model, opt, inputs, targets, r[: len(idx)])
        if i >= 2:  # two warm-up steps
            elapsed += time.perf_counter() - start
            done += 1
            sentences += len(idx)
            flops += counted[key]
        if elapsed > seconds:
            break
    return {
        "batches": done,
        "seconds": round(elapsed, 2),
        "sentences_per_s": round(sentences / elapsed, 1),
        "flops_per_sentence": flops / sentences,
        "achieved_flops": flops / elapsed,
        "parameters": sum(p.numel() for p in model.parameters()),
    }


def main(root: str, seconds: float = 30.0) -> int:
    layout = open_layout(root, "flowers")
    lengths = torch.tensor(
        [min(len(tokenize(s)), MAX_LEN) + 1 for e in layout.split("train") for s in e.sentences]
    )
    peak = matmul_peak()
    result = {
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "sizes": {"embed": E, "hidden": H, "fusion": F, "vocab": V, "batch": B},
        "layout": LAYOUT,
        "matmul_peak_flops": peak,
    }
    for kind in ("lrcn", "attention", "transformer"):
        r = run(kind, lengths, seconds)
        result[kind] = r
        print(kind, json.dumps(r), flush=True)
    best = max(peak, matmul_peak())
    result["matmul_peak_best"] = best
    for kind in ("lrcn", "attention", "transformer"):
        r = result[kind]
        r["fraction_of_peak"] = round(r["achieved_flops"] / best, 3)
        r["time_per_sentence_vs_lrcn"] = round(
            result["lrcn"]["sentences_per_s"] / r["sentences_per_s"], 2
        )
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], *(float(a) for a in sys.argv[2:3])))
