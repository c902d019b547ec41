"""Per-word attribution of explanations to the parts of r(x) (interpnet.WordAttributor)."""

import pytest
import torch

from interpnet.attribution import WordAttributor, sentence_tokens
from interpnet.errors import ConfigError
from interpnet.model import Conditioning, InterpNet, MLPClassifier
from interpnet.text import Vocabulary, tokenize
from interpnet.workflows.run import model_split, run_config
from tests.helpers import train_variants


def attribute(model, x, sentences=None, **options):
    """Per-word attributions of ``model``'s explanations of ``x`` (or of ``sentences``)."""
    return WordAttributor(model, **options).attribute(x, sentences)


@pytest.fixture(scope="module")
def models(tiny_birds, tmp_path_factory):
    runs = train_variants(
        tiny_birds, tmp_path_factory.mktemp("attr"), ("interpnet", "gve-label"), explainer_epochs=3
    )
    out = {}
    for variant, run in runs.items():
        model = InterpNet.from_pretrained(run)
        out[variant] = (
            model,
            model_split(model, run_config(run), "test", False).batch(torch.arange(5)),
        )
    return out


def _reference_ig(model, x, tokens, steps=100):
    """Integrated gradients written out by hand (midpoint rule, zero baseline) on the full
    teacher-forced explainer, per word: (T, dim r) attributions of log p(w_t)."""
    with torch.no_grad():
        _, r = model.introspect(x)
    ids = torch.tensor([model.vocab.encode(tokens)[:-1]])
    total = torch.zeros(ids.shape[1], r.shape[1])
    for k in range(steps):
        alpha = (k + 0.5) / steps
        point = (alpha * r).requires_grad_(True)
        logp = torch.log_softmax(model._teacher_forced(ids, point, None), dim=-1)[0]
        chosen = logp.gather(1, ids[0].unsqueeze(1)).squeeze(1)
        for t in range(ids.shape[1]):
            (g,) = torch.autograd.grad(chosen[t], point, retain_graph=t + 1 < ids.shape[1])
            total[t] += g[0]
    return total / steps * r[0]


def test_parts_add_up_to_the_score_difference(models):
    model, x = models["interpnet"]
    for a in WordAttributor(model, n_steps=32).attribute(x[:3]):
        assert a.scores.shape == (len(a.tokens), 4)
        assert torch.all(a.completeness_error <= 1e-4 + 1e-3 * a.delta.abs())
        assert torch.allclose(a.shares.abs().sum(1), torch.ones(len(a.tokens)), atol=1e-5)


def test_too_few_steps_are_reported(models):
    model, x = models["interpnet"]
    with pytest.warns(UserWarning, match="miss completeness"):
        WordAttributor(model, n_steps=1, tolerance=1e-9).attribute(x[:1], ["a red bird."])


def test_matches_integrated_gradients_written_by_hand(models):
    model, x = models["interpnet"]
    a = WordAttributor(model, n_steps=32).attribute(
        x[:1], ["a bird with a red crown and white wings."]
    )[0]
    ref = _reference_ig(model.eval(), x[:1], a.tokens)
    dims = [d for _, d in model.introspector.part_dims(x[:1])]
    per_part = torch.stack([p.sum(1) for p in ref.split(dims, dim=1)], dim=1)
    assert torch.allclose(a.scores, per_part, atol=2e-4, rtol=1e-2)


def test_parts_are_the_named_parts_of_r(models):
    model, x = models["interpnet"]
    names = [n for n, _ in model.introspector.part_dims(x)]
    assert names == ["backbone", "head.hidden.0", "head.hidden.1", "softmax"]
    assert WordAttributor(model, n_steps=4).attribute(x[:1])[0].parts == names
    gve, gx = models["gve-label"]
    assert WordAttributor(gve, n_steps=4).attribute(gx[:1])[0].parts == ["backbone", "label"]


def test_a_part_the_explainer_ignores_gets_nothing(models):
    model, x = models["interpnet"]
    dims = [d for _, d in model.introspector.part_dims(x)]
    state = {k: v.clone() for k, v in model.state_dict().items()}
    try:
        with torch.no_grad():  # the explainer reads the softmax alone
            model.explainer.fuse_cond.weight[:, : sum(dims[:-1])] = 0
        for a in attribute(model, x, n_steps=8):
            assert torch.all(a.scores[:, :3] == 0)
            moved = a.delta.abs() > 1e-6
            assert torch.allclose(a.shares[moved, 3].abs(), torch.ones(int(moved.sum())))
    finally:
        model.load_state_dict(state)


def test_attributes_the_models_own_explanations_or_given_ones(models):
    model, x = models["gve-label"]
    own = attribute(model, x, n_steps=4)
    decoded = [tokenize(e.sentence, end_with_period=False) for e in model.explain(x)]
    assert [a.tokens for a in own] == decoded
    given = ["a zyzzyva bird <unk> with a red crown."] * len(x)
    a = attribute(model, x, given, n_steps=4)[0]
    assert a.tokens == ["a", "zyzzyva", "bird", "<unk>", "with", "a", "red", "crown", "."]
    with pytest.raises(ValueError, match="sentences for"):
        attribute(model, x, given[:1])


def test_sentence_tokens_keep_unknown_words_whole():
    assert sentence_tokens("this <unk> bird has a <unk>.") == [
        "this",
        "<unk>",
        "bird",
        "has",
        "a",
        "<unk>",
        ".",
    ]
    assert sentence_tokens("") == []


def test_heat_maps_per_word_for_a_classifier_on_pixels(models):
    model, x = models["interpnet"]
    short = ["a bird with a red crown.", "a small bird."]
    first = attribute(model, x[:2], short, n_steps=4)
    again = attribute(model, x[:2], short, n_steps=4)
    for a, b in zip(first, again, strict=True):
        assert a.heatmaps.shape == (len(a.tokens), 32, 32)
        assert torch.isfinite(a.heatmaps).all() and (a.heatmaps >= 0).all()
        assert torch.equal(a.heatmaps, b.heatmaps)
    assert attribute(model, x[:1], short[1:], n_steps=4, heatmap_layer=None)[0].heatmaps is None
    with pytest.raises(ConfigError, match="unknown heat-map layer"):
        WordAttributor(model, heatmap_layer="nope")


def test_no_heat_maps_on_feature_vectors():
    torch.manual_seed(0)
    vocab = Vocabulary.build([["a", "red", "flower", "."]])
    net = MLPClassifier(6, 3, [5, 4]).eval()
    model = InterpNet.build(
        net,
        vocab,
        Conditioning("interpnet"),
        torch.randn(2, 6),
        embed_dim=4,
        hidden_dim=8,
        fusion_dim=8,
    )
    a = attribute(model, torch.randn(3, 6), ["a red flower."] * 3, n_steps=8)
    assert a[0].heatmaps is None
    assert a[0].parts == ["input", "hidden.0", "hidden.1", "softmax"]
    assert a[0].tokens == ["a", "red", "flower", "."]
