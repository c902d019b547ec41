"""Classifier weights as users have them: safetensors, torch.save files (plain state dicts and
training checkpoints, DDP and torch.compile prefixes), read without running pickled code."""

import argparse
import os

import pytest
import torch
from safetensors.torch import save_file

from interpnet.cli.main import main
from interpnet.errors import CheckpointError
from interpnet.model.checkpoints import read_state_dict
from interpnet.model.loading import load_classifier
from tests.user_models import UserCNN

NAME = "tests.user_models:make_cnn"


@pytest.fixture()
def source():
    torch.manual_seed(5)
    return UserCNN(6)


def _same(model, reference):
    ref = reference.state_dict()
    return all(torch.equal(v, ref[k]) for k, v in model.state_dict().items())


def _prefixed(state, prefix):
    return {prefix + k: v for k, v in state.items()}


@pytest.mark.parametrize(
    "wrap, suffix",
    [
        (lambda s: s, ".pth"),
        (lambda s: {"epoch": 3, "state_dict": s, "best_acc": 0.5}, ".pt"),
        (lambda s: {"model_state_dict": s, "optimizer_state_dict": {"lr": 1e-3}}, ".pt"),
        (lambda s: {"model": s, "args": {"lr": 0.1, "name": "run"}}, ".bin"),
        (lambda s: {"ema": s, "epoch": 7}, ".pth"),
        (lambda s: {"state_dict": s, "args": argparse.Namespace(lr=0.1, model="cnn")}, ".pth"),
        (lambda s: _prefixed(s, "module."), ".pth"),  # DistributedDataParallel
        (lambda s: _prefixed(s, "_orig_mod."), ".pt"),  # torch.compile
        (lambda s: {"state_dict": _prefixed(s, "module._orig_mod.")}, ".pth"),
    ],
)
def test_torch_save_checkpoints_load(source, tmp_path, wrap, suffix):
    path = tmp_path / f"weights{suffix}"
    torch.save(wrap(source.state_dict()), path)
    model = load_classifier(NAME, path, num_classes=6)
    assert _same(model, source)


def test_safetensors_and_the_preferred_entry(source, tmp_path):
    save_file(source.state_dict(), tmp_path / "w.safetensors")
    assert _same(load_classifier(NAME, tmp_path / "w.safetensors", num_classes=6), source)
    other = UserCNN(6).state_dict()
    torch.save({"state_dict": source.state_dict(), "ema": other}, tmp_path / "both.pt")
    assert _same(load_classifier(NAME, tmp_path / "both.pt", num_classes=6), source)


class _Evil:
    """A pickle that runs a command when unpickled by an unrestricted loader."""

    def __init__(self, mark):
        self.mark = str(mark)

    def __reduce__(self):
        return (os.system, (f"touch {self.mark}",))


def test_pickled_code_and_whole_models_are_refused_without_running(source, tmp_path):
    mark = tmp_path / "ran"
    torch.save({"state_dict": source.state_dict(), "hook": _Evil(mark)}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match=r"evil\.pt: holds pickled Python objects"):
        read_state_dict(tmp_path / "evil.pt")
    assert not mark.exists()
    torch.save(source, tmp_path / "whole.pth")  # torch.save(model): a pickled class
    with pytest.raises(CheckpointError, match=r"UserCNN\), not only tensors.*state_dict\(\)"):
        read_state_dict(tmp_path / "whole.pth")


def test_bad_files_are_one_line_errors_naming_the_file(source, tmp_path):
    state = source.state_dict()
    cases = {
        "garbage.pt": b"not a checkpoint",
        "weights.ckpt": None,
        "numbers.pth": {"epoch": 3, "lr": 0.1},
    }
    (tmp_path / "garbage.pt").write_bytes(cases["garbage.pt"])
    torch.save(state, tmp_path / "weights.ckpt")
    torch.save(cases["numbers.pth"], tmp_path / "numbers.pth")
    expected = {
        "garbage.pt": "not a readable torch.save file",
        "weights.ckpt": r"unknown weights format '\.ckpt'",
        "numbers.pth": r"no state dict of tensors.*'state_dict'",
    }
    for name, message in expected.items():
        with pytest.raises(CheckpointError, match=rf"{name}: .*{message}"):
            load_classifier(NAME, tmp_path / name, num_classes=6)


def test_weights_of_another_architecture_list_the_keys(tmp_path):
    torch.save(UserCNN(3).state_dict(), tmp_path / "three.pth")
    with pytest.raises(CheckpointError, match=r"head\.3\.weight: shape \(3, 16\) in the file"):
        load_classifier(NAME, tmp_path / "three.pth", num_classes=6)
    renamed = {k.replace("features.", "body."): v for k, v in UserCNN(6).state_dict().items()}
    torch.save(renamed, tmp_path / "renamed.pth")
    with pytest.raises(CheckpointError, match=r"missing features\.0\.weight.*unexpected body\."):
        load_classifier(NAME, tmp_path / "renamed.pth", num_classes=6)


def test_cli_weights_error_is_one_line_with_exit_2(tiny_birds, tmp_path, capsys):
    torch.save(UserCNN(3).state_dict(), tmp_path / "three.pth")
    args = ["train", "--data-root", str(tiny_birds), "--out", str(tmp_path / "run")]
    args += ["--classifier", NAME, "--classifier-weights", str(tmp_path / "three.pth"), "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "three.pth: weights do not fit" in err


@pytest.mark.filterwarnings("ignore")  # torch.jit's deprecation warnings
def test_torchscript_and_old_torch_are_refused_with_the_fix(source, tmp_path, monkeypatch):
    torch.jit.save(torch.jit.trace(source.eval(), torch.rand(1, 3, 8, 8)), tmp_path / "ts.pt")
    with pytest.raises(CheckpointError, match=r"ts\.pt: a TorchScript archive.*state_dict\(\)"):
        read_state_dict(tmp_path / "ts.pt")
    torch.save(source.state_dict(), tmp_path / "w.pth")
    monkeypatch.setattr(torch, "__version__", "2.5.1")  # weights_only was not safe before 2.6
    with pytest.raises(CheckpointError, match=r"w\.pth: torch 2\.5\.1 cannot read.*2\.6"):
        read_state_dict(tmp_path / "w.pth")
