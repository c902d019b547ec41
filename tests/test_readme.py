import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    block = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md", "exec"), {})
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines[:3]] == ["explainer"] * 3  # one line per epoch
    assert all(line.split()[0] in ("blue", "red") for line in lines[3:6])
    assert (tmp_path / "my_run" / "model.safetensors").is_file()
    assert sum(line.startswith("discriminative epoch") for line in lines) == 2
    listed = [line for line in lines if line.startswith("[")]
    sentences = eval(listed[-1])  # the reranked samples, printed as a list
    assert len(sentences) == 3 and all(isinstance(t, str) and t for t in sentences)
    accuracy, fidelity = map(float, lines[-1].split())  # the in-memory evaluation
    assert 0 <= accuracy <= 1 and 0 <= fidelity <= 1
    assert (tmp_path / "my_tuned_run" / "scorers" / "reward" / "info.json").is_file()


def test_readme_names_the_two_commands():
    text = README.read_text()
    assert "interpnet demo" in text and "python -m pytest -q" in text
    ci = (README.parent / ".ci" / "run").read_text()
    assert "python -m pytest -q" in ci
    # the README's test command is the one CI runs
    command = re.search(r"^\. \.venv/bin/activate && (ruff .*)$", text, re.M).group(1)
    assert (
        command.split(" && ")
        == [
            line
            for line in ci.splitlines()
            if line.startswith(("ruff", "lint-imports", "python -m"))
        ][:3]
    )
