"""The intervention test on hand-made cases: a classifier that decides from one corner loses
its decision when the words point at that corner, not at random cells; maps that point at
random give a ratio near 1."""

import pytest
import torch

from interpnet.errors import ConfigError
from interpnet.workflows.intervention import (
    InterventionCheck,
    MapRemover,
    PixelRemover,
    pointed_cells,
    remove_cells,
)
from interpnet.workflows.word_maps import MapBatch


def corner_classifier(x: torch.Tensor) -> torch.Tensor:
    """Class 0 when the top-left 8 x 8 pixels are bright, else class 1."""
    corner = x[:, :, :8, :8].mean(dim=(1, 2, 3))
    return torch.stack([20 * (corner - 0.5), torch.zeros_like(corner)], dim=1)


def test_cells_are_the_words_peaks_on_the_grid():
    maps = torch.zeros(3, 16, 16)
    maps[0, 0, 0] = 1.0  # cell 0 of a 4 x 4 grid
    maps[1, 15, 15] = 1.0  # cell 15
    maps[2, 1, 2] = 1.0  # cell 0 again
    assert pointed_cells(maps, 4) == [0, 15]
    x = torch.ones(3, 16, 16)
    out = remove_cells(x, [0, 15], 4, torch.tensor([0.1, 0.2, 0.3]))
    assert torch.equal(out[:, :4, :4], torch.tensor([0.1, 0.2, 0.3]).view(3, 1, 1).expand(3, 4, 4))
    assert out[:, 4:12].eq(1).all() and out[2, 12:, 12:].eq(0.3).all() and x.eq(1).all()


def _batch(maps_for: dict[str, torch.Tensor], n: int = 6) -> MapBatch:
    x = torch.ones(n, 3, 32, 32)
    return MapBatch(list(range(n)), x, [["w"] * 2] * n, {k: [m] * n for k, m in maps_for.items()})


def test_words_on_the_deciding_corner_drop_the_decision_random_cells_do_not():
    on_corner = torch.zeros(2, 32, 32)
    on_corner[:, 2, 3] = 1.0  # both words peak in the top-left cell of the 4 x 4 grid
    elsewhere = torch.zeros(2, 32, 32)
    elsewhere[:, 30, 30] = 1.0
    check = InterventionCheck(corner_classifier, PixelRemover(torch.zeros(3)), grid=4, draws=8)
    check.add(_batch({"attention": on_corner, "grad_cam": elsewhere}))
    r = check.result(["attention", "grad_cam"])
    assert r["grid"] == 4 and r["draws"] == 8
    # removing the corner (mean input 0) turns class 0 into class 1
    assert r["attention"]["cells"] == 1 and r["attention"]["drop"] > 0.99
    # a random cell is the corner 1 time in 16
    assert 0 < r["attention"]["random_drop"] < 0.3 and r["attention"]["ratio"] > 3
    assert r["grad_cam"]["drop"] == pytest.approx(0.0, abs=1e-6)
    assert r["grad_cam"]["ratio"] == pytest.approx(0.0, abs=1e-5)


def test_maps_that_point_at_random_score_about_one():
    torch.manual_seed(0)
    check = InterventionCheck(
        corner_classifier, PixelRemover(torch.zeros(3)), grid=4, draws=4, seed=1
    )
    for _ in range(40):
        maps = torch.rand(6, 1, 32, 32)
        batch = _batch({"attention": maps[0]})
        batch.maps["attention"] = list(maps)
        check.add(batch)
    r = check.result(["attention"])["attention"]
    assert 0.6 < r["ratio"] < 1.6
    with pytest.raises(ConfigError, match="at least 1"):
        InterventionCheck(corner_classifier, PixelRemover(torch.zeros(3)), grid=0)
    assert InterventionCheck(corner_classifier, PixelRemover(torch.zeros(3))).result(["grad_cam"])[
        "grad_cam"
    ] == {"cells": None, "drop": None, "random_drop": None, "ratio": None}


def test_a_feature_run_loses_the_map_cells_and_its_pooled_features_follow():
    fmap = torch.arange(2 * 3 * 3, dtype=torch.float32).reshape(2, 3, 3)
    x = torch.cat([fmap.mean(dim=(1, 2)), torch.tensor([7.0]), fmap.flatten()])  # + a side layer
    out = MapRemover([2, 3, 3], torch.tensor([-1.0, -2.0]))(x, [0, 4], 3)
    edited = out[-18:].reshape(2, 3, 3)
    assert edited[:, 0, 0].tolist() == [-1.0, -2.0] and edited[:, 1, 1].tolist() == [-1.0, -2.0]
    assert edited[0, 2, 2] == 8 and out[2] == 7.0 and x[-18] == 0  # the rest, and x, untouched
    torch.testing.assert_close(out[:2], edited.mean(dim=(1, 2)))
