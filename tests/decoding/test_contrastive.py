"""Contrastive greedy decoding: it demotes the words an input shares with its distractor."""

import math

import pytest
import torch

from interpnet.decoding import Decoding, decode_candidates, greedy_decode
from interpnet.decoding.contrastive import contrastive_decode, distractors
from interpnet.decoding.distractor_bank import DistractorBank
from interpnet.errors import ConfigError
from tests.helpers import peaky_explainer

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
    with pytest.raises(ValueError, match="unknown batch distractor"):
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


def _bank() -> DistractorBank:
    # classes 0 and 2 present (2 and 1 images), class 1 never predicted
    cond = torch.tensor([[2.0, 0.0], [0.0, 2.0], [0.0, 3.0]])
    return DistractorBank.from_conditioning(cond, torch.tensor([0, 0, 2]), num_classes=3)


def test_bank_distractors_by_hand():
    bank = _bank()
    assert bank.counts.tolist() == [2, 0, 1]
    torch.testing.assert_close(bank.class_means, torch.tensor([[1.0, 1.0], [0, 0], [0, 3.0]]))
    torch.testing.assert_close(bank.mean, torch.tensor([2 / 3, 5 / 3]))
    assert bank.summary() == {"images": 3, "classes": 2, "dim": 2}
    cond = torch.tensor([[0.0, 1.0], [1.0, 0.0], [5.0, 5.0]])
    labels = torch.tensor([2, 1, 0])
    torch.testing.assert_close(bank.distractors(cond, None, "train-mean"), bank.mean.expand(3, 2))
    # own class's mean; class 1 has no reference images: the overall mean
    own = bank.distractors(cond, labels, "class-mean")
    torch.testing.assert_close(
        own, torch.stack([bank.class_means[2], bank.mean, bank.class_means[0]])
    )
    # the most similar class mean other than the own (and never an empty class)
    rival = bank.distractors(cond, labels, "rival")
    torch.testing.assert_close(rival, bank.class_means[[0, 0, 2]])
    assert bank.distractors(cond.double(), labels, "rival").dtype == torch.float64
    with pytest.raises(ValueError, match="predicted classes"):
        bank.distractors(cond, None, "class-mean")
    with pytest.raises(ValueError, match="holds 2-d conditioning"):
        bank.distractors(torch.zeros(2, 3), labels[:2], "train-mean")
    # a bank of one class: no rival, the overall mean
    one = DistractorBank.from_conditioning(cond, torch.zeros(3), num_classes=2)
    alone = one.distractors(cond, torch.zeros(3, dtype=torch.long), "rival")
    torch.testing.assert_close(alone, one.mean.expand(3, 2))
    with pytest.raises(ValueError, match="unknown bank distractor"):
        bank.distractors(cond, labels, "neighbour")
    with pytest.raises(ValueError, match="at least one"):
        DistractorBank.from_conditioning(torch.zeros(0, 2), torch.zeros(0), num_classes=2)
    with pytest.raises(ValueError, match="class 4"):
        DistractorBank.from_conditioning(cond, torch.tensor([0, 1, 4]), num_classes=3)


def test_class_mean_distractor_demotes_the_template_in_any_batch():
    # reference images of class 0 all say the template (0.6) with their own word (0.3); their
    # mean is the distractor, so each input says its own word, alone or in any batch
    cond = torch.stack([_cond(0.6, OWN_A, 0.3), _cond(0.6, OWN_B, 0.3)])
    bank = DistractorBank.from_conditioning(cond, torch.zeros(2), num_classes=1)
    ex, labels = OneWordExplainer(), torch.zeros(2, dtype=torch.long)
    ids, _ = contrastive_decode(
        ex, cond, BOS, EOS, 0.5, 0.1, "class-mean", labels=labels, bank=bank
    )
    assert ids[:, 0].tolist() == [OWN_A, OWN_B]
    for i in range(2):
        one, _ = contrastive_decode(
            ex, cond[i : i + 1], BOS, EOS, 0.5, 0.1, "class-mean", labels=labels[:1], bank=bank
        )
        assert one[0, 0] == ids[i, 0]
    with pytest.raises(ValueError, match="needs a DistractorBank"):
        contrastive_decode(ex, cond, BOS, EOS, 0.5, 0.1, "class-mean", labels=labels)


def _pad(ids: torch.Tensor, width: int) -> torch.Tensor:
    return torch.nn.functional.pad(ids, (0, width - ids.shape[1]))


def test_bank_decoding_is_the_same_in_any_batch():
    ex = peaky_explainer(5)
    cond = ex.condition(torch.randn(12, 6))
    labels = torch.arange(12) % 3
    bank = DistractorBank.from_conditioning(
        ex.condition(torch.randn(30, 6)), torch.arange(30) % 3, 3
    )
    for kind in ("train-mean", "class-mean", "rival"):
        d = Decoding(
            method="contrastive", contrast=0.9, plausibility=1e-3, distractor=kind, bank=bank
        )
        whole = decode_candidates(ex, cond, 1, 2, d, labels=labels)[0][:, 0]
        order = torch.randperm(12, generator=torch.Generator().manual_seed(0))
        parts = [
            decode_candidates(ex, cond[i], 1, 2, d, labels=labels[i])[0][:, 0]
            for i in order.split(5)
        ]
        width = max(whole.shape[1], *(p.shape[1] for p in parts))
        joined = torch.cat([_pad(p, width) for p in parts])[order.argsort()]
        assert torch.equal(joined, _pad(whole, width)), kind


def test_decoding_bank_option():
    bank = _bank()
    d = Decoding(method="contrastive", distractor="rival", bank=bank)
    assert d.needs_bank and d.to_dict()["bank"] == bank.summary()
    assert not Decoding(method="contrastive", distractor="mean").needs_bank
    assert "bank" not in Decoding().to_dict()
    with pytest.raises(ConfigError, match="must be a DistractorBank"):
        Decoding(method="contrastive", distractor="rival", bank=torch.zeros(2))


def test_report_names_the_contrastive_options():
    from interpnet.report.html import _describe_decoding

    d = Decoding(method="contrastive", distractor="class-mean", contrast=0.6, bank=_bank())
    text = "contrastive, distractor class-mean, contrast 0.6 (bank of 3 training images)"
    assert _describe_decoding(d.to_dict()) == text
    assert _describe_decoding(Decoding(method="contrastive").to_dict()).endswith("contrast 0.5")
