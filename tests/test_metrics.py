import math
import shutil

import pytest
import torch

from interpnet.metrics.bleu import corpus_bleu
from interpnet.metrics.captions import caption_metrics, human_agreement, paper_scores
from interpnet.metrics.cider import corpus_cider
from interpnet.metrics.faithfulness import class_relevance, introspection_fidelity
from interpnet.metrics.ptb import fallback_tokenize

needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="java not installed")
pytest.importorskip("pycocoevalcap.bleu.bleu", reason="pycocoevalcap not installed")


@pytest.fixture(scope="module")
def meteor():
    if shutil.which("java") is None:
        pytest.skip("java not installed")
    from interpnet.metrics.meteor import Meteor

    with Meteor() as m:
        yield m


def test_bleu_identical_disjoint_and_by_hand():
    a = "the bird has a red crown".split()
    assert corpus_bleu([a], [[a]]) == pytest.approx([1.0] * 4)
    assert corpus_bleu([a], [["x", "y", "z", "w", "v", "u"]]) == [0.0] * 4
    # by hand: candidate "the bird is red" vs reference "the bird is very red"
    cand, ref = "the bird is red".split(), "the bird is very red".split()
    p = [4 / 4, 2 / 3, 1 / 2, 0 / 1]
    bp = math.exp(1 - 5 / 4)
    got = corpus_bleu([cand], [[ref]])
    assert got[0] == pytest.approx(bp * p[0])
    assert got[1] == pytest.approx(bp * math.sqrt(p[0] * p[1]))
    assert got[2] == pytest.approx(bp * (p[0] * p[1] * p[2]) ** (1 / 3))
    assert got[3] == 0.0  # no 4-gram match, no smoothing (NLTK semantics)


def test_bleu_uses_the_closest_reference_length():
    cand = "a b c d".split()
    refs = ["a b c d e f g h".split(), "a b c d e".split()]
    assert corpus_bleu([cand], [refs])[0] == pytest.approx(math.exp(1 - 5 / 4))


def test_plain_cider_identical_and_disjoint():
    refs = [
        ["a red bird with wings".split()],
        ["a blue fish in water".split()],
        ["green tree frog on leaves".split()],
    ]
    score, per = corpus_cider([r[0] for r in refs], refs)
    assert score == pytest.approx(1.0) and per == pytest.approx([1.0] * 3)
    short, _ = corpus_cider([["a", "red", "bird"]], [[["a", "red", "bird"]], [["x"]]][:1])
    assert short == 0.0  # one image: every idf is log(1/1) = 0
    score, _ = corpus_cider([["zzz", "qqq"]] * 3, refs)
    assert score == 0.0


def test_paper_protocol_punctuation_inflates_bleu_as_the_pitfall_predicts():
    # one 4-gram "bird is red ." matches only because the final period is kept
    hyps, refs = ["the bird is red."], [["a bird is red."]]
    paper = paper_scores(hyps, refs, meteor=None)
    standard = corpus_bleu(
        [fallback_tokenize(hyps)[0].split()], [[fallback_tokenize(refs[0])[0].split()]]
    )
    assert standard[3] == 0.0
    assert paper["BLEU-4"] > 40.0


@needs_java
def test_meteor_identical_disjoint_and_corpus_vs_mean(meteor):
    corpus, per = meteor.score(
        ["a red bird with a long tail", "qq zz"],
        [["a red bird with a long tail"], ["the bird is blue"]],
    )
    assert per[0] == pytest.approx(1.0) and per[1] == 0.0
    # the toolkit's corpus score pools statistics: it is not the mean of sentence scores
    assert corpus != pytest.approx(sum(per) / 2, abs=1e-3)


@needs_java
def test_standard_and_paper_protocols_on_identical_outputs(meteor):
    from interpnet.metrics.ptb import ptb_tokenize

    refs = [
        ["this bird has a red crown.", "a bird with a red crown."],
        ["a small blue bird.", "this bird is blue."],
        ["the bird has a long yellow bill.", "a yellow bill."],
    ]
    hyps = [r[0] for r in refs]
    m = caption_metrics(hyps, refs, meteor, ptb_tokenize)
    assert m["standard"]["BLEU-4"] == pytest.approx(100.0, abs=1e-3)
    assert m["standard"]["METEOR"] == pytest.approx(100.0)
    assert m["standard"]["ROUGE-L"] == pytest.approx(100.0)
    assert m["paper"]["BLEU-4"] == pytest.approx(100.0)
    # the paper's plain CIDEr averages over all references; CIDEr-D is x10 and clipped
    assert 0 < m["paper"]["CIDEr"] < 100 < m["standard"]["CIDEr-D"]
    disjoint = caption_metrics(["qq zz yy xx"] * 3, refs, meteor, ptb_tokenize)
    assert disjoint["standard"]["METEOR"] == 0.0
    assert disjoint["standard"]["BLEU-4"] < 1e-3 and disjoint["paper"]["BLEU-4"] == 0.0


@needs_java
def test_awkward_outputs_are_scored_not_crashed_on(meteor):
    from interpnet.metrics.ptb import ptb_tokenize

    refs = [["a red bird."] * 3] * 5
    hyps = ["", "zqxj unknownword ||| more", "ünïcödé 鳥 bird 🐦", "red " * 400, "a\nred bird"]
    m = caption_metrics(hyps, refs, meteor, ptb_tokenize)
    values = [v for proto in m.values() for v in proto.values()]
    assert all(math.isfinite(v) for v in values)
    again = caption_metrics(hyps, refs, meteor, ptb_tokenize)
    assert again == m  # deterministic


def test_fallback_tokenizer_scores_without_java():
    refs = [["a red bird.", "this bird is red."]] * 2
    m = caption_metrics(["a red bird.", ""], refs, None, fallback_tokenize)
    assert "METEOR" not in m["standard"] and "METEOR" not in m["paper"]
    assert m["standard"]["BLEU-1"] > 30 and math.isfinite(m["standard"]["CIDEr-D"])


@needs_java
def test_human_agreement_is_maximal_for_identical_references(meteor):
    from interpnet.metrics.ptb import ptb_tokenize

    refs = [["a red bird with a long tail."] * 3, ["the blue bird has a short bill."] * 3]
    h = human_agreement(refs, meteor, ptb_tokenize)
    assert h["standard"]["METEOR"] == pytest.approx(100.0)
    assert h["paper"]["BLEU-4"] == pytest.approx(100.0)
    with pytest.raises(ValueError, match="at least 2"):
        human_agreement([["only one"]], meteor, ptb_tokenize)


def test_meteor_process_is_stopped_on_errors_and_interrupts():
    if shutil.which("java") is None:
        pytest.skip("java not installed")
    from interpnet.metrics.meteor import Meteor

    for exc in (RuntimeError, KeyboardInterrupt):
        with pytest.raises(exc), Meteor() as m:
            proc = m._proc
            raise exc()
        assert proc.poll() is not None


def test_class_relevance_and_fidelity_by_hand():
    probs = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    predicted = torch.tensor([0, 1, 0, 1])
    true = torch.tensor([0, 2, 2, 1])
    rel = class_relevance(probs, predicted, true)
    assert rel == {"predicted_class": 0.5, "true_class": 0.5}
    fid = introspection_fidelity(probs, predicted, true)
    # wrong: #1 (pred 1: 0.8 vs true 2: 0.1 -> follows prediction), #2 (0.2 vs 0.5 -> image)
    assert fid == {"fidelity": 0.5, "wrong_examples": 2}
    assert math.isnan(introspection_fidelity(probs, true, true)["fidelity"])
