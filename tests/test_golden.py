"""Behaviour pinned: the golden run (tests/golden) writes the same bytes as when it was pinned."""

import json

import pytest

from tests.golden import PINNED, environment, hashes


@pytest.mark.slow
@pytest.mark.java
def test_the_golden_run_writes_the_pinned_bytes(tmp_path):
    pinned = json.loads(PINNED.read_text())
    if pinned["environment"] != environment():
        pytest.skip(
            f"pinned under {pinned['environment']}, this is {environment()}: floating-point "
            "results differ between torch builds and CPUs; re-pin on the old code first"
        )
    assert hashes(tmp_path) == pinned["files"]
