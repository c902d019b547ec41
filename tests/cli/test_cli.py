import json
import shutil
import subprocess
import sys
from dataclasses import fields

import pytest

from interpnet.cli.main import build_parser, main
from interpnet.errors import DataRootNotFound
from interpnet.options import help_of
from interpnet.training import TrainConfig
from interpnet.workflows.evaluate import evaluate_run

TINY_FLAGS = [
    "--image-size",
    "32",
    "--cnn-channels",
    "8",
    "16",
    "--hidden-sizes",
    "16",
    "12",
    "--embed-dim",
    "8",
    "--hidden-dim",
    "16",
    "--fusion-dim",
    "16",
    "--min-count",
    "1",
    "--classifier-epochs",
    "1",
    "--explainer-epochs",
    "1",
    "--device",
    "cpu",
    "--quiet",
]


@pytest.fixture(scope="module")
def trained_run(tiny_birds, tmp_path_factory):
    run = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", "--data-root", str(tiny_birds), "--out", str(run), *TINY_FLAGS]) == 0
    return run


def test_data_synthbirds_command(tmp_path, capsys):
    out = tmp_path / "sb"
    args = [
        "data",
        "synthbirds",
        "--out",
        str(out),
        "--species",
        "3",
        "--images-per-species",
        "4",
        "--image-size",
        "24",
        "--seed",
        "2",
        "--quiet",
    ]
    assert main(args) == 0
    assert "3 species, 12 images" in capsys.readouterr().out
    assert len((out / "CUB_200_2011" / "images.txt").read_text().splitlines()) == 12
    assert main(args) == 0  # the second run reuses the data
    assert "reusing" in capsys.readouterr().out


def test_train_then_explain_images_and_split(trained_run, tiny_birds, tmp_path, capsys):
    capsys.readouterr()
    img = next((tiny_birds / "CUB_200_2011" / "images").rglob("*.png"))
    out = tmp_path / "e.jsonl"
    assert main(["explain", str(trained_run), str(img), "--output", str(out), "--quiet"]) == 0
    line = capsys.readouterr().out.splitlines()[0].split("\t")
    assert line[0] == str(img) and len(line) == 4
    record = json.loads(out.read_text())
    assert record["explanation"] == line[3] and 0 <= record["probability"] <= 1
    assert (
        main(
            [
                "explain",
                str(trained_run),
                "--split",
                "test",
                "--beam-width",
                "2",
                "--output",
                str(tmp_path / "t.jsonl"),
                "--quiet",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "accuracy on test" in text
    records = [json.loads(x) for x in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert len(records) == 12 and all(len(r["references"]) == 10 for r in records)


def test_train_config_file_with_flag_override(tiny_birds, tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"data_root": str(tiny_birds), "variant": "captioning", "seed": 5}))
    run = tmp_path / "run"
    assert main(["train", "--config", str(cfg), "--out", str(run), "--seed", "6", *TINY_FLAGS]) == 0
    saved = TrainConfig.from_file(run / "train_config.json")
    assert (saved.variant, saved.seed, saved.classifier_epochs) == ("captioning", 6, 1)


def test_a_preset_then_a_config_file_in_sections_then_flags(tiny_birds, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[data]\ndata_root = "{tiny_birds}"\n'
        '[conditioning]\nvariant = "custom"\nlayers = ["backbone.blocks.1"]\npool = "max"\n'
        '[explainer]\nkind = "lrcn"\n[training]\nseed = 5\n'
    )
    run = tmp_path / "run"
    argv = ["train", "--preset", "paper", "--config", str(cfg), "--seed", "6", *TINY_FLAGS]
    assert main([*argv, "--out", str(run)]) == 0
    saved = TrainConfig.from_file(run / "train_config.json")
    assert (saved.recipe, saved.variant, saved.pool, saved.seed) == ("paper", "custom", "max", 6)
    assert (
        TrainConfig.preset("demo").hidden_dim == 256
        and TrainConfig.preset("paper").recipe == "paper"
    )


def test_errors_are_one_line_with_nonzero_exit(tmp_path, capsys, trained_run):
    assert main(["explain", str(tmp_path / "missing"), "x.png"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "run directory not found" in err
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG garbage")
    assert main(["explain", str(trained_run), str(bad), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "bad.png: cannot read image" in err and err.count("\n") == 0
    assert main(["train", "--resume", str(tmp_path / "none")]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    assert (
        main(["train", "--data-root", str(tmp_path / "nodata"), "--out", str(tmp_path / "r")]) == 2
    )
    assert "data root not found" in capsys.readouterr().err


def test_a_moved_data_root_names_the_run_config_and_the_fix(
    trained_run, tiny_birds, tmp_path, capsys
):
    """A run whose data moved: each command that reads the data root stored in the run's
    train_config.json says so and which flag gives the new one; a root the user gave gets the
    plain error; library errors name no flag."""
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    config = json.loads((run / "train_config.json").read_text())
    (run / "train_config.json").write_text(
        json.dumps({**config, "data_root": str(tmp_path / "gone")})
    )
    stored = f"{run / 'train_config.json'} names this data root"
    quiet = ["--no-human", "--no-java", "--no-retrieval", "--quiet"]
    tune = ["--out", str(tmp_path / "ft"), "--discriminative-epochs", "1", "--rewards", "cider=1"]
    image = str(next((tiny_birds / "CUB_200_2011" / "images").rglob("*.png")))
    bank = ["--decode", "contrastive", "--distractor", "class-mean", "--quiet"]
    for argv, fix in [
        (["evaluate", str(run), *quiet], "give the data's folder with --data-root"),
        (["finetune", str(run), *tune, "--quiet"], "give the data's folder with --data-root"),
        (["explain", str(run), "--split", "test", "--quiet"], "--split test reads the run's data"),
        (["explain", str(run), image, *bank], "--distractor class-mean reads the run's data"),
        (["train", "--resume", str(run)], "edit its data_root"),
    ]:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "gone: data root not found" in err, err
        assert stored in err and fix in err, err
    # explain without a data-reading option reads no data root
    assert main(["explain", str(run), image, "--quiet"]) == 0
    capsys.readouterr()
    # a root the user gave: the plain error, or for explain where it was read
    assert main(["evaluate", str(run), *quiet, "--data-root", str(tmp_path / "typo")]) == 2
    err = capsys.readouterr().err
    assert "typo: data root not found" in err and "names this data root" not in err
    assert main(["explain", str(run), image, *bank, "--data-root", str(tmp_path / "typo")]) == 2
    assert "(--distractor class-mean reads the run's data from --data-root)" in (
        capsys.readouterr().err
    )
    # the fix works: the new root for evaluate and finetune (which records it in its run)
    assert main(["evaluate", str(run), *quiet, "--data-root", str(tiny_birds)]) == 0
    assert main(["finetune", str(run), *tune, "--data-root", str(tiny_birds), "--quiet"]) == 0
    tuned = json.loads((tmp_path / "ft" / "train_config.json").read_text())
    assert tuned["data_root"] == str(tiny_birds)
    with pytest.raises(DataRootNotFound, match="data root not found") as info:
        evaluate_run(run, "test", human=False, use_java=False, retrieval=False, progress=False)
    assert "--" not in str(info.value)


def test_corrupt_checkpoint_from_cli(trained_run, tmp_path, capsys):
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in ("interpnet.json", "vocab.json"):
        (broken / f).write_bytes((trained_run / f).read_bytes())
    (broken / "model.safetensors").write_bytes(b"\0" * 64)
    assert main(["explain", str(broken), "x.png"]) == 2
    assert "model.safetensors: corrupt model weights" in capsys.readouterr().err


def test_every_command_has_help_for_every_option():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    names = set(sub.choices)
    assert {"demo", "data", "train", "explain"} <= names
    for name, p in sub.choices.items():
        for action in p._actions:
            if action.dest not in ("help", "dataset"):
                assert action.help, f"{name} {action.dest} has no help"
    # each train option's help is written once, where it is declared, and --help shows it
    train = sub.choices["train"].format_help()
    for f in fields(TrainConfig):
        assert help_of(f), f"{f.name} has no help"
        assert "--" + f.name.replace("_", "-") in train


def test_config_options_are_declared_once_in_their_sections():
    from interpnet.training.config import SECTIONS

    flat = [f.name for f in fields(TrainConfig)]
    assert len(flat) == len(set(flat))
    declared = {f.name for section in SECTIONS.values() for f in fields(section)}
    assert set(flat) - {"explainer", "explainer_options"} <= declared  # renamed: kind, options
    cfg = TrainConfig(variant="custom", layers=["a"], pool="max", explainer="lrcn", hidden_dim=7)
    assert cfg.conditioning().pool == "max" and cfg.explainer_config().hidden_dim == 7
    sections = cfg.sections()
    assert sections["conditioning"]["pool"] == "max" and sections["explainer"]["kind"] == "lrcn"
    assert TrainConfig.from_dict(sections) == cfg  # a config file in sections
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg  # flat, as train_config.json


def test_console_script_runs():
    result = subprocess.run(
        [sys.executable, "-m", "interpnet", "--help"], capture_output=True, text=True, check=True
    )
    assert "demo" in result.stdout and "explain" in result.stdout


def test_demo_end_to_end_on_a_tiny_configuration(tmp_path, monkeypatch, capsys):
    from interpnet.cli import demo_cmd
    from tests.helpers import TINY_DATA, TINY_MODEL

    monkeypatch.setattr(demo_cmd, "DEMO_DATA", TINY_DATA)
    tiny = {**TINY_MODEL, "classifier_epochs": 1, "explainer_epochs": 1}
    monkeypatch.setattr(demo_cmd, "DEMO_OVERRIDES", tiny)
    assert main(["demo", "--workdir", str(tmp_path), "--device", "cpu", "--quiet"]) == 0
    out = capsys.readouterr().out
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1
    summary = json.loads((runs[0] / "demo_summary.json").read_text())
    assert f"test accuracy {summary['test_accuracy']:.4f}" in out
    assert out.count("explanation:") == 10 and out.count("reference:") == 20
    records = (runs[0] / "explanations" / "test.jsonl").read_text().splitlines()
    assert len(records) == 12
    assert str(runs[0]) in out


def test_bad_options_fail_before_any_image_is_read(tiny_birds, tmp_path, capsys, monkeypatch):
    import interpnet.data.images as images

    def no_loading(*_a, **_k):
        raise AssertionError("images were loaded before the options were checked")

    monkeypatch.setattr(images, "load_images", no_loading)
    base = ["train", "--data-root", str(tiny_birds), "--out", str(tmp_path / "r"), *TINY_FLAGS]
    cases = [
        (["--num-hidden", "9"], "num_hidden 9 asks for more hidden layers"),
        (["--variant", "custom", "--layers", "head.nope"], "unknown layer name(s) ['head.nope']"),
        (["--hidden-sizes", "-3"], "hidden_sizes must be positive"),
        (["--classifier", "tests.user_models:nope"], "has no 'nope'"),
        (["--lr-decay", "0"], "lr_decay must be in (0, 1]"),
    ]
    for extra, message in cases:
        assert main([*base, *extra]) == 2, extra
        err = capsys.readouterr().err.strip()
        assert message in err and err.count("\n") == 0, (extra, err)
    assert not (tmp_path / "r").exists()  # nothing written by a failed start


def test_unwritable_output_and_undecodable_text_are_one_line_errors(tiny_birds, tmp_path, capsys):
    import shutil

    assert main(["data", "synthbirds", "--out", "/proc/forbidden/x", "--quiet"]) == 2
    assert "cannot create the output folder" in capsys.readouterr().err
    root = tmp_path / "copy"
    shutil.copytree(tiny_birds, root)
    text = next((root / "text_c10").rglob("*.txt"))
    text.write_bytes(b"\xff\xfe" + text.read_bytes())
    assert main(["train", "--data-root", str(root), "--out", str(tmp_path / "r"), *TINY_FLAGS]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{text}: not UTF-8 text" in err and err.count("\n") == 0
