"""Per-word evidence maps of the explainers that attend (attention, transformer): each word's
attention over r(x)'s tokens, laid back on each feature map's grid."""

import pytest
import torch

from interpnet import Decoding, EvidenceMaps, InterpNet
from interpnet.errors import ConfigError
from interpnet.model import CNNClassifier, Conditioning
from interpnet.text import Vocabulary

VOCAB = Vocabulary(["a", "red", "bird", "with", "blue", "wings", "."])
LAYERS = ["backbone.blocks.1", "head.hidden.1"]


def _model(explainer="attention", variant="custom", **options):
    torch.manual_seed(0)
    clf = CNNClassifier(6, image_size=32, channels=[8, 16], hidden_sizes=[16, 12])
    cond = Conditioning(
        variant, layers=LAYERS if variant == "custom" else [], pool="none", **options
    )
    x = torch.rand(3, 3, 32, 32)
    sizes = dict(embed_dim=8, hidden_dim=16, fusion_dim=16)
    return InterpNet.build(clf, VOCAB, cond, x, explainer=explainer, **sizes).eval(), x


@pytest.mark.parametrize("explainer", ["attention", "transformer"])
def test_each_word_attends_over_every_token_and_its_maps_lie_on_the_grid(explainer):
    model, x = _model(explainer, include_softmax=True)
    found = EvidenceMaps(model).explain(x, ["a red bird.", "a bird with blue wings.", "bird"])
    for e, words in zip(found, (4, 6, 1), strict=True):
        assert e.tokens[:words] == e.tokens and len(e.tokens) == words
        assert e.parts == [*LAYERS, "softmax"]
        assert e.weights.shape == (words, 64 + 1 + 1)  # the map's 8 x 8 positions, two vectors
        torch.testing.assert_close(e.weights.sum(dim=1), torch.ones(words))
        torch.testing.assert_close(e.part_weights.sum(dim=1), torch.ones(words))
        assert set(e.maps) == {"backbone.blocks.1"}
        grid = e.maps["backbone.blocks.1"]
        assert grid.shape == (words, 8, 8)
        torch.testing.assert_close(grid.sum(dim=(1, 2)), e.part_weights[:, 0])


@pytest.mark.parametrize("explainer", ["attention", "transformer"])
def test_its_own_explanations_and_a_label_token(explainer):
    model, x = _model(explainer, include_softmax=True, decision_label=True)
    own = EvidenceMaps(model).explain(x, decoding=Decoding(max_length=5))
    sentences = [" ".join(e.sentence.split()) for e in model.explain(x, max_length=5)]
    assert [" ".join(e.tokens) for e in own] == [s.replace(".", " .").strip() for s in sentences]
    assert own[0].parts[-1] == "label" and own[0].weights.shape[1] == 64 + 2 + 1


def test_an_explainer_that_does_not_attend_is_a_clear_error():
    model, _ = _model(explainer="lrcn", variant="interpnet")
    with pytest.raises(ConfigError, match="does not attend over r"):
        EvidenceMaps(model)


def test_the_doubly_stochastic_attention_penalty_is_added_to_the_teacher_forced_loss():
    from interpnet.model.explainer import sentence_loss

    model, x = _model(include_softmax=True)  # in eval mode: no dropout, so two passes agree
    r = model.introspect(x)[1]
    tokens = VOCAB.pad_batch([VOCAB.encode(["a", "red", "bird"]), VOCAB.encode(["bird"])])
    r = r[:2]
    logits = model._teacher_forced(tokens, r, None)
    weights = model.explainer._weights
    plain = sentence_loss(logits, tokens, VOCAB.pad_id)
    mask = (tokens != VOCAB.pad_id).float().unsqueeze(-1)
    by_hand = ((1 - (weights * mask).sum(dim=1)) ** 2).sum(dim=1).mean()
    model.explainer._weights = None
    torch.testing.assert_close(model.explainer_loss(tokens, r), plain + by_hand)
    model.explainer.penalty = 0.0
    torch.testing.assert_close(model.explainer_loss(tokens, r), plain)
