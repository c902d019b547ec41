"""Grounding scores on hand-made maps and parts: a map on the part scores 1, one on the
background 0, a uniform map the baseline."""

import math

import pytest
import torch

from interpnet.data.parts import Region
from interpnet.metrics.grounding import GroundingTally, coverage, mass, pointing


def test_coverage_measures_the_area_of_an_ellipse_cell_by_cell():
    disc = Region(0.5, 0.5, 0.25, 0.25)
    cover = coverage([disc], 32, 32)
    assert float(cover.mean()) == pytest.approx(math.pi / 16, rel=0.01)
    assert cover[16, 16] == 1 and cover[0, 0] == 0
    # a thin ellipse turned by 90 degrees lies along y, not x
    upright = coverage([Region(0.5, 0.5, 0.4, 0.05, math.pi / 2)], 8, 8)
    assert upright[:, 4].sum() > 5 * upright[4, :].sum() / 2 and upright[0, 0] == 0
    # a union is counted once; an empty region covers nothing
    twice = coverage([disc, disc, Region(0.1, 0.1, 0.0, 0.0)], 32, 32)
    assert torch.equal(twice, cover)


def test_pointing_and_mass_on_hand_made_maps():
    cover = torch.zeros(4, 4)
    cover[0, 0], cover[0, 1] = 1.0, 0.5  # the part: one cell, half of the next
    on_part = torch.zeros(4, 4)
    on_part[0, 0] = 1.0
    background = torch.zeros(4, 4)
    background[3, 3] = 1.0
    uniform = torch.ones(4, 4)
    assert pointing(on_part, cover) == 1.0 and mass(on_part, cover) == 1.0
    assert pointing(background, cover) == 0.0 and mass(background, cover) == 0.0
    # a uniform map: its peak is any cell (2 of 16 touch the part), its mass the part's area
    assert pointing(uniform, cover) == pytest.approx(2 / 16)
    assert mass(uniform, cover) == pytest.approx(1.5 / 16)
    # negative evidence does not count; an all-zero map counts as uniform
    signed = -torch.ones(4, 4)
    signed[0, 1] = 2.0
    assert mass(signed, cover) == pytest.approx(0.5)
    assert mass(torch.zeros(4, 4), cover) == pytest.approx(1.5 / 16)


def test_a_tally_reports_means_and_baselines_per_part():
    cover = torch.zeros(2, 2)
    cover[0, 0] = 1.0
    hit, miss = torch.tensor([[1.0, 0], [0, 0]]), torch.tensor([[0, 0], [0, 1.0]])
    tally = GroundingTally()
    tally.add(hit, cover, "head")
    tally.add(miss, cover, "head")
    tally.add(torch.ones(2, 2), cover, "tail")
    r = tally.result()
    assert r["words"] == 3
    assert r["pointing"] == pytest.approx((1 + 0 + 0.25) / 3)
    assert r["mass"] == pytest.approx((1 + 0 + 0.25) / 3)
    assert r["pointing_baseline"] == pytest.approx(0.25) and r["mass_baseline"] == 0.25
    assert r["pointing_by_part"] == {"head": 0.5, "tail": 0.25}
    assert GroundingTally().result()["pointing"] is None
    with pytest.raises(ValueError, match="differ"):
        tally.add(torch.ones(3, 3), cover)
