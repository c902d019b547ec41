"""The golden run: a seeded tiny SynthBirds run made through the CLI with all three training
phases, decoded greedy, beam, sample + rerank and retrieve, then evaluated. ``hashes`` gives
the SHA-256 of every file it writes that a behaviour change would alter (weights, vocabulary,
explanations, metrics); ``tests/golden.json`` pins them.

Re-pin (only when a change of behaviour is intended, and say why in the commit):
``python -m tests.golden --bless``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
PINNED = HERE / "golden.json"

# the options of tests/conftest.py's TINY_MODEL, written out here so that the golden run never
# changes when a shared fixture does
MODEL = [
    "--image-size", "32", "--cnn-channels", "8", "16", "--hidden-sizes", "16", "12",
    "--embed-dim", "8", "--hidden-dim", "16", "--fusion-dim", "16", "--label-embed-dim", "4",
    "--min-count", "1", "--classifier-epochs", "2", "--explainer-epochs", "2",
    "--batch-size", "8", "--explainer-batch-size", "32", "--max-length", "20",
    "--device", "cpu", "--quiet",
]  # fmt: skip
PHASE3 = [
    "--discriminative-epochs", "1", "--rewards", "cider=1", "class-predicted=0.5",
    "--num-samples", "3", "--swap-fraction", "0.25",
]  # fmt: skip
DECODES = {
    "greedy": [],
    "beam": ["--decode", "beam", "--beam-width", "3"],
    "sample-rerank": ["--decode", "sample", "--num-samples", "4", "--rerank", "class"],
    "retrieve": ["--decode", "retrieve"],
}
# evaluation without the parts that take long or depend on more than the run (human agreement,
# self-retrieval's pretrained backbone); Java's METEOR and PTB tokenizer stay in
EVALUATE = ["--no-human", "--no-retrieval", "--quiet"]


def _sha(path: Path, work: Path) -> str:
    """SHA-256 of the file, with the work folder's path (in configs and metrics) made neutral."""
    data = path.read_bytes().replace(str(work).encode(), b"<work>")
    if path.name == "metrics.json":  # all but the wall-clock time evaluation took
        metrics = json.loads(data)
        metrics.pop("seconds")
        data = json.dumps(metrics, sort_keys=True).encode()
    return hashlib.sha256(data).hexdigest()


def make(work: Path) -> Path:
    """Make the golden run in ``work`` (new or empty) through the CLI; returns the run dir."""
    from interpnet.cli.main import main

    def run(*argv: str) -> None:
        code = main(list(argv))
        if code != 0:
            raise RuntimeError(f"interpnet {' '.join(argv)} exited with {code}")

    data, run_dir = work / "birds", work / "run"
    run("data", "synthbirds", "--out", str(data), "--species", "6", "--images-per-species", "8",
        "--image-size", "32", "--seed", "3", "--val-fraction", "0.25", "--test-fraction", "0.25",
        "--quiet")  # fmt: skip
    run("train", "--data-root", str(data), "--out", str(run_dir), "--seed", "5", *MODEL, *PHASE3)
    for name, flags in DECODES.items():
        out = work / f"explain-{name}.jsonl"
        run("explain", str(run_dir), "--split", "test", "--output", str(out), "--quiet", *flags)
    run("evaluate", str(run_dir), *EVALUATE)
    return run_dir


def hashes(work: Path) -> dict[str, str]:
    """The golden run's files, by name relative to ``work``, with their SHA-256 (made on one CPU
    thread: the sums of a matrix product depend on how many threads share it)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run_dir = make(work)
    finally:
        torch.set_num_threads(threads)
    files = [p for p in sorted(run_dir.rglob("*")) if p.is_file() and _pinned(p.relative_to(work))]
    files += sorted(work.glob("explain-*.jsonl"))
    return {str(p.relative_to(work)): _sha(p, work) for p in files}


def _pinned(rel: Path) -> bool:
    """Weights, vocabulary, config and what the run says; not logs that hold times or paths."""
    return rel.suffix in {".safetensors", ".json", ".jsonl", ".txt", ".csv"} and rel.name not in {
        "train_log.jsonl",
    }


def environment() -> dict[str, str]:
    """What the pinned hashes depend on beside the code: the torch build and the CPU's vector
    instructions its kernels use."""
    return {"torch": torch.__version__, "cpu": torch.backends.cpu.get_cpu_capability()}


if __name__ == "__main__":
    import tempfile

    if sys.argv[1:] != ["--bless"]:
        sys.exit("usage: python -m tests.golden --bless")
    with tempfile.TemporaryDirectory() as tmp:
        pinned = {"environment": environment(), "files": hashes(Path(tmp))}
    PINNED.write_text(json.dumps(pinned, indent=1, sort_keys=True) + "\n")
    print(f"pinned {len(pinned['files'])} files in {PINNED}")
