"""Consent before code: a run directory that names a ``package.module:factory`` classifier is
rebuilt only with ``trust_code=True`` / ``--trust-code``; crafted run directories run nothing."""

import json
import shutil
import sys

import pytest

from interpnet import InterpNet
from interpnet.cli.main import main
from interpnet.data.layouts import open_layout
from interpnet.errors import CheckpointError, ConfigError, UntrustedCodeError
from interpnet.model.loading import check_run_trust, rebuild_classifier
from interpnet.report.html import build_report
from interpnet.workflows.evaluate import evaluate_run
from interpnet.workflows.train import fine_tune_run, resume_run
from tests.helpers import fit_config, tiny_config

QUIET = dict(progress=False, log=lambda _: None)
# a module whose import, and whose factory's call, leave a file behind: the side effects that
# must not happen without consent
EVIL = """
import pathlib
pathlib.Path({imported!r}).write_text("imported")

def build(num_classes, **kwargs):
    pathlib.Path({called!r}).write_text("called")
    from tests.user_models import make_cnn
    return make_cnn(num_classes)
"""


@pytest.fixture(scope="module")
def factory_run(tiny_birds, tmp_path_factory):
    """A finished, evaluated run of a factory classifier (trusted: its author made it)."""
    cfg = tiny_config(
        tiny_birds,
        classifier="tests.user_models:make_cnn",
        freeze_classifier=True,
        variant="custom",
        layers=["features.4", "head.1"],
        include_softmax=True,
        explainer_epochs=1,
    )
    run = tmp_path_factory.mktemp("factory") / "run"
    fit_config(cfg, run)
    evaluate_run(
        run, use_java=False, human=False, retrieval=False, trust_code=True, device="cpu", **QUIET
    )
    return run


@pytest.fixture()
def crafted(factory_run, tmp_path, monkeypatch):
    """A copy of ``factory_run`` whose configs name ``evilmod:build``; returns (run, marks)."""
    marks = {"imported": tmp_path / "imported", "called": tmp_path / "called"}
    code = EVIL.format(**{k: str(v) for k, v in marks.items()})
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "evilmod.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path / "mods"))
    monkeypatch.delitem(sys.modules, "evilmod", raising=False)
    run = tmp_path / "run"
    shutil.copytree(factory_run, run)
    _rename_factory(run, "evilmod:build")
    return run, marks


def _rename_factory(run, target, kwargs=None):
    model = json.loads((run / "interpnet.json").read_text())
    model["classifier"] = {
        "type": "factory",
        "target": target,
        "kwargs": kwargs or {"num_classes": 6},
    }
    (run / "interpnet.json").write_text(json.dumps(model))
    train = json.loads((run / "train_config.json").read_text())
    train["classifier"] = target
    (run / "train_config.json").write_text(json.dumps(train))


def _untouched(marks):
    assert "evilmod" not in sys.modules
    assert not any(path.exists() for path in marks.values())


def _image(tiny_birds):
    return str(open_layout(tiny_birds).split("test")[0].image_path)


def _commands(run, tiny_birds, out):
    return {
        "explain": ["explain", str(run), _image(tiny_birds), "--quiet", "--device", "cpu"],
        "evaluate": ["evaluate", str(run), "--no-java", "--no-human", "--no-retrieval", "--quiet"],
        "report": ["report", str(run), "--attribute", "1", "--quiet", "--out", str(out / "r.html")],
        "finetune": [
            "finetune",
            str(run),
            "--out",
            str(out / "ft"),
            "--rewards",
            "class-true=1",
            "--discriminative-epochs",
            "1",
            "--quiet",
        ],
        "train --resume": ["train", "--resume", str(run), "--quiet"],
    }


@pytest.mark.parametrize("command", ["explain", "evaluate", "report", "finetune", "train --resume"])
def test_every_command_refuses_a_crafted_run_without_consent(
    crafted, tiny_birds, tmp_path, capsys, command
):
    run, marks = crafted
    before = {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert main(_commands(run, tiny_birds, tmp_path)[command]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "'evilmod:build'" in err and "--trust-code" in err and "trust_code" not in err
    _untouched(marks)
    assert not (tmp_path / "ft").exists() and not (tmp_path / "r.html").exists()
    assert {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


def test_the_api_refuses_without_consent_and_builds_with_it(crafted):
    run, marks = crafted
    for load in (
        lambda: InterpNet.from_pretrained(run),
        lambda: evaluate_run(run, use_java=False, human=False, retrieval=False, **QUIET),
        lambda: build_report([run], attribute=1, **QUIET),
        lambda: resume_run(run, **QUIET),
        lambda: fine_tune_run(run, run.parent / "ft", rewards={"class-true": 1.0}, **QUIET),
        lambda: check_run_trust(run, trust_code=False),
    ):
        with pytest.raises(UntrustedCodeError, match=r"'evilmod:build'.*trust_code=True"):
            load()
    _untouched(marks)
    model = InterpNet.from_pretrained(run, trust_code=True)  # consent: the code runs
    assert marks["imported"].is_file() and marks["called"].is_file()
    assert model.classifier.interpnet_spec["target"] == "evilmod:build"


def test_consent_lets_every_command_run(crafted, tiny_birds, tmp_path, capsys):
    run, marks = crafted
    commands = _commands(run, tiny_birds, tmp_path)
    for name in ("explain", "evaluate", "report"):
        assert main([*commands[name], "--trust-code"]) == 0, capsys.readouterr().err
    assert marks["called"].is_file() and (tmp_path / "r.html").is_file()


@pytest.mark.parametrize(
    "target, kwargs",
    [
        ("subprocess:call", {"args": ["touch", "MARK"]}),
        ("os:system", {"command": "touch MARK"}),
        ("no_such_module_anywhere:build", {}),
    ],
)
def test_crafted_factories_run_nothing(factory_run, tiny_birds, tmp_path, capsys, target, kwargs):
    run = tmp_path / "run"
    shutil.copytree(factory_run, run)
    mark = tmp_path / "MARK"
    kwargs = json.loads(json.dumps(kwargs).replace("MARK", str(mark)))
    _rename_factory(run, target, kwargs)
    for args in _commands(run, tiny_birds, tmp_path).values():
        assert main(args) == 2
        assert f"{target!r}" in capsys.readouterr().err
    with pytest.raises(UntrustedCodeError):
        InterpNet.from_pretrained(run)
    assert not mark.exists()
    if target.startswith("no_such"):  # with consent: a clean error, not a traceback
        with pytest.raises(CheckpointError, match="cannot import 'no_such_module_anywhere'"):
            InterpNet.from_pretrained(run, trust_code=True)


def test_a_config_file_naming_a_factory_needs_consent(tiny_birds, tmp_path, capsys):
    config = tmp_path / "shared.json"
    config.write_text(json.dumps({"data_root": str(tiny_birds), "classifier": "os:system"}))
    assert main(["train", "--config", str(config), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "shared.json names the classifier factory 'os:system'" in err and "--trust-code" in err
    assert not (tmp_path / "run").exists()


def test_library_names_need_no_consent_and_never_load_files():
    with pytest.raises(ConfigError, match=r"\['pretrained'\] would load weights"):
        rebuild_classifier({"type": "timm", "name": "resnet18", "kwargs": {"pretrained": True}})
    with pytest.raises(ConfigError, match=r"\['weights'\] would load weights"):
        rebuild_classifier(
            {"type": "torchvision", "arch": "resnet18", "kwargs": {"weights": "DEFAULT"}}
        )
    for key in ("pretrained_backbone", "checkpoint_path", "cache_dir", "pretrained_cfg_overlay"):
        with pytest.raises(ConfigError, match=rf"\['{key}'\] would load weights"):
            rebuild_classifier({"type": "timm", "name": "resnet18", "kwargs": {key: "x"}})
    with pytest.raises(UntrustedCodeError, match="the model config names"):
        rebuild_classifier({"type": "factory", "target": "os:system", "kwargs": {}})
