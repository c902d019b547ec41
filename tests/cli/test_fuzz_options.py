"""Random option values for each command end in success or the one-line error (exit 2), never
a traceback; and a failing command loses nothing already written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("hypothesis", reason="hypothesis not installed")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from interpnet.cli.main import main  # noqa: E402
from tests.cli.test_fuzz_files import QUIET  # noqa: E402, F401  (registers the "ci" profile)
from tests.helpers import fit_config, tiny_config, tiny_flags  # noqa: E402

NUMBERS = st.one_of(
    st.integers(-3, 6).map(str),
    st.sampled_from(["0", "-0.5", "0.3", "1.5", "nan", "inf", "1e9", "abc", ""]),
)
TRAIN_OPTIONS = [
    "--hidden-sizes",
    "--cnn-channels",
    "--num-hidden",
    "--embed-dim",
    "--hidden-dim",
    "--fusion-dim",
    "--dropout",
    "--classifier-dropout",
    "--classifier-input-dropout",
    "--min-count",
    "--max-length",
    "--classifier-epochs",
    "--explainer-epochs",
    "--batch-size",
    "--explainer-batch-size",
    "--lr-classifier",
    "--lr-explainer",
    "--weight-decay",
    "--label-smoothing",
    "--lr-decay",
    "--patience",
    "--label-embed-dim",
    "--image-size",
    "--val-fraction",
    "--test-fraction",
]


def _exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        return int(exc.code)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@settings(max_examples=15)
@given(options=st.dictionaries(st.sampled_from(TRAIN_OPTIONS), NUMBERS, max_size=3))
def test_train_options(tiny_birds, tmp_path_factory, options, capsys):
    out = tmp_path_factory.mktemp("opt") / "run"
    argv = [
        "train",
        "--data-root",
        str(tiny_birds),
        "--out",
        str(out),
        *tiny_flags(classifier_epochs=1, explainer_epochs=1),
    ]
    for flag, value in options.items():
        argv += [flag, value]
    assert _exit_code(argv) in (0, 2)
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err


@pytest.fixture(scope="module")
def run(tiny_birds, tmp_path_factory):
    path = tmp_path_factory.mktemp("opt") / "run"
    fit_config(tiny_config(tiny_birds, classifier_epochs=1, explainer_epochs=1), path)
    return path


@settings(max_examples=12)
@given(
    beam=NUMBERS,
    length=NUMBERS,
    penalty=NUMBERS,
    split=st.sampled_from(["train", "val", "test", "dev"]),
)
def test_explain_options(run, beam, length, penalty, split, capsys):
    argv = [
        "explain",
        str(run),
        "--split",
        split,
        "--beam-width",
        beam,
        "--max-length",
        length,
        "--length-penalty",
        penalty,
        "--quiet",
    ]
    assert _exit_code(argv) in (0, 2)
    assert "Traceback" not in capsys.readouterr().err


@settings(max_examples=12)
@given(
    values=st.fixed_dictionaries(
        {
            "--species": NUMBERS,
            "--images-per-species": NUMBERS,
            "--image-size": NUMBERS,
            "--val-fraction": NUMBERS,
            "--test-fraction": NUMBERS,
            "--occlusion-prob": NUMBERS,
        }
    )
)
def test_data_synthbirds_options(tmp_path_factory, values, capsys):
    argv = ["data", "synthbirds", "--out", str(tmp_path_factory.mktemp("sb") / "d"), "--quiet"]
    for flag, value in values.items():
        argv += [flag, value]
    assert _exit_code(argv) in (0, 2)
    assert "Traceback" not in capsys.readouterr().err


def test_failing_commands_lose_nothing(run, tiny_birds, tmp_path, capsys):
    """Each command, given bad input next to existing output, leaves every byte in place."""
    from interpnet.workflows.evaluate import evaluate_run

    evaluate_run(run, use_java=False, human=False, **QUIET)
    (run / "compare.csv").write_text("kept\n")
    before = _snapshot(run)
    bad_png = tmp_path / "bad.png"
    bad_png.write_bytes(b"\x89PNG broken")
    bad_jsonl = tmp_path / "bad.jsonl"
    bad_jsonl.write_text('{"key": 1}\n')
    moved = tmp_path / "moved"
    shutil.copytree(run, moved)
    cfg = json.loads((moved / "train_config.json").read_text())
    cfg["data_root"] = str(tmp_path / "gone")
    (moved / "train_config.json").write_text(json.dumps(cfg))
    moved_before = _snapshot(moved)
    commands = [
        ["train", "--data-root", str(tiny_birds), "--out", str(run), *tiny_flags()],
        ["train", "--resume", str(moved), "--quiet"],
        [
            "explain",
            str(run),
            str(bad_png),
            "--output",
            str(run / "explanations/test.jsonl"),
            "--quiet",
        ],
        ["evaluate", str(run), "--explanations", str(bad_jsonl), "--no-java", "--quiet"],
        ["compare", str(run), str(tmp_path), "--csv", str(run / "compare.csv")],
        ["data", "synthbirds", "--out", str(tiny_birds), "--species", "3", "--quiet"],
        ["demo", "--workdir", str(run.parent), "--device", "tpu", "--quiet"],
        [
            "train",
            "--data-root",
            str(tiny_birds),
            "--out",
            str(tmp_path / "fresh"),
            "--features",
            str(tmp_path / "cache"),
            "--variant",
            "custom",
            "--layers",
            "side.nope",
            "--quiet",
        ],
    ]
    data_before = _snapshot(tiny_birds)
    for argv in commands:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("interpnet: error:") and err.count("\n") == 0, (argv, err)
    assert _snapshot(run) == before
    assert not (tmp_path / "cache").exists() and not (tmp_path / "fresh").exists()
    assert _snapshot(moved) == moved_before
    assert _snapshot(tiny_birds) == data_before


def test_features_command_with_bad_layers_keeps_the_cache(tiny_birds, tmp_path, capsys):
    args = ["features", "synthbirds", "--root", str(tiny_birds), "--out", str(tmp_path), "--quiet"]
    assert main(args) == 0
    before = _snapshot(tmp_path)
    assert main([*args, "--layers", "_blocks.99"]) == 2
    assert "unknown layer name(s) ['_blocks.99']" in capsys.readouterr().err
    assert _snapshot(tmp_path) == before
