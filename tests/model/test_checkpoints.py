import pytest
import torch
from torch import nn

from interpnet.errors import CheckpointError
from interpnet.model import CNNClassifier, Conditioning, InterpNet, MLPClassifier
from interpnet.storage import save_tensors
from interpnet.text import Vocabulary

VOCAB = Vocabulary(["a", "red", "bird", "."])


def _model(variant="interpnet", classifier=None, example=None):
    classifier = classifier or MLPClassifier(10, 4, [8, 6])
    example = example if example is not None else torch.randn(2, 10)
    return InterpNet.build(
        classifier,
        VOCAB,
        Conditioning(variant),
        example,
        class_names=None,
        embed_dim=8,
        hidden_dim=12,
        fusion_dim=12,
        label_embed_dim=4,
    )


@pytest.mark.parametrize("variant", ["interpnet", "captioning", "output-only", "gve-label"])
def test_save_load_round_trip_identical_explanations(tmp_path, variant):
    model = _model(variant)
    x = torch.randn(6, 10)
    model.save_pretrained(tmp_path / "m")
    loaded = InterpNet.from_pretrained(tmp_path / "m")
    assert loaded.explain(x) == model.explain(x)
    assert loaded.explain(x, beam_width=3) == model.explain(x, beam_width=3)
    assert loaded.config_dict() == model.config_dict()
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "interpnet.json",
        "model.safetensors",
        "vocab.json",
    ]


def test_cnn_round_trip(tmp_path):
    clf = CNNClassifier(3, 16, [4, 8], [6, 5])
    model = _model(classifier=clf, example=torch.rand(2, 3, 16, 16))
    model.save_pretrained(tmp_path / "m")
    x = torch.rand(3, 3, 16, 16)
    assert InterpNet.from_pretrained(tmp_path / "m").explain(x) == model.explain(x)


def test_missing_run_dir(tmp_path):
    with pytest.raises(CheckpointError, match="run directory not found"):
        InterpNet.from_pretrained(tmp_path / "nope")


def test_corrupt_or_truncated_weights(tmp_path):
    _model().save_pretrained(tmp_path / "m")
    weights = tmp_path / "m" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(CheckpointError, match=r"model.safetensors: corrupt model weights"):
        InterpNet.from_pretrained(tmp_path / "m")
    weights.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="corrupt"):
        InterpNet.from_pretrained(tmp_path / "m")


def test_weights_that_do_not_match_the_config(tmp_path):
    _model().save_pretrained(tmp_path / "m")
    save_tensors(tmp_path / "m" / "model.safetensors", {"x": torch.zeros(1)})
    with pytest.raises(CheckpointError, match="do not match interpnet.json"):
        InterpNet.from_pretrained(tmp_path / "m")


def test_corrupt_config(tmp_path):
    _model().save_pretrained(tmp_path / "m")
    (tmp_path / "m" / "interpnet.json").write_text("{")
    with pytest.raises(CheckpointError, match="interpnet.json: corrupt model config"):
        InterpNet.from_pretrained(tmp_path / "m")
    (tmp_path / "m" / "interpnet.json").write_text('{"classifier": {"type": "mlp"}}')
    with pytest.raises(CheckpointError, match="invalid model config"):
        InterpNet.from_pretrained(tmp_path / "m")


class MyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 7)
        self.act = nn.ReLU()
        self.out = nn.Linear(7, 3)

    def forward(self, x):
        return self.out(self.act(self.fc1(x)))


def test_any_classifier_with_custom_layers(tmp_path):
    model = InterpNet.build(
        MyNet(),
        VOCAB,
        Conditioning("custom", layers=["act", "out"], include_softmax=True),
        torch.randn(2, 10),
        embed_dim=8,
        hidden_dim=12,
        fusion_dim=12,
    )
    assert model.explainer.config["cond_dim"] == 7 + 3 + 3
    model.save_pretrained(tmp_path / "m")
    with pytest.raises(CheckpointError, match="classifier=..."):
        InterpNet.from_pretrained(tmp_path / "m")
    loaded = InterpNet.from_pretrained(tmp_path / "m", classifier=MyNet())
    x = torch.randn(4, 10)
    assert loaded.explain(x) == model.explain(x)


def test_atomic_save_leaves_no_temp_files(tmp_path):
    model = _model()
    model.save_pretrained(tmp_path / "m")
    model.save_pretrained(tmp_path / "m")
    assert not [p for p in (tmp_path / "m").iterdir() if p.name.startswith(".")]


def test_trainer_adam_is_fused_only_where_a_checkpoint_round_trip_is_exact():
    import json

    from interpnet.training.optim_state import adam, flatten_optimizer, unflatten_optimizer

    def train(module, reload):
        opt = adam(torch.optim.Adam, module.parameters(), lr=1e-2)
        gen = torch.Generator().manual_seed(0)
        for step in range(4):
            if step == 2 and reload:  # through the checkpoint format, then a new optimizer
                tensors, groups = flatten_optimizer(opt.state_dict())
                tensors = {k: v.contiguous() for k, v in tensors.items()}
                opt = adam(torch.optim.Adam, module.parameters(), lr=1e-2)
                opt.load_state_dict(unflatten_optimizer(tensors, json.loads(json.dumps(groups))))
            module(torch.randn(2, 3, 6, 6, generator=gen)).sum().backward()
            opt.step()
            opt.zero_grad()
        return opt, module.weight.detach().clone()

    for channels_last in (False, True):
        weights = []
        for reload in (False, True):
            torch.manual_seed(0)
            conv = torch.nn.Conv2d(3, 4, 3)
            if channels_last:
                conv = conv.to(memory_format=torch.channels_last)
            opt, w = train(conv, reload)
            weights.append(w)
        assert bool(opt.defaults["fused"]) is not channels_last
        assert torch.equal(*weights)
