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
    # the reference code's x10: an exact match with informative n-grams scores 10
    assert score == pytest.approx(10.0) and per == pytest.approx([10.0] * 3)
    short, _ = corpus_cider([["a", "red", "bird"]], [[["a", "red", "bird"]], [["x"]]][:1])
    assert short == 0.0  # one image: every idf is log(1/1) = 0
    score, _ = corpus_cider([["zzz", "qqq"]] * 3, refs)
    assert score == 0.0


def test_paper_cider_by_hand_on_the_papers_scale():
    # Two images, N = 2, idf = ln 2 - ln df. "a" is in both reference sets (idf 0), every other
    # n-gram in one (idf ln 2, also for n-grams no reference has: max(1, df) = 1).
    # Image 1, "a red bird" vs itself: cos = 1 for n = 1, 2, 3; no 4-grams: 0 -> 10 x 3/4 = 7.5.
    # Image 2, "a blue bird" vs "a blue fish": n=1 {blue} shared of {blue, bird} / {blue, fish}
    # -> 1/2; n=2 {a blue} of two bigrams each -> 1/2; n=3, n=4: 0 -> 10 x 1/4 = 2.5.
    hyps, refs = ["a red bird", "a blue bird"], [["a red bird"], ["a blue fish"]]
    mean, per = corpus_cider([h.split() for h in hyps], [[r.split() for r in rs] for rs in refs])
    assert per == pytest.approx([7.5, 2.5])
    paper = paper_scores(
        hyps,
        refs,
        None,
        fallback_tokenize(hyps),
        [fallback_tokenize(refs[0]), fallback_tokenize(refs[1])],
    )
    assert mean == pytest.approx(5.0) and paper["CIDEr"] == pytest.approx(500.0)


def test_paper_cider_ignores_punctuation_but_paper_bleu_does_not():
    refs = [["a red bird with wings.", "the bird is red."], ["a blue fish in water.", "a fish."]]
    bare = caption_metrics(["a red bird with wings", "a blue fish"], refs, None, fallback_tokenize)
    dotted = caption_metrics(
        ["a red bird, with wings.", "a blue fish !"], refs, None, fallback_tokenize
    )
    assert dotted["paper"]["CIDEr"] == bare["paper"]["CIDEr"] > 0
    assert dotted["standard"]["CIDEr-D"] == bare["standard"]["CIDEr-D"]
    assert dotted["paper"]["BLEU-4"] != bare["paper"]["BLEU-4"]  # BLEU keeps punctuation


@pytest.mark.java
@needs_java
def test_paper_cider_uses_the_ptb_tokens(meteor):
    from interpnet.metrics.ptb import ptb_tokenize

    refs = [
        ["This bird's crown is RED.", "this bird's crown, is red!"],
        ["A small, blue bird!"] * 2,
    ]
    hyps = ["this bird 's crown is red", "a small blue bird"]
    m = caption_metrics(hyps, refs, meteor, ptb_tokenize)
    hyp_tok = ptb_tokenize(hyps)
    ref_tok = [ptb_tokenize(r) for r in refs]
    expect = corpus_cider([h.split() for h in hyp_tok], [[r.split() for r in rs] for rs in ref_tok])
    assert m["paper"]["CIDEr"] == pytest.approx(100 * expect[0])
    assert m["paper"]["CIDEr"] == pytest.approx(1000.0)  # both are exact matches after PTB


def test_plain_cider_equals_coco_cider_d_where_their_differences_vanish():
    # CIDEr-D adds clipping and a length penalty; with every candidate as long as its
    # references and no n-gram counted more often than in them, both are the same number.
    from pycocoevalcap.cider.cider import Cider

    refs = [
        ["a red bird with wings", "the red bird has wings", "a red bird on branch"],
        ["a blue fish in water", "the blue fish swims fast", "one fish in blue water"],
        ["green tree frog on leaves", "a frog on green leaves", "small green frog sits here"],
        ["a red fish in water", "the red fish has fins", "a fish swims in water"],
    ]
    hyps = [
        "a red bird has wings",
        "the blue fish in water",
        "a green frog on leaves",
        "a red fish with fins",
    ]
    ours, per = corpus_cider([h.split() for h in hyps], [[r.split() for r in rs] for rs in refs])
    coco, coco_per = Cider().compute_score(
        {i: rs for i, rs in enumerate(refs)}, {i: [h] for i, h in enumerate(hyps)}
    )
    assert ours == pytest.approx(float(coco), rel=1e-9) and ours > 1.0
    assert per == pytest.approx([float(x) for x in coco_per], rel=1e-9)


@pytest.mark.filterwarnings("ignore:\\s*The hypothesis contains 0 counts:UserWarning")
def test_bleu_matches_nltk_corpus_bleu():
    nltk_bleu = pytest.importorskip("nltk.translate.bleu_score", reason="nltk not installed")
    refs = [
        ["this bird has a red crown .".split(), "a bird with a red crown and wings .".split()],
        ["a small blue bird , with a short bill .".split(), "this bird is blue .".split()],
        ["the bird has a long yellow bill .".split(), "a yellow bill , black wings .".split()],
    ]
    hyps = [
        "this bird has a red crown and wings .".split(),
        "a small bird is blue .".split(),
        "the bird has a yellow bill .".split(),
    ]
    ours = corpus_bleu(hyps, refs)
    for n in range(1, 5):
        weights = tuple([1.0 / n] * n)
        assert ours[n - 1] == pytest.approx(
            nltk_bleu.corpus_bleu(refs, hyps, weights=weights), rel=1e-12
        )
    # a corpus with no 4-gram match: both give exactly 0 (no smoothing)
    assert corpus_bleu([["a", "b", "c"]], [[["a", "b", "x"]]])[3] == 0.0
    assert nltk_bleu.corpus_bleu([[["a", "b", "x"]]], [["a", "b", "c"]]) == pytest.approx(0.0)


@needs_java
def test_meteor_identical_disjoint_and_corpus_vs_mean(meteor):
    corpus, per = meteor.score(
        ["a red bird with a long tail", "qq zz"],
        [["a red bird with a long tail"], ["the bird is blue"]],
    )
    assert per[0] == pytest.approx(1.0) and per[1] == 0.0
    # the toolkit's corpus score pools statistics: it is not the mean of sentence scores
    assert corpus != pytest.approx(sum(per) / 2, abs=1e-3)


@pytest.mark.java
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
    # plain CIDEr averages over all references, CIDEr-D clips and penalises length: both
    # carry the reference code's x10, and the second references differ, so both are below 1000
    assert 100 < m["paper"]["CIDEr"] < 1000 and 100 < m["standard"]["CIDEr-D"] < 1000
    disjoint = caption_metrics(["qq zz yy xx"] * 3, refs, meteor, ptb_tokenize)
    assert disjoint["standard"]["METEOR"] == 0.0
    assert disjoint["standard"]["BLEU-4"] < 1e-3 and disjoint["paper"]["BLEU-4"] == 0.0


@pytest.mark.java
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


@pytest.mark.java
@needs_java
def test_human_agreement_is_maximal_for_identical_references(meteor):
    from interpnet.metrics.ptb import ptb_tokenize

    refs = [["a red bird with a long tail."] * 3, ["the blue bird has a short bill."] * 3]
    h = human_agreement(refs, meteor, ptb_tokenize)
    assert h["standard"]["METEOR"] == pytest.approx(100.0)
    assert h["paper"]["BLEU-4"] == pytest.approx(100.0)
    with pytest.raises(ValueError, match="at least 2"):
        human_agreement([["only one"]], meteor, ptb_tokenize)


@pytest.mark.java
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


def test_cider_d_with_fixed_document_frequencies_equals_the_coco_toolkit():
    """With document frequencies from the same references, CiderD is pycocoevalcap's CIDEr-D
    per image, to rounding."""
    import random

    from pycocoevalcap.cider.cider import Cider

    from interpnet.metrics.cider import CiderD

    rng = random.Random(0)
    words = "a the flower petals yellow red white has stamen with and large small green".split()
    refs = {
        i: [" ".join(rng.choices(words, k=rng.randint(4, 12))) for _ in range(3)] for i in range(25)
    }
    res = {i: [" ".join(rng.choices(words, k=rng.randint(3, 12)))] for i in range(25)}
    _, coco = Cider().compute_score(refs, res)
    scorer = CiderD([[r.split() for r in refs[i]] for i in range(25)])
    ours = [scorer.score(res[i][0].split(), [r.split() for r in refs[i]]) for i in range(25)]
    assert ours == pytest.approx(list(coco), abs=1e-12)
    assert scorer.score(refs[0][0].split(), [refs[0][0].split()]) > scorer.score(
        ["zzz"], [refs[0][0].split()]
    )
