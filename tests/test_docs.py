"""The README and the documentation: every code block is tested (Python blocks run, shell
commands parse with the CLI), the README holds the two commands CI runs, and stays short."""

import re
import shlex
from pathlib import Path

import pytest

from interpnet.cli.main import build_parser

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
PAGES = sorted((REPO / "docs").rglob("*.md"))
GUIDE = REPO / "docs" / "guides" / "your-classifier.md"


def _blocks(path: Path, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", path.read_text(), re.S | re.M)


def _run(block: str, name: str, tmp_path, monkeypatch, capsys) -> list[str]:
    monkeypatch.chdir(tmp_path)
    exec(compile(block, name, "exec"), {})
    return capsys.readouterr().out.strip().splitlines()


def test_readme_quickstart_runs(tmp_path, monkeypatch, capsys):
    (block,) = _blocks(README, "python")
    assert len(block.strip().splitlines()) <= 16
    lines = _run(block, "README.md", tmp_path, monkeypatch, capsys)
    explained = [line.split(maxsplit=2) for line in lines[-3:]]
    assert all(name in ("0", "1") and 0 <= float(p) <= 1 and text for name, p, text in explained)
    assert (tmp_path / "my_run" / "model.safetensors").is_file()


@pytest.mark.slow
@pytest.mark.java
def test_python_guide_runs(tmp_path, monkeypatch, capsys):
    (block,) = _blocks(GUIDE, "python")
    lines = _run(block, GUIDE.name, tmp_path, monkeypatch, capsys)
    assert [line.split()[0] for line in lines[:3]] == ["explainer"] * 3  # one line per epoch
    assert all(line.split()[0] in ("blue", "red") for line in lines[3:6])
    assert (tmp_path / "my_run" / "model.safetensors").is_file()
    assert sum(line.startswith("discriminative epoch") for line in lines) == 2
    listed = [line for line in lines if line.startswith("[")]
    sentences = eval(listed[-1])  # the reranked samples, printed as a list
    assert len(sentences) == 3 and all(isinstance(t, str) and t for t in sentences)
    assert (tmp_path / "my_tuned_run" / "scorers" / "reward" / "info.json").is_file()
    accuracy, fidelity = map(float, lines[-1].split())  # the in-memory evaluation
    assert 0 <= accuracy <= 1 and 0 <= fidelity <= 1


def test_no_other_python_block_goes_untested():
    assert [p for p in PAGES if _blocks(p, "python")] == [GUIDE]


def _commands(block: str) -> list[list[str]]:
    """The interpnet command lines of a shell block (continuations joined, comments dropped,
    ``torchrun ... -m interpnet`` read as interpnet)."""
    out = []
    for line in block.replace("\\\n", " ").splitlines():
        line = line.split(" #")[0].strip()
        for part in line.split("&&"):
            words = shlex.split(part, comments=True)
            if "-m" in words and words[words.index("-m") + 1 :][:1] == ["interpnet"]:
                words = words[words.index("-m") + 1 :]
            if words[:1] == ["interpnet"]:
                out.append(words[1:])
    return out


@pytest.mark.parametrize("path", [README, *PAGES], ids=lambda p: str(p.relative_to(REPO)))
def test_every_shell_command_parses(path):
    parser = build_parser()
    for block in _blocks(path, "bash"):
        for argv in _commands(block):
            parser.parse_args(argv)  # exits (SystemExit) on an unknown flag or command


def test_readme_holds_the_two_commands_ci_runs_and_is_short():
    text = README.read_text()
    assert len(text.splitlines()) <= 200
    assert "interpnet demo" in text and "python -m pytest -q" in text
    ci = (REPO / ".ci" / "run").read_text()
    command = re.search(r"^\. \.venv/bin/activate && (ruff .*)$", text, re.M).group(1)
    assert (
        command.split(" && ")
        == [
            line
            for line in ci.splitlines()
            if line.startswith(("ruff", "lint-imports", "python -m"))
        ][:3]
    )
    assert "mkdocs build --strict" in ci


def test_readme_and_docs_links_point_at_files_that_exist():
    for path in [README, *PAGES]:
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", path.read_text()):
            if not target.startswith(("http://", "https://")):
                assert (path.parent / target).exists(), f"{path.name}: {target}"
