"""What per-word attribution shows over a whole split (not picked examples): for every word of
every explanation of the split, the share of its log-probability that integrated gradients
attribute to each part of r(x), grouped by whether the classifier got the image right and by
the kind of word (colour words, other content words, function words).

Resumable: the split is attributed in chunks of images, each chunk's sums saved under
WORK/<name>/; a finished chunk is skipped. The explanations are the run's
explanations/<split>.jsonl (written by `interpnet evaluate`).

Usage (repository root, venv active):
  python benchmarks/report/attribution.py RUN_DIR WORK NAME [--split test] [--limit N]
writes benchmarks/report/results/attribution-NAME.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from interpnet.attribution import WordAttributor
from interpnet.workflows.explain import align_records, read_jsonl
from interpnet.workflows.run import Run

RESULTS = Path(__file__).parent / "results"
COLOURS = set(
    "red blue yellow white purple pink orange green black brown grey gray violet lavender "
    "maroon magenta crimson lilac cream tan gold golden silver dark light bright pale "
    "burgundy rose peach beige indigo navy olive scarlet".split()
)
FUNCTION = set(
    "a an the and has have having with this that these is are of in on its it which as at to "
    "very there from or but be by".split()
)
CHUNK = 128


def kind(word: str) -> str:
    if word in COLOURS:
        return "colour"
    if word in FUNCTION:
        return "function"
    return "content" if any(c.isalpha() for c in word) else "punctuation"


def _group(parts: int) -> dict:
    """Empty sums of one group of words."""
    return {
        "words": 0,
        "abs_share": [0.0] * parts,
        "signed_share": [0.0] * parts,
        "top": [0] * parts,
        "delta": 0.0,
        "max_completeness_error": 0.0,
    }


def chunk_sums(model, attributor, x, sentences, wrong) -> dict:
    """Sums over the words of one chunk, per (correct|wrong, kind of word)."""
    out: dict = {}
    for a, w in zip(attributor.attribute(x, sentences), wrong, strict=True):
        shares = a.shares
        for t, tok in enumerate(a.tokens):
            key = f"{'wrong' if w else 'correct'}/{kind(tok)}"
            g = out.setdefault(key, _group(len(a.parts)))
            g["words"] += 1
            for j in range(len(a.parts)):
                g["abs_share"][j] += abs(float(shares[t, j]))
                g["signed_share"][j] += float(shares[t, j])
            g["top"][int(shares[t].abs().argmax())] += 1
            g["delta"] += float(a.delta[t])
            g["max_completeness_error"] = max(
                g["max_completeness_error"], float(a.completeness_error[t])
            )
        out.setdefault("_parts", a.parts)
    return out


def merge(chunks: list[dict]) -> dict:
    parts = next(c["_parts"] for c in chunks if "_parts" in c)
    total: dict = {}
    for c in chunks:
        for key, g in c.items():
            if key == "_parts":
                continue
            t = total.setdefault(key, _group(len(parts)))
            t["words"] += g["words"]
            for j in range(len(parts)):
                t["abs_share"][j] += g["abs_share"][j]
                t["signed_share"][j] += g["signed_share"][j]
                t["top"][j] += g["top"][j]
            t["delta"] += g["delta"]
            t["max_completeness_error"] = max(
                t["max_completeness_error"], g["max_completeness_error"]
            )
    groups = {}
    for key, t in sorted(total.items()):
        n = max(t["words"], 1)
        groups[key] = {
            "words": t["words"],
            "mean_abs_share": dict(zip(parts, [v / n for v in t["abs_share"]], strict=True)),
            "mean_signed_share": dict(zip(parts, [v / n for v in t["signed_share"]], strict=True)),
            "top_part_share": dict(zip(parts, [v / n for v in t["top"]], strict=True)),
            "mean_delta_nats": t["delta"] / n,
            "max_completeness_error": t["max_completeness_error"],
        }
    return {"parts": parts, "groups": groups}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_dir", type=Path)
    p.add_argument("work", type=Path)
    p.add_argument("name")
    p.add_argument("--split", default="test")
    p.add_argument("--limit", type=int, default=0, help="first N images only (0: all)")
    p.add_argument("--steps", type=int, default=32)
    args = p.parse_args(argv)
    opened = Run(args.run_dir, progress=False)
    run, model = opened.directory, opened.model
    examples = opened.examples(args.split)
    records = align_records(read_jsonl(run.explanations(args.split)), examples, "explanations")
    data = opened.split(args.split)
    n = min(len(examples), args.limit) if args.limit else len(examples)
    attributor = WordAttributor(model, n_steps=args.steps, heatmap_layer=None)
    work = args.work / args.name
    work.mkdir(parents=True, exist_ok=True)
    start = time.time()
    chunks = []
    for s in range(0, n, CHUNK):
        path = work / f"chunk-{s:06d}.json"
        if not path.is_file():
            idx = torch.arange(s, min(s + CHUNK, n))
            t = time.time()
            sums = chunk_sums(
                model,
                attributor,
                data.batch(idx),
                [records[i]["explanation"] for i in idx.tolist()],
                [records[i]["label"] != examples[i].label for i in idx.tolist()],
            )
            sums["_seconds"] = round(time.time() - t, 1)
            path.write_text(json.dumps(sums))
            print(f"[{time.strftime('%H:%M:%S')}] images {s}-{int(idx[-1])} in {sums['_seconds']}s")
        chunks.append({k: v for k, v in json.loads(path.read_text()).items() if k != "_seconds"})
    seconds = sum(
        json.loads((work / f"chunk-{s:06d}.json").read_text())["_seconds"]
        for s in range(0, n, CHUNK)
    )
    result = {
        "run": str(run.path),
        "variant": model.conditioning.name,
        "split": args.split,
        "images": n,
        "of_images": len(examples),
        "wrong_images": sum(records[i]["label"] != examples[i].label for i in range(n)),
        "n_steps": args.steps,
        "attribution_seconds": seconds,
        "this_call_seconds": round(time.time() - start, 1),
        **merge(chunks),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"attribution-{args.name}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
