"""A full disk, a read-only file system or a missing permission while writing: one line and
exit 2 from the CLI, a :class:`WriteError` from the library, and nothing already written lost."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from PIL import Image

from interpnet.cli.main import main
from interpnet.errors import InterpnetError, WriteError
from interpnet.rundir import RunDirectory
from interpnet.storage import load_tensors, write_json
from tests.helpers import tiny_flags

NO_SPACE = "no space left on device"


def _oserror(code: int, filename: str | None = None) -> OSError:
    return OSError(code, os.strerror(code), *([filename] if filename else []))


def raising(code: int, filename: str | None = None):
    """A function that fails with ``code`` whatever it is called with."""

    def fail(*_args, **_kwargs):
        raise _oserror(code, filename)

    return fail


def full_disk(monkeypatch, name: str, nth: int = 1) -> None:
    """The ``nth`` atomic write of a file called ``name`` fails as on a full disk: its
    ``fsync`` raises ENOSPC (the other writes go through)."""
    real, seen = os.fsync, []

    def fsync(fd: int) -> None:
        if Path(os.readlink(f"/proc/self/fd/{fd}")).name.startswith(f".{name}."):
            seen.append(fd)
            if len(seen) == nth:
                raise _oserror(errno.ENOSPC)
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def unwritable(monkeypatch, folder: Path, code: int) -> None:
    """Creating a file in ``folder`` fails with ``code`` (EROFS, EACCES): chmod cannot show it
    to tests run as root."""
    real = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):  # noqa: A002 - tempfile's own name
        if dir is not None and Path(dir).resolve().is_relative_to(folder.resolve()):
            raise _oserror(code, os.path.join(dir, "x.tmp"))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


def one_line_error(capsys, path: Path, cause: str) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("interpnet: error: "), err
    assert f"{path}: cannot write ({cause})" in err and "--" not in err, err
    return err


@pytest.fixture(scope="module")
def full_run(tiny_birds, tmp_path_factory) -> Path:
    """A tiny run trained without a hitch, then evaluated."""
    run = tmp_path_factory.mktemp("full") / "run"
    assert main(["train", "--data-root", str(tiny_birds), "--out", str(run), *tiny_flags()]) == 0
    assert main(["evaluate", str(run), "--no-java", "--no-human", "--quiet"]) == 0
    return run


@pytest.mark.parametrize(
    "name, nth",
    [
        ("train_log.jsonl", 2),
        ("last.safetensors", 2),
        ("trainer.json", 2),
        ("model.safetensors", 3),
    ],
)
def test_train_on_a_full_disk_stops_in_one_line_and_resumes_to_the_same_weights(
    full_run, tiny_birds, tmp_path, monkeypatch, capsys, name, nth
):
    run = tmp_path / "run"
    full_disk(monkeypatch, name, nth)
    assert main(["train", "--data-root", str(tiny_birds), "--out", str(run), *tiny_flags()]) == 2
    path = next(run.rglob(name))
    one_line_error(capsys, path, NO_SPACE)
    assert RunDirectory(run).read_log()  # the log written so far is intact
    monkeypatch.undo()
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    done, want = (
        load_tensors(run / "model.safetensors"),
        load_tensors(full_run / "model.safetensors"),
    )
    assert done.keys() == want.keys() and all(done[k].equal(want[k]) for k in want)
    epochs = [(r["phase"], r["epoch"]) for r in RunDirectory(run).read_log()]
    assert epochs == [(r["phase"], r["epoch"]) for r in RunDirectory(full_run).read_log()]


@pytest.mark.parametrize(
    "code, cause", [(errno.EROFS, "read-only file system"), (errno.EACCES, "permission denied")]
)
def test_outputs_into_an_unwritable_folder_keep_what_is_there(
    full_run, tiny_birds, tmp_path, monkeypatch, capsys, code, cause
):
    image = next((tiny_birds / "CUB_200_2011" / "images").rglob("*.png"))
    out = tmp_path / "ro"
    out.mkdir()
    for name in ("e.jsonl", "report.html"):
        (out / name).write_text("keep\n")
    before = {p: p.read_bytes() for p in [*full_run.rglob("*"), *out.iterdir()] if p.is_file()}
    unwritable(monkeypatch, out, code)
    assert (
        main(["explain", str(full_run), str(image), "--output", str(out / "e.jsonl"), "--quiet"])
        == 2
    )
    one_line_error(capsys, out / "e.jsonl", cause)
    report = ["report", str(full_run), "--out", str(out / "report.html"), "--attribute", "0"]
    assert main([*report, "--quiet"]) == 2
    one_line_error(capsys, out / "report.html", cause)
    unwritable(monkeypatch, full_run, code)
    assert main(["evaluate", str(full_run), "--no-java", "--no-human", "--quiet"]) == 2
    one_line_error(capsys, full_run / "explanations" / "test.jsonl", cause)
    after = {p: p.read_bytes() for p in [*full_run.rglob("*"), *out.iterdir()] if p.is_file()}
    assert after == before  # nothing overwritten, truncated or left behind


def test_data_generation_on_a_full_disk(tmp_path, monkeypatch, capsys):
    out = tmp_path / "sb"
    args = ["data", "synthbirds", "--out", str(out), "--species", "3", "--images-per-species"]
    args += ["4", "--image-size", "24", "--seed", "2", "--quiet"]
    real, saved = Image.Image.save, []

    def save(self, fp, *a, **kw):
        if len(saved) == 5:
            raise _oserror(errno.ENOSPC)
        saved.append(fp)
        return real(self, fp, *a, **kw)

    monkeypatch.setattr(Image.Image, "save", save)
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and NO_SPACE in err and f"{out}/CUB_200_2011/images/" in err
    monkeypatch.undo()
    assert main(args) == 0  # the unfinished data set is written again from scratch
    assert len((out / "CUB_200_2011" / "images.txt").read_text().splitlines()) == 12


@pytest.mark.parametrize(
    "code, words",
    [
        (errno.ENOSPC, "no space left on device); free space or write elsewhere"),
        (errno.EDQUOT, "no space left on device); free space or write elsewhere"),
        (errno.EPERM, "permission denied); make it writable or write elsewhere"),
        (errno.EIO, "input/output error); check the path or write elsewhere"),
    ],
)
def test_the_library_raises_write_error_and_keeps_the_old_file(tmp_path, monkeypatch, code, words):
    path = tmp_path / "a.json"
    write_json(path, {"old": 1})

    monkeypatch.setattr(os, "fsync", raising(code))
    with pytest.raises(WriteError) as caught:
        write_json(path, {"new": 2})
    assert str(caught.value) == f"{path}: cannot write ({words}"
    assert isinstance(caught.value, InterpnetError | OSError) and caught.value.errno == code
    assert json.loads(path.read_text()) == {"old": 1} and os.listdir(tmp_path) == ["a.json"]


def test_a_log_line_that_cannot_be_written_leaves_the_log_readable(tmp_path, monkeypatch):
    run = RunDirectory(tmp_path)
    run.append_log({"phase": "classifier", "epoch": 1})
    full_disk(monkeypatch, "train_log.jsonl")
    with pytest.raises(WriteError, match=f"{run.log}: cannot write \\({NO_SPACE}\\)"):
        run.append_log({"phase": "classifier", "epoch": 2, "note": "x" * 10_000})
    assert run.read_log() == [{"phase": "classifier", "epoch": 1}]


def test_the_cli_reports_write_errors_from_elsewhere_in_one_line(monkeypatch, capsys):
    generate = "interpnet.cli.data_cmd.generate_synthbirds"
    monkeypatch.setattr(generate, raising(errno.EROFS, "/mnt/ro/x"))
    assert main(["data", "synthbirds", "--out", "/mnt/ro/x", "--quiet"]) == 2
    one_line_error(capsys, Path("/mnt/ro/x"), "read-only file system")
    monkeypatch.setattr(generate, raising(errno.EIO))
    with pytest.raises(OSError):  # not a write error: a bug to see in full
        main(["data", "synthbirds", "--out", "x", "--quiet"])


@pytest.fixture()
def small_tmpfs(tmp_path):
    """A real 256 KiB file system, where mounting one is permitted (root, no container rule)."""
    folder = tmp_path / "tmpfs"
    folder.mkdir()
    cmd = ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        done = None
    if done is None or done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    yield folder
    subprocess.run(["umount", str(folder)], capture_output=True, timeout=10)


def test_a_really_full_disk(small_tmpfs):
    path = small_tmpfs / "big.json"
    write_json(path, {"old": 1})
    with pytest.raises(WriteError, match=f"{path}: cannot write \\({NO_SPACE}\\)"):
        write_json(path, {"big": "x" * 2**20})
    assert json.loads(path.read_text()) == {"old": 1} and os.listdir(small_tmpfs) == ["big.json"]
