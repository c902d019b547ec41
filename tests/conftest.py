"""Shared fixtures (the helpers they use are in tests/helpers.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from interpnet.data.synthbirds import generate_synthbirds
from tests.helpers import TINY_DATA, fit_config, tiny_config

if os.environ.get("PYTEST_XDIST_WORKER"):
    # one torch thread per test process: two processes of two threads each on 2 cores contend
    torch.set_num_threads(1)


@pytest.fixture(autouse=True, scope="session")
def _user_cache(tmp_path_factory):
    """The user cache folder (thumbnails, human agreement) of the tests: a temporary one."""
    previous = os.environ.get("INTERPNET_CACHE")
    os.environ["INTERPNET_CACHE"] = str(tmp_path_factory.mktemp("user-cache"))
    yield
    if previous is None:
        os.environ.pop("INTERPNET_CACHE", None)
    else:
        os.environ["INTERPNET_CACHE"] = previous


@pytest.fixture(autouse=True)
def _seed_and_threads():
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def tiny_birds(tmp_path_factory) -> Path:
    """6 species x 8 images of 32 px (4 train / 2 val / 2 test per species)."""
    return generate_synthbirds(
        tmp_path_factory.mktemp("data") / "birds", TINY_DATA, progress=False, log=lambda _: None
    )


@pytest.fixture()
def tiny_cfg(tiny_birds):
    return tiny_config(tiny_birds)


@pytest.fixture(scope="session")
def tiny_run(tiny_birds, tmp_path_factory) -> Path:
    """A run of ``tiny_config(tiny_birds)``, trained once for the session: for tests that only
    read it (copy it first to write into it)."""
    run = tmp_path_factory.mktemp("shared") / "tiny-run"
    fit_config(tiny_config(tiny_birds), run)
    return run
