"""Helpers shared by the tests: the tiny data set and training configuration, trained
runs, rigged explainers, and the examples and optional libraries as the tests load them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from interpnet.data.synthbirds import SynthBirdsConfig
from interpnet.training import TrainConfig
from interpnet.workflows.train import configured_trainer

REPO = Path(__file__).resolve().parents[1]


SHARED_DATA = Path(os.environ.get("INTERPNET_SHARED_DATA", REPO.parent / "shared" / "data"))


TINY_DATA = SynthBirdsConfig(
    species=6, images_per_species=8, image_size=32, seed=3, val_fraction=0.25, test_fraction=0.25
)


# Model and optimisation options small enough to train in about a second.
TINY_MODEL = dict(
    image_size=32,
    cnn_channels=[8, 16],
    hidden_sizes=[16, 12],
    embed_dim=8,
    hidden_dim=16,
    fusion_dim=16,
    label_embed_dim=4,
    min_count=1,
    classifier_epochs=2,
    explainer_epochs=2,
    batch_size=8,
    explainer_batch_size=32,
    max_length=20,
)


def tiny_config(data_root: Path, **overrides) -> TrainConfig:
    """A configuration that trains in about a second."""
    base = dict(data_root=str(data_root), device="cpu", **TINY_MODEL)
    base.update(overrides)
    return TrainConfig(**base)


def fit_config(cfg: TrainConfig, run_dir: Path, **kwargs):
    """Train the run ``cfg`` describes into ``run_dir``, quietly; returns the model."""
    return configured_trainer(cfg, run_dir, progress=False, log=lambda _: None, **kwargs).fit()


def train_variants(data_root: Path, folder: Path, variants, **overrides) -> dict[str, Path]:
    """A tiny run of each conditioning variant in ``folder``, by variant name."""
    runs = {}
    for variant in variants:
        fit_config(tiny_config(data_root, variant=variant, **overrides), folder / variant)
        runs[variant] = folder / variant
    return runs


def tiny_flags(**overrides) -> list[str]:
    """``interpnet train`` flags for TINY_MODEL (with ``overrides``), on the CPU, quiet."""
    flags = []
    for key, value in {**TINY_MODEL, **overrides}.items():
        values = value if isinstance(value, list) else [value]
        flags += [f"--{key.replace('_', '-')}", *(str(v) for v in values)]
    return [*flags, "--device", "cpu", "--quiet"]


def peaky_explainer(seed: int = 0, vocab: int = 12, sharpness: float = 8.0):
    """A tiny random explainer with peaky word distributions (output weights x ``sharpness``)
    and ``<eos>`` (id 2) likely enough that sentence lengths vary."""
    from interpnet.model import LRCNExplainer

    torch.manual_seed(seed)
    ex = LRCNExplainer(vocab, 6, embed_dim=8, hidden_dim=16, fusion_dim=12)
    with torch.no_grad():
        ex.out.weight.mul_(sharpness)
        ex.out.bias[2] += 0.5
    return ex.eval()


def vision_libraries():
    """(torchvision, timm), imported for real; the tests that need them skip where they are not
    importable, except under ``INTERPNET_REQUIRE_VISION=1`` (CI's vision environment), where
    that is a failure: those tests must run, not skip."""
    try:
        import timm
        import torchvision
    except Exception as err:  # noqa: BLE001 - missing, or built against another torch
        if os.environ.get("INTERPNET_REQUIRE_VISION") == "1":
            raise
        pytest.skip(f"torchvision and timm not importable here ({type(err).__name__})")
    return torchvision, timm


# explainer options small enough for interpnet.fit to train in about a second
TINY_FIT = dict(
    explainer_epochs=1,
    min_count=1,
    hidden_dim=16,
    fusion_dim=16,
    embed_dim=8,
    device="cpu",
    progress=False,
)


def split_items(root: Path, split: str, preprocessing) -> list:
    """One split of the layout at ``root`` as (input, label, sentences) items."""
    from interpnet.data.layouts import open_layout

    examples = open_layout(root).split(split)
    x = preprocessing([e.image_path for e in examples])
    return [(x[i], e.label, e.sentences) for i, e in enumerate(examples)]


def load_example(name: str):
    """``examples/<name>.py`` as a module (run as a user runs it, through its ``main``)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, REPO / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class StopAt:
    """A trainer callback that interrupts training (KeyboardInterrupt) after one epoch."""

    def __init__(self, phase: str, epoch: int) -> None:
        self.at = (phase, epoch)

    def on_epoch_end(self, phase: str, epoch: int, record: dict) -> None:
        if (phase, epoch) == self.at:
            raise KeyboardInterrupt
