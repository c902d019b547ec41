"""The benchmarks still import against today's library (they run for hours, so a renamed
function must fail here, not at their first step), and the faithfulness benchmark is one
package whose entries are listed."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p for p in (REPO / "benchmarks").rglob("*.py") if p.name != "__main__.py")


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_benchmark_script_imports(path, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO))
    parts = path.relative_to(REPO).with_suffix("").parts
    name = ".".join(parts) if (path.parent / "__init__.py").is_file() else "_bench_" + path.stem
    try:
        if name.startswith("benchmarks."):
            importlib.import_module(name)
        else:
            spec = importlib.util.spec_from_file_location(name, path)
            spec.loader.exec_module(importlib.util.module_from_spec(spec))
    except ModuleNotFoundError as err:
        if (err.name or "").split(".")[0] in ("interpnet", "benchmarks"):
            raise
        pytest.skip(f"needs {err.name} (the bench extra)")


def test_the_faithfulness_benchmark_lists_its_entries():
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.faithful"], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0
    entries = [line.split()[0] for line in done.stdout.splitlines()[3:]]
    assert entries[:3] == ["run", "table", "frontier"] and "probe-ngram" in entries
