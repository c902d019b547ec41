"""The library's layering rules, checked on its source."""

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "interpnet"
FLAG = re.compile(r"(^|\s|`)--[a-z]")


def _raised_strings(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            for sub in ast.walk(node.exc):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    yield node.lineno, sub.value


def test_library_errors_never_name_cli_flags():
    offenders = []
    for path in SRC.rglob("*.py"):
        if "cli" in path.relative_to(SRC).parts:
            continue
        for line, text in _raised_strings(ast.parse(path.read_text())):
            if FLAG.search(text):
                offenders.append(f"{path.relative_to(SRC)}:{line}: {text!r}")
    assert offenders == []


def test_nothing_below_the_cli_imports_it():
    offenders = []
    for path in SRC.rglob("*.py"):
        if "cli" in path.relative_to(SRC).parts or path.name == "__main__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            offenders += [
                f"{path.relative_to(SRC)}: {n}" for n in names if n.startswith("interpnet.cli")
            ]
    assert offenders == []


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    """import-linter's contracts (pyproject.toml in ``root``) on the package under root/src."""
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    code = "import sys, importlinter.cli as c; sys.exit(c.lint_imports(no_cache=True))"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True
    )


def test_the_layers_and_acyclic_contracts_hold():
    done = _lint_imports(SRC.parents[1])
    assert done.returncode == 0, done.stdout[-3000:]
    assert "2 kept, 0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("metrics/bleu.py", "import interpnet.model.interpnet", "Layers point one way"),
        ("decoding/greedy.py", "import interpnet.model.explainer", "Layers point one way"),
        ("data/cub.py", "import interpnet.data.generic", "No import cycle"),
    ],
)
def test_an_import_that_points_up_or_closes_a_cycle_breaks_a_contract(
    tmp_path, module, line, broken
):
    shutil.copytree(SRC, tmp_path / "src" / "interpnet", ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(SRC.parents[1] / "pyproject.toml", tmp_path)
    target = tmp_path / "src" / "interpnet" / module
    target.write_text(target.read_text() + f"\n{line}  # noqa\n")
    done = _lint_imports(tmp_path)
    assert done.returncode != 0 and f"{broken}" in done.stdout.split("Broken contracts")[-1]


def test_no_source_file_is_over_400_lines():
    long = {
        str(p.relative_to(SRC)): n
        for p in SRC.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert long == {}
