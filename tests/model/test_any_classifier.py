"""Explaining a classifier the user already has: the library Trainer, frozen classifiers,
classifiers loaded by name, resuming, and the run directory's contract."""

import json
import os
import stat
import sys
import types

import pytest
import torch
from safetensors.torch import save_file

import interpnet
from interpnet import Conditioning, ExplainerConfig, InterpNet, Trainer, TrainingArgs
from interpnet.cli.main import main
from interpnet.data.images import ImagePreprocessing
from interpnet.data.layouts import open_layout
from interpnet.errors import CheckpointError, ConfigError, DataError, InterpnetError
from interpnet.model.loading import load_classifier
from interpnet.storage import load_tensors
from interpnet.training import build_model
from interpnet.training.phases import ClassifierPhase, ExplainerPhase
from interpnet.workflows.train import resume_run
from tests.helpers import (
    TINY_FIT,
    fit_config,
    split_items,
    tiny_config,
    tiny_flags,
    vision_libraries,
)
from tests.user_models import UserCNN

PRE = ImagePreprocessing(32)
SPEC = {"kind": "image", "preprocessing": PRE.to_dict()}
COND = Conditioning("custom", layers=["features.4", "head.1"], include_softmax=True)
QUIET = dict(progress=False, log=lambda _: None)


def _items(root, split):
    return split_items(root, split, PRE)


@pytest.fixture(scope="module")
def data(tiny_birds):
    return {s: _items(tiny_birds, s) for s in ("train", "val", "test")}


def _user_cnn(seed=1):
    torch.manual_seed(seed)
    return UserCNN(6)


def _trainer(clf, data, run, conditioning=COND, **args):
    args = TrainingArgs(**{"explainer_epochs": 2, "min_count": 1, "device": "cpu", **args})
    explainer = ExplainerConfig(embed_dim=8, hidden_dim=16, fusion_dim=16)
    model = build_model(clf, data["train"], args, conditioning, explainer, input_spec=SPEC)
    return Trainer(model, args, data["train"], data["val"], run, **QUIET)


def test_frozen_user_classifier_stays_bit_identical(data, tmp_path):
    clf = _user_cnn()
    clf.train()  # left in training mode by its user: BatchNorm must not update anyway
    before = {k: v.clone() for k, v in clf.state_dict().items()}
    model = _trainer(clf, data, tmp_path / "run").fit()
    after = model.classifier.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)  # incl. BN running stats
    log = [json.loads(line) for line in (tmp_path / "run/train_log.jsonl").read_text().splitlines()]
    assert [(r["phase"], r["epoch"]) for r in log] == [("explainer", 1), ("explainer", 2)]
    x = torch.stack([x for x, _, _ in data["test"]])
    explanations = model.explain(x)
    assert len(explanations) == len(x) and all(e.sentence for e in explanations)
    # a classifier interpnet cannot rebuild is passed back on loading
    with pytest.raises(CheckpointError, match="pass classifier="):
        InterpNet.from_pretrained(tmp_path / "run")
    loaded = InterpNet.from_pretrained(tmp_path / "run", classifier=UserCNN(6))
    assert loaded.explain(x) == explanations


def test_resume_after_interruption_in_the_first_epoch(data, tmp_path, monkeypatch):
    full = _trainer(_user_cnn(), data, tmp_path / "full").fit().state_dict()
    real_epoch = ExplainerPhase.epoch

    def interrupted(self, optimizer, epoch):
        raise KeyboardInterrupt

    monkeypatch.setattr(ExplainerPhase, "epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _trainer(_user_cnn(), data, tmp_path / "cut").fit()
    assert (tmp_path / "cut/vocab.json").is_file() and (tmp_path / "cut/interpnet.json").is_file()
    with pytest.raises(InterpnetError, match="already holds a run"):
        _trainer(_user_cnn(), data, tmp_path / "cut").fit()
    monkeypatch.setattr(ExplainerPhase, "epoch", real_epoch)
    resumed = _trainer(_user_cnn(), data, tmp_path / "cut").fit(resume=True).state_dict()
    assert all(torch.equal(full[k], resumed[k]) for k in full)


def test_cli_run_interrupted_in_its_first_epoch_resumes(tiny_birds, tmp_path, monkeypatch):
    cfg = tiny_config(tiny_birds, classifier_epochs=1, explainer_epochs=1)
    full = fit_config(cfg, tmp_path / "full").state_dict()
    real_epoch = ClassifierPhase.epoch

    def interrupted(self, optimizer, epoch):
        raise KeyboardInterrupt

    monkeypatch.setattr(ClassifierPhase, "epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fit_config(cfg, tmp_path / "cut")
    monkeypatch.setattr(ClassifierPhase, "epoch", real_epoch)
    resumed = resume_run(tmp_path / "cut", **QUIET).state_dict()
    assert all(torch.equal(full[k], resumed[k]) for k in full)


def test_zero_classifier_epochs_and_frozen_runs_are_valid(tiny_birds, tmp_path):
    model = fit_config(tiny_config(tiny_birds, classifier_epochs=0), tmp_path / "zero")
    assert model.explain(torch.rand(2, 3, 32, 32))
    cfg = tiny_config(tiny_birds, freeze_classifier=True)
    frozen = fit_config(cfg, tmp_path / "frozen")
    log = (tmp_path / "frozen/train_log.jsonl").read_text()
    assert '"classifier"' not in log and frozen.explain(torch.rand(1, 3, 32, 32))


def test_run_files_follow_the_umask(data, tmp_path):
    old = os.umask(0o022)
    try:
        _trainer(_user_cnn(), data, tmp_path / "run", explainer_epochs=1).fit()
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    assert len(files) >= 7
    assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o644}


def test_fit_in_one_call_with_plain_lists(data, tmp_path):
    clf = _user_cnn()
    model = interpnet.fit(
        clf,
        data["train"],
        data["val"],
        tmp_path / "run",
        conditioning=COND,
        input_spec=SPEC,
        **TINY_FIT,
    )
    assert model.classifier is clf and len(model.explain(data["test"][0][0][None])) == 1
    with pytest.raises(ConfigError, match=r"unknown option\(s\) \['epochs'\]"):
        interpnet.fit(clf, data["train"], data["val"], tmp_path / "x", epochs=3)


def test_bad_data_and_options_are_clear_errors(data, tmp_path):
    bad = [(x, y + 10, s) for x, y, s in data["train"]]
    with pytest.raises(InterpnetError, match=r"train data has labels outside 0\.\.5"):
        _trainer(_user_cnn(), {"train": bad, "val": data["val"]}, tmp_path / "a").fit()
    with pytest.raises(DataError, match=r"train data item 0: expected \(input, label, sentences\)"):
        _trainer(_user_cnn(), {"train": [(1, 2)], "val": data["val"]}, tmp_path / "b").fit()
    with pytest.raises(DataError, match="val data item 0: no reference sentence"):
        _trainer(
            _user_cnn(),
            {"train": data["train"], "val": [(data["val"][0][0], 0, [])]},
            tmp_path / "c",
        ).fit()
    with pytest.raises(ConfigError, match="batch_size must be at least 1"):
        TrainingArgs(batch_size=0)
    with pytest.raises(ConfigError, match="unknown optimizer"):
        TrainingArgs(optimizer="sgd")


def test_load_classifier_by_factory_name_with_weights(tmp_path):
    clf = load_classifier("tests.user_models:make_cnn", num_classes=6)
    assert clf.interpnet_spec == {
        "type": "factory",
        "target": "tests.user_models:make_cnn",
        "kwargs": {"num_classes": 6},
    }
    save_file(clf.state_dict(), tmp_path / "w.safetensors")
    again = load_classifier("tests.user_models:make_cnn", tmp_path / "w.safetensors", num_classes=6)
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in clf.state_dict().items())
    save_file(UserCNN(3).state_dict(), tmp_path / "other.safetensors")
    with pytest.raises(CheckpointError, match="other.safetensors: weights do not fit"):
        load_classifier("tests.user_models:make_cnn", tmp_path / "other.safetensors", num_classes=6)
    with pytest.raises(CheckpointError, match=r"w\.pt: classifier weights not found"):
        load_classifier("tests.user_models:make_cnn", tmp_path / "w.pt", num_classes=6)
    with pytest.raises(ConfigError, match="cannot import 'no_such_pkg.models'"):
        load_classifier("no_such_pkg.models:net")
    with pytest.raises(ConfigError, match="has no 'nothing'"):
        load_classifier("tests.user_models:nothing")
    with pytest.raises(ConfigError, match="not a torch.nn.Module"):
        load_classifier("tests.user_models:not_a_module", num_classes=2)
    with pytest.raises(ConfigError, match="expected 'torchvision/<arch>'"):
        load_classifier("just_a_name")


def test_torchvision_names_go_through_get_model(monkeypatch):
    calls = []

    def get_model(arch, weights=None, **kwargs):
        calls.append((arch, weights, kwargs))
        return UserCNN(kwargs["num_classes"])

    listed = ["resnet18"]
    models = types.SimpleNamespace(get_model=get_model, list_models=lambda module=None: listed)
    fake = types.SimpleNamespace(models=models)
    monkeypatch.setitem(sys.modules, "torchvision", fake)
    clf = load_classifier("torchvision/resnet18", num_classes=4)
    assert calls == [("resnet18", None, {"num_classes": 4})]  # never downloads weights
    assert clf.interpnet_spec["type"] == "torchvision"
    with pytest.raises(ConfigError, match="torchvision has no classification model 'resnet9000'"):
        load_classifier("torchvision/resnet9000", num_classes=4)
    monkeypatch.setitem(sys.modules, "torchvision", None)  # not installed
    with pytest.raises(InterpnetError, match="needs a working torchvision"):
        load_classifier("torchvision/resnet18", num_classes=4)


@pytest.mark.vision
def test_real_torchvision_model_when_installed(data, tmp_path):
    vision_libraries()
    clf = load_classifier("torchvision/resnet18", num_classes=6)
    cond = Conditioning("custom", layers=["layer3", "avgpool"], include_softmax=True)
    model = _trainer(clf, data, tmp_path / "run", cond, explainer_epochs=1).fit()
    loaded = InterpNet.from_pretrained(tmp_path / "run")  # rebuilt from its recorded name
    x = data["test"][0][0][None]
    assert loaded.explain(x) == model.explain(x)


def test_cli_trains_explains_and_evaluates_a_user_classifier(tiny_birds, tmp_path, capsys):
    clf = _user_cnn()
    # a training checkpoint as users have them: torch.save of a DDP model's state dict
    state = {f"module.{k}": v for k, v in clf.state_dict().items()}
    torch.save({"epoch": 3, "state_dict": state}, tmp_path / "w.pth")
    run = tmp_path / "run"
    args = [
        "train",
        "--data-root",
        str(tiny_birds),
        "--out",
        str(run),
        "--classifier",
        "tests.user_models:make_cnn",
        "--classifier-weights",
        str(tmp_path / "w.pth"),
        "--freeze-classifier",
        "--variant",
        "custom",
        "--layers",
        "features.4",
        "head.1",
        "--include-softmax",
        *tiny_flags(explainer_epochs=1),
    ]
    assert main(args) == 0
    saved = load_tensors(run / "model.safetensors")
    assert all(torch.equal(v, saved[f"classifier.{k}"]) for k, v in clf.state_dict().items())
    image = open_layout(tiny_birds).split("test")[0].image_path
    capsys.readouterr()
    assert main(["explain", str(run), str(image), "--quiet"]) == 2  # consent first
    assert "names the classifier factory 'tests.user_models:make_cnn'" in capsys.readouterr().err
    assert main(["explain", str(run), str(image), "--quiet", "--trust-code"]) == 0
    line = capsys.readouterr().out.splitlines()[0].split("\t")
    assert line[0] == str(image)
    library = interpnet.explain_files(InterpNet.from_pretrained(run, trust_code=True), [image])[0]
    assert line[1:] == [
        library["class_name"],
        f"{library['probability']:.3f}",
        library["explanation"],
    ]
    assert main(["evaluate", str(run), "--no-java", "--no-human", "--quiet", "--trust-code"]) == 0
    assert (run / "metrics.json").is_file()
    # a factory that does not exist is an option error before any data is read
    bad = [a if a != "tests.user_models:make_cnn" else "tests.user_models:nope" for a in args]
    bad[bad.index(str(run))] = str(tmp_path / "run2")
    assert main(bad) == 2
    assert "has no 'nope'" in capsys.readouterr().err
