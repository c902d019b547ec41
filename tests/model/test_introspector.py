import pytest
import torch

from interpnet.model import CNNClassifier, Introspector, MLPClassifier


def test_mlp_collects_input_hidden_and_softmax_in_order():
    model = MLPClassifier(20, 5, [12, 7])
    intro = Introspector(
        model, ["hidden.0", "hidden.1", "logits"], include_input=True, include_softmax=True
    )
    x = torch.randn(4, 20)
    logits, r = intro(x)
    assert logits.shape == (4, 5)
    assert r.shape == (4, 20 + 12 + 7 + 5 + 5)
    assert intro.part_dims(x) == [
        ("input", 20),
        ("hidden.0", 12),
        ("hidden.1", 7),
        ("logits", 5),
        ("softmax", 5),
    ]
    torch.testing.assert_close(r[:, :20], x)
    torch.testing.assert_close(r[:, -5:], torch.softmax(logits, -1))
    h0 = model.hidden[0](x)
    torch.testing.assert_close(r[:, 20:32], h0)


def test_cnn_spatial_activations_are_pooled():
    model = CNNClassifier(7, image_size=32, channels=[4, 6], hidden_sizes=[10])
    model.eval()
    x = torch.rand(3, 3, 32, 32)
    avg = Introspector(model, ["backbone.blocks.0", "backbone.blocks.1", "head.hidden.0"])
    _, r = avg(x)
    assert r.shape == (3, 4 + 6 + 10)
    feat0 = model.backbone.blocks[0](x)  # (3, 4, 16, 16)
    torch.testing.assert_close(r[:, :4], feat0.mean(dim=(2, 3)))
    flat = Introspector(model, ["backbone.blocks.1"], pool="flatten")
    assert flat(x)[1].shape == (3, 6 * 8 * 8)
    mx = Introspector(model, ["backbone.blocks.0"], pool="max")
    torch.testing.assert_close(mx(x)[1], feat0.amax(dim=(2, 3)))


def test_r_is_detached_and_hooks_are_removed():
    model = MLPClassifier(6, 3, [5])
    intro = Introspector(model, ["hidden.0"], include_softmax=True)
    logits, r = intro(torch.randn(2, 6))
    assert logits.requires_grad and not r.requires_grad
    assert all(not m._forward_hooks for m in model.modules())


def test_unknown_layer_name_is_a_clear_error():
    model = MLPClassifier(6, 3, [5])
    with pytest.raises(ValueError, match=r"unknown layer name\(s\) \['fc9'\].*available: hidden"):
        Introspector(model, ["fc9"])
    with pytest.raises(ValueError, match="pool"):
        Introspector(model, ["logits"], pool="median")
    with pytest.raises(ValueError, match="at least one"):
        Introspector(model)


def test_layer_not_run_in_forward_is_reported():
    model = MLPClassifier(6, 3, [5])
    model.unused = torch.nn.Linear(2, 2)
    with pytest.raises(RuntimeError, match="unused"):
        Introspector(model, ["unused"])(torch.randn(1, 6))


def test_works_on_any_module():
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.LazyLinear(2)
    )
    _, r = Introspector(model, ["1", "3"], include_softmax=True)(torch.rand(2, 3, 8, 8))
    assert r.shape == (2, 4 + 2 + 2)
