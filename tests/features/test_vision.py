"""torchvision and timm tested for real (CI runs these in an environment where torch,
torchvision and timm were installed together): classifiers by name with users' checkpoints,
explained from inner layers, evaluated and reported; timm and torchvision backbones read from
the local weight caches; the torchvision example."""

import pytest
import torch
from safetensors.torch import save_file

import interpnet
from interpnet import Conditioning, InterpNet
from interpnet.cli.main import main
from interpnet.data.images import ImagePreprocessing, load_images
from interpnet.data.layouts import open_layout
from interpnet.errors import ConfigError, InterpnetError
from interpnet.features.backbones import get_backbone, image_features, image_parts
from interpnet.model.loading import load_classifier
from interpnet.storage import load_tensors
from tests.helpers import TINY_FIT, load_example, split_items, tiny_flags, vision_libraries

pytestmark = pytest.mark.vision
QUIET = dict(progress=False, log=lambda _: None)


@pytest.fixture(scope="module")
def libs():
    return vision_libraries()


def _image(root, n=0):
    return str(open_layout(root).split("test")[n].image_path)


def _train(root, run, classifier, weights, layers, capsys, *extra):
    args = ["train", "--data-root", str(root), "--out", str(run), "--classifier", classifier]
    args += ["--classifier-weights", str(weights), "--freeze-classifier", "--variant", "custom"]
    args += ["--layers", *layers, "--include-softmax", *tiny_flags(explainer_epochs=1), *extra]
    assert main(args) == 0, capsys.readouterr().err


def _classifier_equals(run, state):
    saved = load_tensors(run / "model.safetensors")
    return all(torch.equal(v, saved[f"classifier.{k}"]) for k, v in state.items())


def test_torchvision_resnet18_from_a_pth_explained_evaluated_reported(
    libs, tiny_birds, tmp_path, capsys
):
    torchvision, _ = libs
    torch.manual_seed(0)
    resnet = torchvision.models.resnet18(weights=None, num_classes=6)
    state = resnet.state_dict()
    torch.save({"epoch": 1, "model_state_dict": state}, tmp_path / "resnet18.pth")
    run = tmp_path / "run"
    _train(tiny_birds, run, "torchvision/resnet18", tmp_path / "resnet18.pth",
           ["layer3", "layer4"], capsys)  # fmt: skip
    assert _classifier_equals(run, state)
    capsys.readouterr()
    assert main(["explain", str(run), _image(tiny_birds), "--quiet"]) == 0  # no consent needed
    key, name, prob, sentence = capsys.readouterr().out.splitlines()[0].split("\t")
    assert key == _image(tiny_birds) and 0 <= float(prob) <= 1 and sentence
    assert main(["evaluate", str(run), "--no-java", "--no-human", "--no-retrieval", "--quiet"]) == 0
    report = tmp_path / "report.html"
    assert main(["report", str(run), "--attribute", "2", "--quiet", "--out", str(report)]) == 0
    assert "layer4" in report.read_text() or report.stat().st_size > 1000


def test_timm_classifier_by_name_from_safetensors(libs, tiny_birds, tmp_path, capsys):
    _, timm = libs
    torch.manual_seed(0)
    net = timm.create_model("resnet18", pretrained=False, num_classes=6)
    save_file(net.state_dict(), tmp_path / "resnet18.safetensors")
    run = tmp_path / "run"
    _train(tiny_birds, run, "timm/resnet18", tmp_path / "resnet18.safetensors",
           ["layer3", "global_pool"], capsys)  # fmt: skip
    assert _classifier_equals(run, net.state_dict())
    model = InterpNet.from_pretrained(run)  # rebuilt from its recorded name
    assert model.classifier.interpnet_spec == {
        "type": "timm",
        "name": "resnet18",
        "kwargs": {"num_classes": 6},
    }
    records = interpnet.explain_files(model, [_image(tiny_birds)])
    assert records[0]["explanation"]
    assert main(["train", "--data-root", str(tiny_birds), "--classifier", "timm/no_such_net",
                 "--out", str(tmp_path / "bad"), "--quiet"]) == 2  # fmt: skip
    assert "timm has no model 'no_such_net'" in capsys.readouterr().err
    # a model whose builder downloads (a detection backbone) is no classifier here
    with pytest.raises(ConfigError, match="no classification model 'fasterrcnn_resnet50_fpn'"):
        load_classifier("torchvision/fasterrcnn_resnet50_fpn", num_classes=6)
    regularised = load_classifier("timm/test_vit", num_classes=6, drop_path_rate=0.1)
    assert regularised.interpnet_spec["kwargs"]["drop_path_rate"] == 0.1


def test_timm_vision_transformer_through_the_api(libs, tiny_birds, tmp_path):
    pre = ImagePreprocessing(32)
    items = {split: split_items(tiny_birds, split, pre) for split in ("train", "val", "test")}
    clf = load_classifier("timm/test_vit", num_classes=6, img_size=32)
    model = interpnet.fit(
        clf,
        items["train"],
        items["val"],
        tmp_path / "run",
        conditioning=Conditioning("custom", layers=["blocks.0", "fc_norm"], include_softmax=True),
        input_spec={"kind": "image", "preprocessing": pre.to_dict()},
        **TINY_FIT,
    )
    x = torch.stack([x for x, _, _ in items["test"][:3]])
    loaded = InterpNet.from_pretrained(tmp_path / "run")
    assert loaded.explain(x) == model.explain(x)


def _fake_hub_cache(root, repo_id, state):
    """The layout huggingface_hub leaves after a download: refs/main -> a snapshot."""
    repo = root / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    save_file(state, snapshot / "model.safetensors")


def test_timm_backbone_reads_the_local_cache_and_never_downloads(
    libs, tiny_birds, tmp_path, monkeypatch, capsys
):
    _, timm = libs
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(InterpnetError, match="not in the local Hugging Face cache"):
        get_backbone("timm/test_resnet")
    torch.manual_seed(0)
    net = timm.create_model("test_resnet", pretrained=False)
    _fake_hub_cache(tmp_path / "hub", net.pretrained_cfg["hf_hub_id"], net.state_dict())
    backbone = get_backbone("timm/test_resnet")
    assert backbone.crop == 160 and backbone.feature_layer == "fc"
    assert all(torch.equal(v, backbone.model.state_dict()[k]) for k, v in net.state_dict().items()
               if not k.startswith("fc."))  # fmt: skip
    feats = image_features(backbone, [_image(tiny_birds)], ["layer3"])
    x = backbone.normalize(load_images([_image(tiny_birds)], 160, resize=backbone.resize))
    with torch.no_grad():  # the features are timm's pooled pre-logits, then layer3's
        pre_logits = net.eval().forward_head(net.forward_features(x), pre_logits=True)
    assert feats.shape[1] > net.num_features
    assert torch.allclose(feats[:, : net.num_features], pre_logits, atol=1e-4)
    # spatial: the map timm's global pooling reads, every position kept
    parts = dict(image_parts(backbone, [_image(tiny_birds)], spatial=True))
    with torch.no_grad():
        fmap = net.forward_features(x)
    assert backbone.pool_layer == "global_pool" and torch.allclose(parts["map"], fmap, atol=1e-4)
    run = tmp_path / "run"
    args = ["train", "--data-root", str(tiny_birds), "--out", str(run), "--features",
            str(tmp_path / "features"), "--backbone", "timm/test_resnet", "--backbone-layers",
            "layer3", *tiny_flags(explainer_epochs=1, classifier_epochs=1)]  # fmt: skip
    assert main(args) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(["explain", str(run), _image(tiny_birds), "--quiet"]) == 0
    assert capsys.readouterr().out.count("\t") == 3


def test_torchvision_backbone_reads_the_torch_hub_cache(libs, tiny_birds, tmp_path, monkeypatch):
    torchvision, _ = libs
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    weights = torchvision.models.get_model_weights("resnet18").DEFAULT
    cached = tmp_path / "torch" / "hub" / "checkpoints" / weights.url.rsplit("/", 1)[1]
    with pytest.raises(InterpnetError, match="interpnet does not download"):
        get_backbone("torchvision/resnet18")
    cached.parent.mkdir(parents=True)
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), cached)
    backbone = get_backbone("torchvision/resnet18")
    assert image_features(backbone, [_image(tiny_birds)]).shape == (1, 512)
    # spatial: layer4's 512 x 7 x 7 map, whose mean is the pooled feature vector
    parts = dict(image_parts(backbone, [_image(tiny_birds)], spatial=True))
    assert backbone.pool_layer == "avgpool" and parts["map"].shape == (1, 512, 7, 7)
    torch.testing.assert_close(parts["map"].mean(dim=(2, 3)), parts["avgpool"])


def test_torchvision_example(libs, tiny_birds, tmp_path, capsys):
    summary = load_example("explain_torchvision_classifier").main(
        [
            "--data",
            str(tiny_birds),
            "--out",
            str(tmp_path / "run"),
            "--image-size",
            "32",
            "--classifier-epochs",
            "1",
            "--explainer-epochs",
            "1",
            "--hidden-dim",
            "16",
            "--attribute",
            "2",
            "--no-java",
            "--quiet",
        ]  # fmt: skip
    )
    assert summary["classifier_frozen"] is True and 0 <= summary["test_accuracy"] <= 1
    assert (tmp_path / "run-resnet18.pth").is_file() and (
        tmp_path / "run/report-test.html"
    ).is_file()
    out = capsys.readouterr().out
    assert "resnet18 epoch 1/1" in out and "$ interpnet train" in out and ".png: " in out
