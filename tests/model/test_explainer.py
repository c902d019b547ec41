import pytest
import torch

from interpnet.model import (
    VARIANTS,
    CNNClassifier,
    Conditioning,
    InterpNet,
    LRCNExplainer,
    MLPClassifier,
)
from interpnet.text import Vocabulary

VOCAB = Vocabulary(["this", "bird", "has", "a", "red", "crown", "."])
SMALL = dict(embed_dim=8, hidden_dim=16, fusion_dim=12, label_embed_dim=4)


def _model(variant: str, num_hidden: int = 2) -> InterpNet:
    clf = CNNClassifier(5, image_size=16, channels=[4, 8], hidden_sizes=[10, 6])
    return InterpNet.build(
        clf, VOCAB, Conditioning(variant, num_hidden), torch.rand(2, 3, 16, 16), **SMALL
    )


def _batch():
    x = torch.rand(4, 3, 16, 16)
    first = VOCAB.encode(["this", "bird", "has", "a", "red", "crown", "."])
    second = VOCAB.encode(["a", "red", "bird", "."])
    tokens = VOCAB.pad_batch([first, second] * 2)
    return x, tokens, torch.tensor([0, 1, 2, 3])


@pytest.mark.parametrize(
    "variant,dim",
    [("captioning", 8), ("output-only", 5), ("gve-label", 8), ("interpnet", 8 + 10 + 6 + 5)],
)
def test_variant_conditioning_sizes(variant, dim):
    assert _model(variant).explainer.config["cond_dim"] == dim


def test_interpnet_k_and_mlp_input():
    assert _model("interpnet", 1).explainer.config["cond_dim"] == 8 + 10 + 5
    assert _model("interpnet", 0).explainer.config["cond_dim"] == 8 + 5
    mlp = MLPClassifier(9, 4, [7, 3])
    m = InterpNet.build(mlp, VOCAB, Conditioning("interpnet", 2), torch.randn(2, 9), **SMALL)
    assert m.introspector.part_dims(torch.randn(2, 9)) == [
        ("input", 9),
        ("hidden.0", 7),
        ("hidden.1", 3),
        ("softmax", 4),
    ]
    with pytest.raises(ValueError, match="3 hidden layers"):
        _model("interpnet", 3)


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v != "custom"])
def test_each_variant_trains_one_step(variant):
    model = _model(variant)
    x, tokens, labels = _batch()
    opt = torch.optim.Adam(model.explainer.parameters(), lr=1e-2)
    _, r = model.introspect(x)
    before = {k: v.clone() for k, v in model.explainer.state_dict().items()}
    loss = model.explainer_loss(tokens, r, labels if model.explainer.uses_label else None)
    assert torch.isfinite(loss) and loss.item() > 0
    opt.zero_grad()
    loss.backward()
    opt.step()
    changed = [k for k, v in model.explainer.state_dict().items() if not torch.equal(v, before[k])]
    assert "out.weight" in changed and "fuse_cond.weight" in changed
    if variant == "gve-label":
        assert "label_embed.weight" in changed
    after = model.explainer_loss(tokens, r, labels if model.explainer.uses_label else None)
    assert after.item() < loss.item()


def test_gradient_never_reaches_the_classifier():
    model = _model("interpnet")
    x, tokens, _ = _batch()
    logits, r = model.introspect(x)
    model.explainer_loss(tokens, r).backward()
    assert all(p.grad is None for p in model.classifier.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.explainer.parameters())


def test_conditioning_projection_is_computed_once_per_sentence():
    model = _model("interpnet")
    x, tokens, _ = _batch()
    calls = []
    model.explainer.fuse_cond.register_forward_hook(lambda *a: calls.append(1))
    _, r = model.introspect(x)
    model.explainer_loss(tokens, r)
    assert len(calls) == 1  # one call for the batch, not one per time step
    calls.clear()
    model.decode(r, max_length=6)
    assert len(calls) == 1


def test_gve_label_needs_labels_and_bad_shapes_are_reported():
    model = _model("gve-label")
    with pytest.raises(ValueError, match="labels"):
        model.explainer.condition(torch.randn(2, 8))
    with pytest.raises(ValueError, match=r"shape \(batch, 8\)"):
        model.explainer.condition(torch.randn(2, 7), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="both"):
        LRCNExplainer(10, 4, num_classes=3)


def test_classifier_input_shape_errors():
    with pytest.raises(ValueError, match=r"\(batch, 9\)"):
        MLPClassifier(9, 2)(torch.randn(2, 8))
    with pytest.raises(ValueError, match="images"):
        CNNClassifier(2, 16, [4], [4])(torch.randn(2, 16, 16))


def test_an_explainer_records_its_constructor_arguments_as_its_config():
    from interpnet.model.explainer import EXPLAINERS, explainer_from_config, register_explainer

    plain = LRCNExplainer(10, 4, hidden_dim=8)
    assert plain.config == {
        "vocab_size": 10, "cond_dim": 4, "embed_dim": 256, "hidden_dim": 8, "fusion_dim": 512,
        "dropout": 0.2, "num_classes": 0, "label_embed_dim": 0,
    }  # fmt: skip

    @register_explainer("wide-lrcn")
    class Wide(LRCNExplainer):
        def __init__(self, vocab_size, cond_dim, width=3, **sizes):
            super().__init__(vocab_size, cond_dim, hidden_dim=width, **sizes)

    try:
        wide = Wide(10, 4, width=5, embed_dim=6)
        assert wide.config == {"vocab_size": 10, "cond_dim": 4, "width": 5, "embed_dim": 6}
        again = explainer_from_config(wide.to_config())
        assert type(again) is Wide and again.config == wide.config
        assert again.lstm1.hidden_size == 5 and again.embed.embedding_dim == 6
    finally:
        del EXPLAINERS["wide-lrcn"]
