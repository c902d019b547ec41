"""Contrastive greedy decoding: it demotes the words an input shares with its distractor."""

import math

import pytest
import torch

from interpnet.decoding import Decoding, decode_candidates, greedy_decode
from interpnet.decoding.contrastive import contrastive_decode, distractors
from interpnet.errors import ConfigError

from .conftest import peaky_explainer

BOS, EOS, TEMPLATE, OWN_A, OWN_B = 1, 2, 3, 4, 5


class OneWordExplainer:
    """After ``<bos>`` the word distribution is the softmax of ``cond`` itself (V = 6); after
    any word, ``<eos>``."""

    def init_state(self, batch, device=None):
        return ()

    def step(self, token, cond, state):
        first = torch.log_softmax(cond, dim=-1)
        end = torch.full_like(cond, -1e4)
        end[:, EOS] = 0.0
        return torch.where((token == BOS).unsqueeze(1), first, end), state


def _cond(p_template: float, own: int, p_own: float) -> torch.Tensor:
    p = torch.full((6,), 0.01)
    p[TEMPLATE], p[own] = p_template, p_own
    return torch.log(p / p.sum())


def test_contrast_picks_what_the_image_adds_to_its_neighbours_template():
    # both images: "template" 0.6, their own word 0.3; greedy says the template for both
    cond = torch.stack([_cond(0.6, OWN_A, 0.3), _cond(0.6, OWN_B, 0.3)])
    ex = OneWordExplainer()
    greedy, _ = greedy_decode(ex, cond, BOS, EOS, max_length=5)
    assert greedy[:, 0].tolist() == [TEMPLATE, TEMPLATE]
    ids, logp = contrastive_decode(ex, cond, BOS, EOS, contrast=0.5, plausibility=0.1)
    assert ids[:, 0].tolist() == [OWN_A, OWN_B] and (ids[:, 1] == EOS).all()
    # the returned score is the own model's log-probability of the sentence
    torch.testing.assert_close(logp, torch.log_softmax(cond, -1)[:, OWN_A : OWN_B + 1].diagonal())
    # a plausibility floor above 0.3 / 0.6 leaves only the template
    ids, _ = contrastive_decode(ex, cond, BOS, EOS, contrast=0.5, plausibility=0.6)
    assert ids[:, 0].tolist() == [TEMPLATE, TEMPLATE]


def test_no_contrast_or_a_lone_input_is_greedy_decoding():
    ex = peaky_explainer(5)
    cond = ex.condition(torch.randn(12, 6))
    g_ids, g_lp = greedy_decode(ex, cond, 1, 2, max_length=15)
    ids, lp = contrastive_decode(ex, cond, 1, 2, contrast=0.0, plausibility=1e-6, max_length=15)
    assert torch.equal(ids, g_ids)
    torch.testing.assert_close(lp, g_lp)
    for i in range(3):
        one, _ = contrastive_decode(ex, cond[i : i + 1], 1, 2, contrast=0.9, max_length=15)
        assert torch.equal(one[0, : one.shape[1]], g_ids[i, : one.shape[1]])
    # with a contrast, some inputs of this batch change their sentence
    ids, _ = contrastive_decode(ex, cond, 1, 2, contrast=0.9, plausibility=1e-3, max_length=15)
    width = max(ids.shape[1], g_ids.shape[1])
    pad = [torch.nn.functional.pad(t, (0, width - t.shape[1])) for t in (ids, g_ids)]
    assert (pad[0] != pad[1]).any(dim=1).sum() >= 1


def test_distractors_are_the_nearest_other_input_or_the_others_mean():
    cond = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 1.0]])
    near = distractors(cond, "neighbour")
    assert torch.equal(near, cond[[1, 0, 3, 2]])
    mean = distractors(cond, "mean")
    torch.testing.assert_close(mean[0], cond[1:].mean(0))
    assert torch.equal(distractors(cond[:1]), cond[:1])
    with pytest.raises(ValueError, match="unknown distractor"):
        distractors(cond, "far")


def test_contrastive_decoding_options_and_candidates():
    for bad in (
        dict(contrast=1.0),
        dict(contrast=-0.1),
        dict(plausibility=0),
        dict(distractor="x"),
    ):
        with pytest.raises(ConfigError):
            Decoding(method="contrastive", **bad)
    d = Decoding(method="contrastive", contrast=0.5)
    assert d.num_candidates == 1 and d.to_dict()["distractor"] == "neighbour"
    ex = peaky_explainer(6)
    cond = ex.condition(torch.randn(7, 6))
    ids, logp, lengths, best = decode_candidates(ex, cond, 1, 2, d)
    assert ids.shape[:2] == (7, 1) and best.tolist() == [0] * 7
    assert (lengths >= 1).all() and torch.isfinite(logp).all() and not math.isnan(logp.sum())
