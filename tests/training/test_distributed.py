"""Distributed training and feature extraction: two CPU processes (gloo) under torchrun give
what one process gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from interpnet.cli.main import main
from interpnet.distributed import Distributed
from interpnet.storage import load_tensors
from tests.helpers import tiny_flags

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    not torch.distributed.is_available(), reason="torch.distributed is not built in"
)


def test_shards_split_a_batch_and_weigh_the_losses_to_its_mean():
    index = torch.tensor([7, 3, 9, 1, 5])
    first, second = Distributed(0, 2), Distributed(1, 2)
    pos0, own0, w0 = first.shard(index)
    pos1, own1, w1 = second.shard(index)
    assert own0.tolist() == [7, 3, 9] and own1.tolist() == [1, 5]
    assert torch.equal(torch.cat([pos0, pos1]), torch.arange(5))
    # DDP averages the ranks' gradients: (w0 * mean0 + w1 * mean1) / 2 = the batch mean
    losses = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
    assert (w0 * losses[pos0].mean() + w1 * losses[pos1].mean()) / 2 == pytest.approx(3.0)
    pos, own, weight = Distributed(3, 4).shard(torch.tensor([4, 2]))  # more ranks than items
    assert len(own) == 1 and weight == 0.0
    assert Distributed().shard(index)[1] is index and Distributed().shard(index)[2] == 1.0
    assert torch.cat([Distributed(r, 3).part(7) for r in range(3)]).tolist() == list(range(7))


def _torchrun(args: list[str], nproc: int = 2) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        "-m",
        "interpnet",
        *args,
    ]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def _log(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "train_log.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_two_processes_train_the_model_one_process_trains(tiny_birds, tmp_path):
    flags = [
        "--data-root",
        str(tiny_birds),
        "--classifier",
        "tests.user_models:make_mlp",
        "--variant",
        "custom",
        "--layers",
        "3",
        "--include-softmax",
        "--recipe",
        "paper",
        *tiny_flags(
            dropout=0.0,
            classifier_epochs=2,
            explainer_epochs=2,
            discriminative_epochs=1,
            batch_size=5,  # 24 training images: uneven shards, a short last batch
            explainer_batch_size=7,
            discriminative_batch_size=5,
        ),
        "--rewards",
        "class-predicted=1",
        "cider=0.5",
    ]
    one, two = tmp_path / "one", tmp_path / "two"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same kernels as each torchrun process's
    try:
        assert main(["train", "--out", str(one), *flags]) == 0
    finally:
        torch.set_num_threads(threads)
    done = _torchrun(["train", "--out", str(two), *flags])
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("training done") == 1  # rank 0 alone reports
    a, b = load_tensors(one / "model.safetensors"), load_tensors(two / "model.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        assert torch.allclose(a[name], b[name], atol=2e-5, rtol=1e-4), name
    log1, log2 = _log(one), _log(two)
    assert [(r["phase"], r["epoch"]) for r in log1] == [(r["phase"], r["epoch"]) for r in log2]
    for r1, r2 in zip(log1, log2, strict=True):  # validation summed over the ranks
        for key in ("train_loss", "val_loss", "val_acc", "val_reward"):
            if key in r1:
                assert r2[key] == pytest.approx(r1[key], rel=1e-4, abs=1e-5), key
    assert sorted(p.name for p in one.iterdir()) == sorted(p.name for p in two.iterdir())
    # the discriminative phase alone, on a copy of each run
    tune = ["--discriminative-epochs", "1", "--rewards", "cider=1", "--quiet", "--trust-code"]
    torch.set_num_threads(1)
    try:
        assert main(["finetune", str(one), "--out", str(tmp_path / "one-ft"), *tune]) == 0
    finally:
        torch.set_num_threads(threads)
    done = _torchrun(["finetune", str(two), "--out", str(tmp_path / "two-ft"), *tune])
    assert done.returncode == 0, done.stderr[-3000:]
    a = load_tensors(tmp_path / "one-ft" / "model.safetensors")
    b = load_tensors(tmp_path / "two-ft" / "model.safetensors")
    assert all(torch.allclose(a[k], b[k], atol=2e-5, rtol=1e-4) for k in a)
    tuned = _log(tmp_path / "two-ft")  # its own phase 3 replaces the source's in the log
    assert tuned[:-1] == _log(two)[:-1] and "val_cider" in tuned[-1]
    assert _log(tmp_path / "one-ft")[-1]["val_reward"] == pytest.approx(tuned[-1]["val_reward"])


@pytest.mark.slow
def test_two_processes_share_the_feature_extraction_into_one_cache(tiny_birds, tmp_path):
    flags = ["synthbirds", "--root", str(tiny_birds), "--chunk-size", "8", "--batch-size", "4"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(["features", *flags, "--out", str(tmp_path / "one"), "--quiet"]) == 0
    finally:
        torch.set_num_threads(threads)
    done = _torchrun(["features", *flags, "--out", str(tmp_path / "two"), "--quiet"])
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("48 images, 1280-d") == 1  # rank 0 alone reports
    (one,), (two,) = (list((tmp_path / d).iterdir()) for d in ("one", "two"))
    assert one.name == two.name  # the same key: backbone, preprocessing, image list
    meta = json.loads((two / "meta.json").read_text())
    assert meta == json.loads((one / "meta.json").read_text()) and meta["complete"]
    assert meta["chunks"] == 6  # three for each rank
    for c in range(6):
        a = load_tensors(one / "chunks" / f"{c:05d}.safetensors")
        b = load_tensors(two / "chunks" / f"{c:05d}.safetensors")
        assert a.keys() == b.keys()
        assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)
    # a finished cache is reused by every rank
    again = _torchrun(["features", *flags, "--out", str(tmp_path / "two"), "--quiet"])
    assert again.returncode == 0 and "reused" in again.stdout


@pytest.mark.slow
def test_a_run_interrupted_in_one_process_resumes_in_two(tiny_birds, tmp_path):
    from interpnet.workflows.train import configured_trainer
    from tests.helpers import StopAt, tiny_config

    options = dict(
        classifier="tests.user_models:make_mlp",
        variant="custom",
        layers=["3"],
        include_softmax=True,
        recipe="paper",
        dropout=0.0,
        classifier_epochs=2,
        explainer_epochs=3,
        explainer_batch_size=7,
    )
    whole, cut = tmp_path / "whole", tmp_path / "cut"

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        quiet = {"progress": False, "log": lambda _: None}
        configured_trainer(tiny_config(tiny_birds, **options), whole, **quiet).fit()
        trainer = configured_trainer(
            tiny_config(tiny_birds, **options), cut, callbacks=[StopAt("explainer", 1)], **quiet
        )
        with pytest.raises(KeyboardInterrupt):
            trainer.fit()
    finally:
        torch.set_num_threads(threads)
    assert [(r["phase"], r["epoch"]) for r in _log(cut)][-1] == ("explainer", 1)
    done = _torchrun(["train", "--resume", str(cut), "--quiet", "--trust-code"])
    assert done.returncode == 0, done.stderr[-3000:]
    a, b = load_tensors(whole / "model.safetensors"), load_tensors(cut / "model.safetensors")
    assert all(torch.allclose(a[k], b[k], atol=2e-5, rtol=1e-4) for k in a)
    assert [(r["phase"], r["epoch"]) for r in _log(cut)] == [
        (r["phase"], r["epoch"]) for r in _log(whole)
    ]
