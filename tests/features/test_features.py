import json
import sys
from dataclasses import replace

import pytest
import torch

from interpnet import explain_files
from interpnet.cli.main import main
from interpnet.data.cub import CUBLayout
from interpnet.errors import ConfigError, InterpnetError
from interpnet.features import FeatureCache, extract_features, get_backbone
from interpnet.features import cache as cache_module
from interpnet.model import InterpNet
from tests.helpers import SHARED_DATA, fit_config, tiny_config

pytest.importorskip("efficientnet_lite_pytorch", reason="efficientnet-lite-pytorch missing")
REAL_CUB = SHARED_DATA / "cub" / "CUB_200_2011" / "images"
# ImageNet-1k classes that are birds
BIRDS = set(range(7, 25)) | set(range(80, 101)) | set(range(127, 147))
ALBATROSS = 146


@pytest.fixture(scope="module")
def lite0():
    return get_backbone("efficientnet-lite0")


@pytest.mark.skipif(not REAL_CUB.is_dir(), reason=f"real CUB photos not found at {REAL_CUB}")
def test_efficientnet_lite0_sees_birds_in_real_photos(lite0):
    from interpnet.features.backbones import image_parts

    paths = sorted(REAL_CUB.rglob("*.jpg"))
    assert len(paths) == 9
    from interpnet.data.images import load_image

    x = torch.stack([load_image(p, lite0.crop, lite0.resize) for p in paths])
    with torch.no_grad():
        probs = lite0.classify(lite0.normalize(x)).softmax(-1)
    top = probs.argmax(-1).tolist()
    assert all(t in BIRDS for t in top), top
    albatrosses = [t for p, t in zip(paths, top, strict=True) if "Albatross" in p.name]
    assert albatrosses == [ALBATROSS] * 3
    feats = image_parts(lite0, paths[:2])
    assert feats[0][0] == "_avg_pooling" and feats[0][1].shape == (2, 1280)


def _images(root, split="train"):
    return [(e.rel_path, e.image_path) for e in CUBLayout(root).split(split)]


def test_cache_is_reused_resumed_and_keyed(tiny_birds, tmp_path, monkeypatch):
    images = _images(tiny_birds)[:10]
    calls = []
    original = cache_module.image_parts
    monkeypatch.setattr(
        cache_module, "image_parts", lambda *a, **k: calls.append(len(a[1])) or original(*a, **k)
    )

    def extract():
        return extract_features(
            images,
            "efficientnet-lite0",
            tmp_path,
            ["_blocks.3"],
            batch_size=4,
            chunk_size=4,
            progress=False,
        )

    cache = extract()
    assert sum(calls) == 10
    feats = cache.get([k for k, _ in images], ["_blocks.3"])
    assert feats.shape == (10, 1280 + 40)
    calls.clear()
    again = extract()
    assert calls == [] and torch.equal(again.get([images[3][0]]), cache.get([images[3][0]]))
    # an interruption after two of three chunks: only the last chunk is computed again
    (cache.folder / "chunks" / "00002.safetensors").unlink()
    meta = json.loads((cache.folder / "meta.json").read_text())
    (cache.folder / "meta.json").write_text(json.dumps({**meta, "complete": False}))
    with pytest.raises(InterpnetError, match="did not finish"):
        FeatureCache.open(cache.folder)
    resumed = extract()
    assert calls == [2]
    assert torch.allclose(resumed.get([k for k, _ in images], ["_blocks.3"]), feats, atol=1e-5)
    other = extract_features(images[:9], "efficientnet-lite0", tmp_path, progress=False)
    assert other.folder != cache.folder  # another image list, another cache
    with pytest.raises(InterpnetError, match="no features for 1 image"):
        other.get([images[9][0]])
    with pytest.raises(InterpnetError, match="were not saved"):
        other.get([images[0][0]], ["_blocks.3"])


def test_backbone_errors(tiny_birds, tmp_path):
    with pytest.raises(ConfigError, match="unknown backbone 'nope'"):
        get_backbone("nope")
    if "torchvision" not in sys.modules:
        try:
            import torchvision  # noqa: F401
        except ImportError:
            with pytest.raises(InterpnetError, match="needs torchvision"):
                get_backbone("torchvision/resnet50")
    with pytest.raises(ConfigError, match="unknown layer"):
        extract_features(
            _images(tiny_birds)[:2], "efficientnet-lite0", tmp_path, ["_blocks.99"], progress=False
        )


def test_train_on_features_and_explain_images(tiny_birds, tmp_path, capsys):
    cfg = tiny_config(
        tiny_birds,
        features=str(tmp_path / "cache"),
        backbone_layers=["_blocks.3"],
        variant="custom",
        layers=["side._blocks_3", "main", "hidden.0"],
        include_softmax=True,
    )
    model = fit_config(cfg, tmp_path / "run")
    assert model.classifier.config["input_dim"] == 1280
    assert model.explainer.config["cond_dim"] == 40 + 1280 + 16 + 6
    loaded = InterpNet.from_pretrained(tmp_path / "run")
    assert loaded.input_spec["kind"] == "features"
    image = _images(tiny_birds, "test")[0][1]
    assert main(["explain", str(tmp_path / "run"), str(image), "--quiet"]) == 0
    line = capsys.readouterr().out.splitlines()[0].split("\t")
    assert line[0] == str(image) and line[1] in model.class_names
    # the same in one library call: the photo goes through the run's backbone first
    record = explain_files(loaded, [image])[0]
    assert [record["class_name"], f"{record['probability']:.3f}", record["explanation"]] == line[1:]
    assert main(["explain", str(tmp_path / "run"), "--split", "test", "--quiet"]) == 0
    assert "accuracy on test" in capsys.readouterr().out


def test_features_command(tiny_birds, tmp_path, capsys):
    args = ["features", "synthbirds", "--root", str(tiny_birds), "--out", str(tmp_path), "--quiet"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "48 images, 1280-d efficientnet-lite0 features" in out and "images/s" in out
    assert main(args) == 0
    assert "reused" in capsys.readouterr().out
    assert main(["features", "flowers", "--root", str(tiny_birds), "--out", str(tmp_path)]) == 2


def test_skip_missing_is_reported_on_the_feature_path(tiny_birds, tmp_path, capsys):
    import shutil

    from interpnet.workflows.run import load_run_data

    root = tmp_path / "copy"
    shutil.copytree(tiny_birds, root)
    rel = (root / "splits" / "test.txt").read_text().splitlines()[0]
    (root / "CUB_200_2011" / "images" / rel).unlink()
    cfg = tiny_config(root, features=str(tmp_path / "cache"), skip_missing=True)
    splits, _, _ = load_run_data(cfg, ("test",), progress=False)
    assert len(splits["test"]) == 11
    assert "skip-missing: dropped 1 item(s) from split 'test'" in capsys.readouterr().out


def test_spatial_features_feed_an_attending_explainer(tiny_birds, tmp_path, capsys):
    """interpnet features --spatial keeps EfficientNet-Lite0's 1280 x 7 x 7 map (float16),
    whose mean over positions is the pooled feature vector; a feature run reads it position by
    position as side.map, and the photo path (explain IMAGE) gives it the same input."""
    from interpnet.features.backbones import MAP, image_features, image_parts

    cache_dir = str(tmp_path / "cache")
    args = ["features", "synthbirds", "--root", str(tiny_birds), "--out", cache_dir]
    assert main([*args, "--spatial", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "and its 1280 x 7 x 7 feature map" in out and "--spatial" in out
    images = _images(tiny_birds)[:3]
    lite0 = get_backbone("efficientnet-lite0")
    parts = dict(image_parts(lite0, [p for _, p in images], spatial=True))
    torch.testing.assert_close(parts[MAP].mean(dim=(2, 3)), parts["_avg_pooling"])
    cache = extract_features(images, "efficientnet-lite0", tmp_path / "c2", spatial=True,
                             progress=False)  # fmt: skip
    assert cache.map_shape == [1280, 7, 7]
    rows = cache.get([k for k, _ in images], spatial=True)
    assert rows.dtype == torch.float16 and rows.shape == (3, 1280 + 1280 * 49)
    torch.testing.assert_close(rows[:, 1280:].float(), parts[MAP].flatten(1), atol=0.01, rtol=0.01)
    with pytest.raises(InterpnetError, match="holds no feature map"):
        extract_features(images, "efficientnet-lite0", tmp_path / "c3", progress=False).get(
            [images[0][0]], spatial=True
        )
    cfg = tiny_config(
        tiny_birds, features=cache_dir, spatial=True, variant="custom",
        layers=["side.map", "hidden.1"], include_softmax=True, pool="none",
        explainer="attention",
    )  # fmt: skip
    with pytest.raises(ConfigError, match="spatial keeps the backbone's feature map"):
        fit_config(replace(cfg, features=""), tmp_path / "pixels")
    model = fit_config(cfg, tmp_path / "run")
    shapes = [shape for _, shape in model.explainer.config["layout"]]
    assert shapes == [[1280, 7, 7], [12], [6]] and model.input_spec["side_inputs"] == {
        "map": [1280, 7, 7]
    }
    test = _images(tiny_birds, "test")[:2]
    from_files = image_features(lite0, [p for _, p in test], spatial=True)
    from_cache = FeatureCache.open(next((tmp_path / "cache").iterdir()))
    from_cache = from_cache.get([k for k, _ in test], spatial=True)
    torch.testing.assert_close(from_files, from_cache.float(), atol=0.02, rtol=0.02)
    assert main(["explain", str(tmp_path / "run"), str(test[0][1]), "--quiet"]) == 0
    quick = ["--no-java", "--no-human", "--no-retrieval", "--quiet"]
    assert main(["evaluate", str(tmp_path / "run"), *quick]) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["grounding"]["attention"]["words"] > 0 and metrics["intervention"]["grid"] == 7
    # the report draws where each word looked over the backbone's crop of the photo
    page = tmp_path / "report.html"
    argv = ["report", str(tmp_path / "run"), "--out", str(page), "--attribute", "1", "--quiet"]
    assert main([*argv, "--steps", "4"]) == 0
    assert 'alt="attention of ' in page.read_text(encoding="utf-8")
