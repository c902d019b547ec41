"""Specificity, self-retrieval, counterfactual introspection, the discriminative phase,
decoders and the separation of judges from rewards."""

import copy
import json
from dataclasses import replace

import pytest
import torch

from interpnet.cli.main import main
from interpnet.decoding import Decoding, beam_candidates, beam_search, rerank_choice, sample
from interpnet.decoding.greedy import greedy_decode
from interpnet.decoding.rerank import RewardContext
from interpnet.decoding.sampling import nucleus_filter
from interpnet.errors import ConfigError
from interpnet.metrics.faithfulness import (
    choose_donors,
    counterfactual_change,
    counterfactual_move,
    pearson,
    total_variation,
)
from interpnet.metrics.retrieval import candidate_pools, self_retrieval
from interpnet.metrics.specificity import specificity
from interpnet.model.interpnet import InterpNet
from interpnet.scorers.retrieval import RetrievalModel
from interpnet.scorers.rewards import (
    CiderReward,
    ClassCiderReward,
    ClassReward,
    RetrievalReward,
)
from interpnet.scorers.sentence_classifier import SentenceClassifier
from interpnet.scorers.store import ROLE_SPLITS
from interpnet.training import TrainingArgs
from interpnet.training.decisions import CrossFitDecisions, DropoutDecisions, SwapDecisions
from interpnet.training.losses import leave_one_out_advantage, policy_gradient_loss
from interpnet.training.rewards import build_reward
from interpnet.workflows.counterfactual import counterfactual_explanations
from interpnet.workflows.run import model_split, run_config
from interpnet.workflows.scoring import counterfactual_scores
from interpnet.workflows.train import resume_run
from tests.helpers import StopAt, fit_config, peaky_explainer, tiny_config, tiny_flags

QUIET = dict(progress=False, log=lambda _: None)
REWARDS = {"class-predicted": 1.0, "cider": 0.5, "retrieval": 0.5}


# ---- specificity --------------------------------------------------------------------------
def test_identical_explanations_have_distinct_share_one_over_n():
    s = specificity(["This flower is red."] * 8, ["this flower is red", "a blue one"])
    assert s["distinct_share"] == 1 / 8 and s["distinct_sentences"] == 1
    assert s["copied_share"] == 1.0  # verbatim a training reference, case and period aside
    assert s["vocabulary"] == 4 and s["mean_length"] == 4
    assert s["distinct_1"] == 4 / 32 and s["distinct_2"] == 3 / 24


def test_specificity_by_hand():
    s = specificity(["a red petal", "a red stem", "blue"], ["blue"])
    assert s["distinct_share"] == 1.0 and s["copied_share"] == pytest.approx(1 / 3)
    assert s["distinct_1"] == 5 / 7 and s["distinct_2"] == 3 / 4
    with pytest.raises(ValueError):
        specificity([])


# ---- self-retrieval -----------------------------------------------------------------------
def test_candidate_pools_hold_the_own_image_first_and_distinct_others():
    pools = candidate_pools(30, 10, seed=1)
    assert pools.shape == (30, 10)
    assert torch.equal(pools[:, 0], torch.arange(30))
    for i, row in enumerate(pools.tolist()):
        assert len(set(row)) == 10 and i not in row[1:]
    assert candidate_pools(5, 100).shape == (5, 5)


def test_scores_that_ignore_the_sentence_rank_at_chance():
    m = self_retrieval(torch.ones(50, 100))
    assert m["median_rank"] == 50.5 and m["R@1"] == 0 and m["R@5"] == 0
    best = torch.zeros(4, 10)
    best[:, 0] = 1.0
    assert self_retrieval(best)["R@1"] == 1.0
    worst = -best
    m = self_retrieval(worst)
    assert m["R@5"] == 0 and m["median_rank"] == 10


def test_identical_explanations_retrieve_at_chance_level():
    gen = torch.Generator().manual_seed(0)
    feats = torch.randn(200, 6, generator=gen)
    words = ["red", "blue", "green", "white"]
    sents = [[f"a {words[int(f[0] > 0) * 2 + int(f[1] > 0)]} flower"] * 3 for f in feats]
    model = RetrievalModel.fit(sents, feats, embed_dim=16, epochs=30)
    from interpnet.scorers.store import Scorers
    from interpnet.workflows.judges import retrieval_metrics

    scorers = Scorers("judge", None, model)
    own = retrieval_metrics(scorers, [[s[0]] for s in sents], feats)
    same = retrieval_metrics(scorers, [["a red flower"]] * 200, feats)
    assert own["R@5"] > 0.15  # the colour narrows 100 images down to about 25
    assert same["R@5"] <= 0.1 and same["median_rank"] > 30  # chance: R@5 = 0.05, rank 50.5


# ---- counterfactual introspection ---------------------------------------------------------
def test_counterfactual_move_by_hand():
    probs = torch.tensor([[0.7, 0.2, 0.1], [0.4, 0.5, 0.1], [0.1, 0.3, 0.6]])
    m = counterfactual_move(
        probs, donor_predicted=torch.tensor([0, 0, 1]), own_predicted=torch.tensor([1, 1, 2])
    )
    assert m["moved"] == pytest.approx(1 / 3) and m["prefers_donor"] == pytest.approx(1 / 3)
    assert m["swaps"] == 3


def test_donors_are_predicted_in_another_class():
    pred = torch.tensor([0, 0, 1, 2, 2, 2])
    donors = choose_donors(pred, seed=3)
    assert all(pred[d] != pred[i] for i, d in enumerate(donors.tolist()))
    assert (choose_donors(torch.zeros(4, dtype=torch.long)) == -1).all()


def test_same_class_donors_and_the_correlation_measures_by_hand():
    pred = torch.tensor([0, 0, 1, 2, 2, 2])
    donors = choose_donors(pred, seed=3, same_class=True)
    assert donors[2] == -1  # alone in its class
    assert all(pred[d] == pred[i] and d != i for i, d in enumerate(donors.tolist()) if d >= 0)
    p = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    q = torch.tensor([[0.0, 1.0], [0.5, 0.5]])
    assert total_variation(p, q).tolist() == [1.0, 0.0]
    x = torch.tensor([0.0, 0.2, 0.5, 1.0])
    assert pearson(x, 3 * x + 1) == pytest.approx(1.0)
    assert pearson(x, -x) == pytest.approx(-1.0)
    assert pearson(x, torch.zeros(4)) == 0.0  # explanations that never change: no relation
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8]])
    change = counterfactual_change(probs, probs.flip(1), ["a", "b"], ["a", "c"])
    assert change == {
        "text_changed": 0.5, "judge_changed": 1.0, "judge_distance": pytest.approx(0.7),
        "swaps": 2,
    }  # fmt: skip


class _HashJudge:
    """A stand-in judge for hand-made cases: each distinct sentence gets its own fixed class
    distribution (so equal sentences are judged alike, different ones differently)."""

    def __init__(self, classes: int):
        self.sentence_classifier = self
        self.classes = classes

    def predict_proba(self, sentences):
        rows = []
        for s in sentences:
            g = torch.Generator().manual_seed(sum(map(ord, s)) % 100_003)
            rows.append(torch.softmax(3 * torch.randn(self.classes, generator=g), 0))
        return torch.stack(rows) if rows else torch.zeros(0, self.classes)


@pytest.fixture(scope="module")
def trained(tiny_birds, tmp_path_factory):
    run = tmp_path_factory.mktemp("faithful") / "interpnet"
    cfg = tiny_config(tiny_birds, discriminative_epochs=2, rewards=REWARDS)
    model = fit_config(cfg, run)
    data = model_split(model, run_config(run), "test", progress=False)
    return run, model, data


def test_decision_mask_covers_hidden_layers_and_softmax(trained):
    _, model, data = trained
    mask = model.decision_mask(data.batch(torch.arange(2)))
    dims = dict(model.introspector.part_dims(data.batch(torch.arange(2))))
    x_part = model.classifier.feature_layer_name  # the CNN's pooled features are its "x"
    assert list(dims)[0] == x_part
    assert int(mask.sum()) == sum(d for name, d in dims.items() if name != x_part)
    assert not mask[: dims[x_part]].any() and mask[dims[x_part] :].all()


def test_backbone_blocks_and_side_maps_are_input_not_decision():
    """A CNN block or a feature run's backbone map in r(x) is part of the input, x: a
    counterfactual swaps only the hidden layers and the softmax, never the image's own map."""
    from interpnet.model import CNNClassifier, Conditioning, MLPClassifier
    from interpnet.text import Vocabulary

    vocab = Vocabulary(["a", "bird"])
    cnn = CNNClassifier(6, image_size=32, channels=[8, 16], hidden_sizes=[16, 12])
    reads = Conditioning("custom", layers=["backbone.blocks.1", "head.hidden.1"],
                         include_softmax=True, pool="none")  # fmt: skip
    x = torch.rand(2, 3, 32, 32)
    model = InterpNet.build(cnn, vocab, reads, x, embed_dim=4, hidden_dim=8, fusion_dim=8)
    mask = model.decision_mask(x)
    assert not mask[: 16 * 8 * 8].any() and mask[16 * 8 * 8 :].all() and len(mask) == 1024 + 18
    mlp = MLPClassifier(4, 3, [5], side_inputs={"map": [2, 2, 2]})
    reads = Conditioning("custom", layers=["side.map", "hidden.0"], include_softmax=True,
                         pool="none")  # fmt: skip
    model = InterpNet.build(mlp, vocab, reads, torch.rand(2, 12), embed_dim=4, hidden_dim=8,
                            fusion_dim=8)  # fmt: skip
    assert model.decision_mask(torch.rand(2, 12)).tolist() == [False] * 8 + [True] * 8


def test_a_swap_moves_nothing_when_the_model_ignores_r(trained):
    _, model, data = trained
    blind = copy.deepcopy(model)
    torch.manual_seed(0)
    with torch.no_grad():
        blind.explainer.fuse_cond.weight.zero_()  # r(x) no longer reaches the decoder
        for param in blind.classifier.parameters():  # ...and the decisions vary
            param.copy_(torch.randn(param.shape))  # (the same draw in any memory format)
    predicted = blind.predict(data.batch(torch.arange(len(data))))[0]
    assert len(set(predicted.tolist())) > 1
    swap = counterfactual_explanations(blind, data, Decoding())
    plain = {e.sentence for e in blind.explain(data.batch(torch.arange(len(data))))}
    assert len(plain) == 1 and set(swap["sentences"]) == plain
    assert len(swap["sentences"]) == len(data)


def test_a_model_that_ignores_r_has_no_correlation_and_no_change(trained):
    _, model, data = trained
    blind = copy.deepcopy(model)
    torch.manual_seed(0)
    with torch.no_grad():
        blind.explainer.fuse_cond.weight.zero_()
        for param in blind.classifier.parameters():
            param.copy_(torch.randn(param.shape))
    judge = _HashJudge(len(model.class_names))
    mine = [e.sentence for e in blind.explain(data.batch(torch.arange(len(data))))]
    out = counterfactual_scores(blind, data, Decoding(), None, judge, mine)
    assert out["correlation"]["pearson"] == 0.0 and out["correlation"]["swaps"] > len(data)
    assert out["correlation"]["decision_change"] > 0.1  # the decisions differ; the text does not
    for control in ("same_class", "same_class_decision_only"):
        assert out[control]["text_changed"] == 0.0 and out[control]["judge_changed"] == 0.0
    softmax_only = f"{len(model.class_names)} of "  # the softmax's entries alone
    assert out["same_class_decision_only"]["swapped"].startswith(softmax_only)
    # with r(x) weighing on the words, the same swaps move the explanations
    sighted = copy.deepcopy(blind)
    with torch.no_grad():
        sighted.explainer.fuse_cond.weight.normal_(0, 3.0)
    seen = [e.sentence for e in sighted.explain(data.batch(torch.arange(len(data))))]
    moving = counterfactual_scores(sighted, data, Decoding(), None, judge, seen)
    assert moving["correlation"]["explanation_change"] > 0
    assert moving["same_class"]["text_changed"] > 0


def test_counterfactual_is_not_applicable_to_captioning(tiny_birds, tmp_path):
    run = tmp_path / "cap"
    model = fit_config(tiny_config(tiny_birds, variant="captioning"), run)
    data = model_split(model, run_config(run), "test", progress=False)
    assert counterfactual_explanations(model, data, Decoding()) is None


# ---- policy gradient ----------------------------------------------------------------------
def test_leave_one_out_advantage_by_hand():
    adv = leave_one_out_advantage(torch.tensor([1.0, 0.0, 0.0, 2.0, 2.0, 2.0]), 3)
    assert torch.allclose(adv, torch.tensor([1.0, -0.5, -0.5, 0.0, 0.0, 0.0]))


def test_policy_gradient_raises_the_probability_of_rewarded_samples():
    logits = torch.zeros(5, requires_grad=True)
    gen = torch.Generator().manual_seed(0)
    for _ in range(200):
        tokens = torch.multinomial(torch.softmax(logits, 0).detach(), 8, True, generator=gen)
        rewards = (tokens == 3).float()
        loss = policy_gradient_loss(torch.log_softmax(logits, 0)[tokens], rewards, 8)
        (grad,) = torch.autograd.grad(loss, logits)
        with torch.no_grad():
            logits -= 0.5 * grad
    assert torch.softmax(logits, 0)[3] > 0.9
    # equal rewards carry no signal
    loss = policy_gradient_loss(torch.log_softmax(logits, 0)[torch.arange(4)], torch.ones(4), 4)
    assert torch.autograd.grad(loss, logits)[0].abs().max() == 0


# ---- decoders -----------------------------------------------------------------------------
def test_nucleus_filter_by_hand():
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    assert torch.allclose(nucleus_filter(probs, 0.7), torch.tensor([[0.625, 0.375, 0.0, 0.0]]))
    assert torch.allclose(nucleus_filter(probs, 0.1), torch.tensor([[1.0, 0.0, 0.0, 0.0]]))
    assert torch.equal(nucleus_filter(probs, 1.0), probs)


def test_sampling_a_tiny_nucleus_is_greedy_and_sampling_is_seeded():
    ex = peaky_explainer(sharpness=4.0)
    cond = ex.condition(torch.randn(6, 6))
    g, gs = greedy_decode(ex, cond, 1, 2, 15)
    s, ss = sample(ex, cond, 1, 2, 1, 15, top_p=1e-6)
    assert torch.equal(g, s) and torch.allclose(gs, ss)
    a, _ = sample(ex, cond, 1, 2, 4, 15, generator=torch.Generator().manual_seed(1))
    b, _ = sample(ex, cond, 1, 2, 4, 15, generator=torch.Generator().manual_seed(1))
    assert a.shape[0] == 24 and torch.equal(a, b)
    assert len({tuple(row.tolist()) for row in a}) > 6  # samples differ


def test_sampling_with_given_uniforms_draws_each_row_by_its_own_numbers():
    ex = peaky_explainer(sharpness=1.0)
    cond = ex.condition(torch.randn(6, 6))
    u = torch.rand(6 * 3, 15, generator=torch.Generator().manual_seed(0))
    whole, whole_lp = sample(ex, cond, 1, 2, 3, 15, uniforms=u)
    part, part_lp = sample(ex, cond[2:4], 1, 2, 3, 15, uniforms=u[6:12])
    assert torch.equal(whole[6:12, : part.shape[1]], part)  # a share of the batch: its rows
    assert (whole[6:12, part.shape[1] :] == 0).all()
    assert torch.allclose(whole_lp[6:12], part_lp)
    assert len({tuple(row.tolist()) for row in whole}) > 6  # samples differ
    # the first word follows the model's distribution (inverse of its cumulative sum) over the
    # words a sentence may hold
    first = ex.condition(torch.zeros(1, 6)).expand(4000, -1)
    tokens, _ = sample(ex, first, 1, 2, 1, 15, uniforms=torch.rand(4000, 15))
    probs = torch.softmax(
        ex.step(torch.ones(1, dtype=torch.long), first[:1], ex.init_state(1, first.device))[0], -1
    )[0]
    probs[:2] = 0.0  # <pad> and <bos> are never written: the others' share, renormalised
    probs /= probs.sum()
    counts = torch.bincount(tokens[:, 0], minlength=len(probs)).float() / 4000
    assert (counts - probs).abs().max() < 0.03
    with pytest.raises(ValueError, match="uniforms must have shape"):
        sample(ex, cond, 1, 2, 3, 15, uniforms=u[:5])


def test_diverse_beam_search_without_diversity_is_beam_search_and_with_it_diversifies():
    ex = peaky_explainer(2, sharpness=4.0)
    cond = ex.condition(torch.randn(8, 6))
    ids, logp, lengths, _ = beam_candidates(ex, cond, 1, 2, 4, 15)
    best, score = beam_search(ex, cond, 1, 2, 4, 15)
    pick = logp.argmax(1)
    assert torch.allclose(logp[torch.arange(8), pick], score)
    d_ids, d_logp, _, _ = beam_candidates(ex, cond, 1, 2, 4, 15, groups=4, diversity=100.0)
    firsts = d_ids[:, :, 0]
    assert all(len(set(row.tolist())) == 4 for row in firsts)  # each group starts differently
    assert (d_logp.max(1).values <= logp.max(1).values + 1e-5).all()
    with pytest.raises(ValueError, match="must divide"):
        beam_candidates(ex, cond, 1, 2, 4, 15, groups=3)


def test_rerank_choice_weighs_score_against_log_probability():
    scores = torch.tensor([[0.1, 0.9], [0.5, 0.4]])
    logp = torch.tensor([[-2.0, -20.0], [-1.0, -1.0]])
    lengths = torch.tensor([[2, 2], [1, 1]])
    assert rerank_choice(scores, logp, lengths, 0.0).tolist() == [1, 0]
    assert rerank_choice(scores, logp, lengths, 1.0).tolist() == [0, 0]


def test_decoding_validates_its_options():
    assert Decoding().method == "greedy" and Decoding(beam_width=3).method == "beam"
    for bad in (
        dict(method="nope"),
        dict(temperature=0),
        dict(top_p=0),
        dict(num_samples=0),
        dict(method="diverse-beam", beam_width=4, groups=3),
        dict(diversity=-1.0),
    ):
        with pytest.raises(ConfigError):
            Decoding(**bad)


def test_every_decoder_explains_a_trained_model(trained):
    run, model, data = trained
    x = data.batch(torch.arange(len(data)))
    from interpnet.training.rewards import run_reranker

    train = model_split(model, run_config(run), "train", progress=False)
    rerankers = {
        name: run_reranker(model, train, run, name, log=lambda _: None)
        for name in ("class", "class+retrieval", "class+neighbours")
    }
    for d in (
        Decoding(),
        Decoding(beam_width=3),
        Decoding(method="diverse-beam", beam_width=4, groups=2, diversity=1.0),
        Decoding(method="sample", num_samples=3, top_p=0.9, temperature=0.7),
        Decoding(method="sample", num_samples=4, rerank="class"),
        Decoding(method="sample", num_samples=4, rerank="class+retrieval"),
        Decoding(method="sample", num_samples=4, rerank="class+neighbours"),
        Decoding(method="contrastive", contrast=0.5, distractor="neighbour"),
        Decoding(method="contrastive", contrast=0.3, distractor="mean"),
    ):
        out = model.explain(x, d, reranker=rerankers.get(d.rerank))
        assert len(out) == len(data) and all(e.sentence for e in out)
        again = model.explain(x, d, reranker=rerankers.get(d.rerank))
        assert [e.sentence for e in out] == [e.sentence for e in again]
    with pytest.raises(ValueError, match="no reranker"):
        model.explain(x, Decoding(method="sample", num_samples=2, rerank="class"))
    # the bank distractors: one sentence per input, the same in batches of any size
    bank = model.distractor_bank(train)
    assert bank.summary()["images"] == len(train)
    for kind in ("train-mean", "class-mean", "rival"):
        d = Decoding(method="contrastive", contrast=0.6, distractor=kind, bank=bank)
        whole = [e.sentence for e in model.explain(x, d)]
        assert whole == [e.sentence for e in model.explain(x, d, batch_size=3)]
    with pytest.raises(ValueError, match="needs a DistractorBank"):
        model.explain(x, Decoding(method="contrastive", distractor="rival"))


def test_an_opened_run_reads_the_training_split_once(trained, monkeypatch):
    """A reranked contrastive decoding with a bank distractor: the reranker and the bank come
    from one reading of the training split, none when nothing needs it."""
    import interpnet.workflows.run as workflow

    run, model, _ = trained
    cfg = run_config(run)
    reads = []

    def counted(*args, **kwargs):
        reads.append(args[2])
        return model_split(*args, **kwargs)

    monkeypatch.setattr(workflow, "model_split", counted)
    both = Decoding(method="contrastive", distractor="class-mean", rerank="class")
    opened = workflow.Run(run, model=model, progress=False, log=lambda _: None)
    decoding, reranker = opened.prepare(both)
    assert reads == ["train"] and reranker is not None
    assert decoding.bank.summary()["images"] == len(model_split(model, cfg, "train", False))
    again, _ = opened.prepare(both)
    assert reads == ["train"]  # read once by this run
    torch.testing.assert_close(again.bank.class_means, decoding.bank.class_means)
    greedy = Decoding()
    fresh = workflow.Run(run, model=model, progress=False, log=lambda _: None)
    assert fresh.prepare(greedy) == (greedy, None)
    kept = (decoding, reranker)  # a bank and a reranker already there are kept
    assert fresh.prepare(decoding, reranker) == kept
    assert reads == ["train"]


# ---- rewards and their separation from the judges ------------------------------------------
def test_rewards_by_hand():
    sc = SentenceClassifier.fit(
        ["red petals", "blue petals", "red", "blue"], [0, 1, 0, 1], 2, min_count=1
    )
    ctx = RewardContext(
        rows=torch.tensor([0, 0, 1]),
        r=torch.zeros(2, 3),
        predicted=torch.tensor([0, 1]),
        true=torch.tensor([1, 1]),
        references=[["red petals"], ["blue petals"]],
    )
    sents = ["red petals", "blue petals", "blue petals"]
    pred = ClassReward(sc, "predicted")(sents, ctx)
    true = ClassReward(sc, "true")(sents, ctx)
    assert pred[0] > 0.5 and pred[1] < 0.5 and pred[2] > 0.5
    assert true[0] < 0.5 and true[1] > 0.5
    cider = CiderReward([["red petals"], ["blue petals"]])(sents, ctx)
    assert cider[0] > cider[1] and cider[2] == cider[0]
    rm = RetrievalModel.fit(
        [["red"], ["blue"]], torch.eye(3)[:2], embed_dim=4, min_count=1, epochs=50
    )
    ret = RetrievalReward(rm)(
        ["red", "blue", "blue"], RewardContext(torch.tensor([0, 0, 1]), torch.eye(3)[:2])
    )
    assert ret[0] > 0.5 and ret[1] < 0.5 and ret[2] > 0.5


def test_class_cider_weighs_the_class_template_nothing():
    # class 0's three images all share "this flower has red petals"; each adds its own detail
    corpus = [
        ["this flower has red petals and a dark center"],
        ["this flower has red petals with white edges"],
        ["this flower has red petals and long stamen"],
        ["a blue flower with round petals"],
    ]
    labels = [0, 0, 0, 1]
    ctx = RewardContext(
        rows=torch.tensor([0, 0, 0]),
        r=torch.zeros(1, 3),
        true=torch.tensor([0]),
        references=[corpus[0]],
    )
    sents = [
        "this flower has red petals",  # the class template only
        "a dark center",  # the image's own detail only
        "this flower has red petals and a dark center",
    ]
    within = ClassCiderReward(corpus, labels)(sents, ctx)
    plain = CiderReward(corpus)(sents, ctx)
    assert within[0] == 0  # every n-gram of the template is in all of the class's images
    assert within[1] > within[0] and within[2] > within[0]
    assert plain[0] > 0  # over all classes the template still earns plain CIDEr-D
    # the class is that of the image the references describe (after a swap, the donor's)
    donor = RewardContext(
        rows=torch.tensor([0]),
        r=torch.zeros(1, 3),
        true=torch.tensor([1]),
        references=[corpus[0]],
        reference_classes=torch.tensor([0]),
    )
    assert ClassCiderReward(corpus, labels)(["a dark center"], donor)[0] == within[1]
    with pytest.raises(ValueError, match="no references of class 5"):
        ClassCiderReward(corpus, labels)(["x"], replace(ctx, true=torch.tensor([5])))
    with pytest.raises(ConfigError, match="'cider-class' reward needs the training references' c"):
        build_reward({"cider-class": 1.0}, None, corpus)


def test_judges_and_rewards_are_trained_on_different_data(trained, tmp_path):
    from interpnet.workflows.evaluate import evaluate_run

    run, _, _ = trained
    assert ROLE_SPLITS["judge"] != ROLE_SPLITS["reward"]
    m = evaluate_run(run, human=False, use_java=False, judge_cache=tmp_path / "jf", **QUIET)
    assert any((tmp_path / "jf").glob("efficientnet-lite0-*/meta.json"))  # a shared cache
    judge = json.loads((run / "scorers/judge/info.json").read_text())
    reward = json.loads((run / "scorers/reward/info.json").read_text())
    assert judge["trained_on"] == "val references" and reward["trained_on"] == "train references"
    assert m["judges"]["trained_on"] == "val references"
    assert judge["key"] != reward["key"]
    jw = SentenceClassifier.load(run / "scorers/judge/sentence_classifier")[0]
    rw = SentenceClassifier.load(run / "scorers/reward/sentence_classifier")[0]
    assert jw.ngrams != rw.ngrams or not torch.equal(jw.bag.weight, rw.bag.weight)


# ---- the discriminative phase -------------------------------------------------------------
def test_discriminative_phase_logs_rewards_and_keeps_the_best(trained):
    run, _, _ = trained
    log = [json.loads(x) for x in (run / "train_log.jsonl").read_text().splitlines()]
    disc = [r for r in log if r["phase"] == "discriminative"]
    assert len(disc) == 2
    assert {
        "train_reward",
        "val_reward",
        "val_class-predicted",
        "val_cider",
        "val_retrieval",
    } <= set(disc[0])


def test_discriminative_phase_resumes_to_the_same_model(tiny_birds, tmp_path):
    cfg = tiny_config(tiny_birds, discriminative_epochs=2, rewards=REWARDS, lr_discriminative=1e-2)
    full = fit_config(cfg, tmp_path / "full").state_dict()
    with pytest.raises(KeyboardInterrupt):
        fit_config(cfg, tmp_path / "cut", callbacks=[StopAt("discriminative", 1)])
    state = resume_run(tmp_path / "cut", **QUIET).state_dict()
    assert all(torch.equal(full[k], state[k]) for k in full)


def test_training_options_of_the_discriminative_phase_are_checked():
    with pytest.raises(ConfigError, match="unknown reward"):
        TrainingArgs(rewards={"bleu": 1.0})
    with pytest.raises(ConfigError, match="at least one reward"):
        TrainingArgs(discriminative_epochs=3)
    with pytest.raises(ConfigError, match="num_samples"):
        TrainingArgs(num_samples=1)
    with pytest.raises(ConfigError, match="class_groups"):
        TrainingArgs(class_groups=1)


def test_class_groups_batch_phase_3_by_class(tiny_birds, tmp_path):
    from interpnet.workflows.train import configured_trainer

    run = tmp_path / "groups"
    cfg = tiny_config(
        tiny_birds, discriminative_epochs=1, rewards={"retrieval": 1.0}, class_groups=3
    )
    trainer = configured_trainer(cfg, run, progress=False, log=lambda _: None)
    trainer.fit()
    log = [json.loads(x) for x in (run / "train_log.jsonl").read_text().splitlines()]
    assert log[-1]["phase"] == "discriminative" and "val_retrieval" in log[-1]
    labels = trainer.data["train"].labels
    batches = list(trainer.ctx.batches(len(labels), 6, "discriminative", 1, "", classes=labels))
    seen = [labels[g].unique().numel() for b in batches for g in b.split(3)]
    plain = trainer.ctx.batches(len(labels), 6, "discriminative", 1, "")
    mixed = [labels[g].unique().numel() for b in plain for g in b.split(3)]
    assert sum(n == 1 for n in seen) > sum(n == 1 for n in mixed)
    assert sorted(torch.cat(batches).tolist()) == list(range(len(labels)))


def test_gve_needs_the_true_class_reward(tiny_birds, tmp_path):
    cfg = tiny_config(tiny_birds, variant="gve", discriminative_epochs=1)
    model = fit_config(cfg, tmp_path / "gve")
    assert model.conditioning.name == "GVE" and model.explainer.uses_label
    args = json.loads((tmp_path / "gve/training_args.json").read_text())
    assert args["rewards"] == {"class-true": 1.0}
    cfg = tiny_config(tiny_birds, variant="gve", discriminative_epochs=1, rewards={"cider": 1.0})
    with pytest.raises(ConfigError, match="gve variant"):
        fit_config(cfg, tmp_path / "bad")


def test_cli_rewards_and_decoders(tiny_birds, tmp_path, capsys):
    run = tmp_path / "run"
    flags = tiny_flags(discriminative_epochs=1)
    assert (
        main(
            [
                "train",
                "--data-root",
                str(tiny_birds),
                "--out",
                str(run),
                *flags,
                "--rewards",
                "class-predicted=1",
                "cider=0.5",
            ]
        )
        == 0
    )
    args = json.loads((run / "training_args.json").read_text())
    assert args["rewards"] == {"class-predicted": 1.0, "cider": 0.5}
    assert (
        main(
            [
                "train",
                "--data-root",
                str(tiny_birds),
                "--out",
                str(tmp_path / "x"),
                *flags,
                "--rewards",
                "bleu=1",
            ]
        )
        == 2
    )
    assert "unknown reward" in capsys.readouterr().err
    assert (
        main(
            [
                "explain",
                str(run),
                "--split",
                "test",
                "--decode",
                "sample",
                "--num-samples",
                "3",
                "--rerank",
                "class",
                "--quiet",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "explain",
                str(run),
                "--split",
                "test",
                "--decode",
                "diverse-beam",
                "--beam-width",
                "4",
                "--groups",
                "3",
                "--quiet",
            ]
        )
        == 2
    )
    assert "must divide" in capsys.readouterr().err
    contrastive = ["--decode", "contrastive", "--contrast", "0.4", "--distractor", "mean"]
    assert main(["explain", str(run), "--split", "test", *contrastive, "--quiet"]) == 0
    assert main(["explain", str(run), "--split", "test", *contrastive[:2], "--contrast", "1"]) == 2
    assert "contrast must be in [0, 1)" in capsys.readouterr().err
    bank = ["--decode", "contrastive", "--distractor", "class-mean", "--quiet"]
    assert main(["explain", str(run), "--split", "test", *bank]) == 0
    assert main(["evaluate", str(run), "--no-human", "--no-java", "--no-retrieval", *bank]) == 0
    saved = json.loads((run / "metrics.json").read_text())["decoding"]
    assert saved["distractor"] == "class-mean" and saved["bank"]["images"] > 0
    # the bank reads the training split: a missing data root names it and the fix
    image = str(next((tiny_birds / "CUB_200_2011" / "images").rglob("*.png")))
    missing = ["--data-root", str(tmp_path / "moved")]
    assert main(["explain", str(run), image, *bank, *missing]) == 2
    err = capsys.readouterr().err
    assert "moved: data root not found" in err and "--distractor class-mean reads" in err
    assert main(["explain", str(run), image, *bank]) == 0
    flags = ["--no-human", "--no-java", "--no-retrieval", "--quiet"]
    assert main(["evaluate", str(run), *flags, "--decode", "beam", "--beam-width", "2"]) == 0
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["decoding"]["method"] == "beam" and saved["decoding"]["beam_width"] == 2
    assert "self_retrieval" not in saved["explanations"]
    assert "| distinct share |" in capsys.readouterr().out


def test_fine_tuning_a_finished_run(tiny_birds, tmp_path, capsys):
    src = tmp_path / "glabel"
    fit_config(tiny_config(tiny_birds, variant="gve-label"), src)
    before = (src / "model.safetensors").read_bytes()
    out = tmp_path / "gve"
    assert (
        main(
            [
                "finetune",
                str(src),
                "--out",
                str(out),
                "--variant",
                "gve",
                "--discriminative-epochs",
                "1",
                "--lr-discriminative",
                "0.01",
                "--quiet",
            ]
        )
        == 0
    )
    assert (src / "model.safetensors").read_bytes() == before  # the source is untouched
    args = json.loads((out / "training_args.json").read_text())
    assert args["rewards"] == {"class-true": 1.0} and args["discriminative_epochs"] == 1
    log = [json.loads(x)["phase"] for x in (out / "train_log.jsonl").read_text().splitlines()]
    assert log.count("discriminative") == 1 and log.count("explainer") == 2
    assert json.loads((out / "interpnet.json").read_text())["conditioning"]["variant"] == "gve"
    assert (
        main(
            [
                "finetune",
                str(src),
                "--out",
                str(out),
                "--discriminative-epochs",
                "1",
                "--rewards",
                "cider=1",
                "--quiet",
            ]
        )
        == 2
    )
    assert "already holds a run" in capsys.readouterr().err
    assert main(["finetune", str(src), "--out", str(tmp_path / "none"), "--quiet"]) == 2
    assert "discriminative_epochs" in capsys.readouterr().err


def test_counterfactual_training_swaps_decisions_and_their_targets(tiny_birds, tmp_path):
    from interpnet.workflows.train import configured_trainer

    run = tmp_path / "swap"
    rewards = {**REWARDS, "cider-class": 0.5}  # whose class follows the swapped references
    cfg = tiny_config(tiny_birds, discriminative_epochs=1, rewards=rewards, swap_fraction=1.0)
    trainer = configured_trainer(cfg, run, progress=False, log=lambda _: None)
    trainer.fit()
    log = [json.loads(x) for x in (run / "train_log.jsonl").read_text().splitlines()]
    assert log[-1]["phase"] == "discriminative"
    phase = trainer.phase("discriminative")
    (swap,) = phase.decisions
    assert isinstance(swap, SwapDecisions)
    idx = torch.arange(len(trainer.data["train"]))
    ctx = phase.context("train", idx, 1)
    ctx.predicted = torch.arange(len(ctx.predicted)) % 3  # three predicted classes
    swapped = swap(ctx, idx, torch.Generator().manual_seed(0))
    mask = swap.mask
    for i in range(len(ctx.predicted)):
        assert swapped.predicted[i] != ctx.predicted[i]  # every image got another decision
        assert torch.equal(swapped.r[i][~mask], ctx.r[i][~mask])  # ...and kept its own x
        j = [k for k in range(len(ctx.r)) if torch.equal(ctx.r[k][mask], swapped.r[i][mask])]
        assert j and swapped.predicted[i] == ctx.predicted[j[0]]
        assert swapped.references[i] == ctx.references[j[0]]
        assert swapped.reference_classes[i] == ctx.true[j[0]]  # whose references they are
        assert swapped.true[i] == ctx.true[i]  # the image's own class is kept
    cap = tiny_config(
        tiny_birds,
        variant="captioning",
        discriminative_epochs=1,
        rewards=REWARDS,
        swap_fraction=0.5,
    )
    with pytest.raises(ConfigError, match="swap_fraction needs decision parts"):
        fit_config(cap, tmp_path / "cap")


def test_dropout_decisions_read_r_with_the_classifiers_dropout_on(tiny_birds, tmp_path):
    from interpnet.workflows.train import configured_trainer

    run = tmp_path / "dropout"
    cfg = tiny_config(tiny_birds, discriminative_epochs=1, rewards=REWARDS, dropout_decisions=True)
    trainer = configured_trainer(cfg, run, progress=False, log=lambda _: None)
    trainer.fit()
    log = [json.loads(x) for x in (run / "train_log.jsonl").read_text().splitlines()]
    assert log[-1]["phase"] == "discriminative"
    classifier = trainer.model.classifier
    before = {k: v.clone() for k, v in classifier.state_dict().items()}
    idx = torch.arange(len(trainer.data["train"]))
    phase = trainer.phase("discriminative")
    (dropout,) = phase.decisions
    assert isinstance(dropout, DropoutDecisions)
    ctx = phase.context("train", idx, 1)
    first, second = dropout(ctx, idx), dropout(ctx, idx)
    assert first.r.shape == ctx.r.shape
    assert not torch.equal(first.r, ctx.r) and not torch.equal(first.r, second.r)  # new draws
    assert torch.equal(first.true, ctx.true) and first.references == ctx.references
    assert not classifier.training  # left as it was: eval mode, same weights and statistics
    assert all(torch.equal(v, before[k]) for k, v in classifier.state_dict().items())
    with torch.no_grad():
        eval_r = trainer.model.introspect(trainer.data["train"].batch(idx))[1]
    assert torch.allclose(eval_r, ctx.r)  # without it r(x) is read in eval mode
    paper = tiny_config(
        tiny_birds, recipe="paper", discriminative_epochs=1, rewards=REWARDS, dropout_decisions=True
    )
    with pytest.raises(ConfigError, match="dropout_decisions needs a classifier with dropout"):
        fit_config(paper, tmp_path / "paper")


def test_stratified_folds_deal_each_class_over_the_folds():
    from interpnet.training.crossfit import stratified_folds

    labels = torch.tensor([0] * 7 + [1] * 5 + [2] * 1)
    folds = stratified_folds(labels, 3, seed=0)
    assert torch.equal(folds, stratified_folds(labels, 3, seed=0))  # deterministic
    for cls in range(2):
        counts = torch.bincount(folds[labels == cls], minlength=3)
        assert counts.max() - counts.min() <= 1  # each class spread evenly
    assert set(folds.tolist()) == {0, 1, 2}


def test_out_of_fold_softmax_comes_from_classifiers_that_never_saw_the_item():
    from interpnet.data.splits import SplitData
    from interpnet.training.crossfit import out_of_fold_softmax, stratified_folds

    n, classes = 12, 3
    gen = torch.Generator().manual_seed(0)
    train = SplitData(
        "train",
        torch.randn(n, 5, generator=gen),
        torch.arange(n) % classes,
        [[f"s{i}"] for i in range(n)],
        [f"k{i}" for i in range(n)],
    )
    seen: list[set[str]] = []

    def train_epoch(clf, subset, optimizer, epoch):
        seen.append(set(subset.keys))
        loss = torch.nn.functional.cross_entropy(clf(subset.inputs), subset.labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    template = torch.nn.Linear(5, classes)
    before = template.weight.detach().clone()
    probs, folds = out_of_fold_softmax(
        template,
        train,
        3,
        [0.1, 0.05],
        lambda clf, lr: torch.optim.SGD(clf.parameters(), lr=lr),
        train_epoch,
        seed=1,
        device=torch.device("cpu"),
    )
    assert torch.equal(folds, stratified_folds(train.labels, 3, seed=1))
    assert probs.shape == (n, classes) and torch.allclose(probs.sum(-1), torch.ones(n))
    assert len(seen) == 3 * 2  # 3 folds x 2 epochs
    for fold in range(3):
        held = {f"k{i}" for i in (folds == fold).nonzero().flatten().tolist()}
        for keys in seen[2 * fold : 2 * fold + 2]:
            assert not keys & held and len(keys) == n - len(held)
    assert torch.equal(template.weight, before)  # the classifier itself is untouched


def test_cross_fit_decisions_replace_the_softmax_and_the_predicted_class(tiny_birds, tmp_path):
    from interpnet.workflows.train import configured_trainer

    run = tmp_path / "crossfit"
    cfg = tiny_config(tiny_birds, discriminative_epochs=1, rewards=REWARDS, cross_fit_folds=2)
    lines: list[str] = []
    trainer = configured_trainer(cfg, run, progress=False, log=lines.append)
    trainer.fit()
    assert any("cross-fit decisions: 2 folds" in line for line in lines)
    phase = trainer.phase("discriminative")
    (cross_fit,) = phase.decisions
    assert isinstance(cross_fit, CrossFitDecisions)
    probs, predicted = cross_fit.probs, cross_fit.predicted
    n = len(trainer.data["train"])
    assert probs.shape == (n, trainer.model.num_classes)
    assert torch.equal(predicted, probs.argmax(-1))
    idx = torch.arange(n)
    ctx = phase.context("train", idx, 1)
    crossed = cross_fit(ctx, idx)
    soft = cross_fit.softmax_mask
    assert int(soft.sum()) == trainer.model.num_classes
    assert torch.equal(crossed.r[:, ~soft], ctx.r[:, ~soft])  # x and hidden layers kept
    assert torch.allclose(crossed.r[:, soft], probs)
    assert torch.equal(crossed.predicted, predicted) and crossed.references == ctx.references
    assert not torch.allclose(crossed.r[:, soft], ctx.r[:, soft])  # other classifiers' view
    for bad, match in (
        (dict(variant="captioning"), "needs the softmax in r"),
        (dict(freeze_classifier=True), "trained in this run's classifier phase"),
    ):
        cfg = tiny_config(
            tiny_birds, discriminative_epochs=1, rewards=REWARDS, cross_fit_folds=2, **bad
        )
        with pytest.raises(ConfigError, match=match):
            fit_config(cfg, tmp_path / f"bad{len(match)}")
    with pytest.raises(ConfigError, match="at least 2"):
        tiny_config(tiny_birds, cross_fit_folds=1)
    with pytest.raises(ConfigError, match="choose one"):
        tiny_config(tiny_birds, cross_fit_folds=3, dropout_decisions=True)


def test_decision_label_feeds_the_classifiers_own_decision(tiny_birds, tmp_path):
    from interpnet.model import Conditioning
    from interpnet.workflows.train import configured_trainer

    cfg = tiny_config(
        tiny_birds, decision_label=True, discriminative_epochs=1, rewards=REWARDS, swap_fraction=1
    )
    trainer = configured_trainer(cfg, tmp_path / "label", progress=False, log=lambda _: None)
    model = trainer.fit()
    assert model.explainer.uses_label and model.conditioning.name == "InterpNET_2 + decision label"
    pairs = trainer.ctx.pairs["train"]
    every = torch.arange(len(pairs))
    tok, r, label = pairs.batch(model, every, trainer.device)
    assert torch.equal(label, pairs.predicted[pairs.rows])  # the decision, not the truth
    pairs.predicted = (pairs.predicted + 1) % model.num_classes
    assert torch.equal(pairs.batch(model, every, trainer.device)[2], pairs.predicted[pairs.rows])
    again = type(model).from_pretrained(tmp_path / "label")
    assert again.conditioning.decision_label and again.explainer.uses_label
    swap = counterfactual_explanations(again, trainer.data["val"], Decoding())
    assert swap["swapped"].startswith("label + ") and "r(x) entries" in swap["swapped"]
    with pytest.raises(ConfigError, match="reads no softmax"):
        Conditioning("captioning", decision_label=True)
    with pytest.raises(ConfigError, match="reads no softmax"):
        tiny_config(tiny_birds, variant="gve-label", decision_label=True)
