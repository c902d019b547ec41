"""Every kind of file interpnet reads, fuzzed: random bytes and mutations of a good file either
load or raise an InterpnetError (the CLI's one-line error), never another exception.

Hypothesis runs derandomized with a fixed number of cases per file kind (the "ci" profile), so
the suite stays fast and deterministic.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis not installed")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from interpnet.cli.main import main  # noqa: E402
from interpnet.data.images import load_image  # noqa: E402
from interpnet.data.layouts import open_layout  # noqa: E402
from interpnet.errors import CheckpointError, InterpnetError  # noqa: E402
from interpnet.features.cache import FeatureCache  # noqa: E402
from interpnet.metrics.attributes import AttributeTruth  # noqa: E402
from interpnet.model import InterpNet  # noqa: E402
from interpnet.report.html import build_report  # noqa: E402
from interpnet.rundir import RunDirectory  # noqa: E402
from interpnet.storage import save_tensors  # noqa: E402
from interpnet.text import Vocabulary  # noqa: E402
from interpnet.training import TrainConfig  # noqa: E402
from interpnet.workflows.evaluate import evaluate_run  # noqa: E402
from interpnet.workflows.explain import read_jsonl  # noqa: E402
from interpnet.workflows.train import resume_run  # noqa: E402
from tests.data.test_flowers import _fake_flowers  # noqa: E402
from tests.helpers import fit_config, tiny_config  # noqa: E402

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile("ci")
QUIET = dict(progress=False, log=lambda _: None)


@st.composite
def mutated(draw, original: bytes) -> bytes:
    """Random bytes, or the good file truncated, with bytes overwritten, or inserted."""
    kind = draw(st.sampled_from(["random", "truncate", "overwrite", "insert"]))
    if kind == "random":
        return draw(st.binary(max_size=300))
    if kind == "truncate":
        return original[: draw(st.integers(0, len(original)))]
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, max(0, len(data) - 1)))
        b = draw(st.sampled_from([0, 10, 34, 44, 58, 91, 93, 123, 125, 255, 48, 45]))
        if kind == "overwrite" and data:
            data[i] = b
        else:
            data.insert(i, b)
    return bytes(data)


def _fuzz(data, path: Path, read) -> None:
    """Write a mutation of ``path``, read it, restore the file."""
    original = path.read_bytes()
    path.write_bytes(data.draw(mutated(original)))
    try:
        read()
    except InterpnetError:
        pass
    finally:
        path.write_bytes(original)


@pytest.fixture(scope="module")
def birds(tiny_birds, tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz") / "birds"
    shutil.copytree(tiny_birds, root)
    return root


@pytest.fixture(scope="module")
def run(tiny_birds, tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "run"
    fit_config(tiny_config(tiny_birds, classifier_epochs=1, explainer_epochs=1), path)
    evaluate_run(path, use_java=False, human=False, **QUIET)
    return path


def _first_text(root: Path) -> Path:
    return next(iter(sorted((root / "text_c10").rglob("*.txt"))))


CUB_FILES = {
    "description": lambda root: _first_text(root),
    "split file": lambda root: root / "splits" / "train.txt",
    "images.txt": lambda root: root / "CUB_200_2011" / "images.txt",
    "classes.txt": lambda root: root / "CUB_200_2011" / "classes.txt",
    "image_class_labels.txt": lambda root: root / "CUB_200_2011" / "image_class_labels.txt",
}


@pytest.mark.parametrize("kind", sorted(CUB_FILES))
@given(data=st.data())
def test_cub_layout_files(birds, kind, data):
    def read():
        layout = open_layout(birds)
        for split in ("train", "val", "test"):
            layout.split(split)

    _fuzz(data, CUB_FILES[kind](birds), read)


@given(data=st.data())
def test_images(birds, data):
    image = next(iter(sorted((birds / "CUB_200_2011" / "images").rglob("*.png"))))
    _fuzz(data, image, lambda: load_image(image, 32))


@given(data=st.data())
def test_synthbirds_manifest(birds, data):
    _fuzz(data, birds / "synthbirds.json", lambda: AttributeTruth(birds))


@pytest.fixture(scope="module")
def flowers(tmp_path_factory):
    return _fake_flowers(tmp_path_factory.mktemp("fuzz") / "flowers")


@pytest.mark.parametrize("name", ["imagelabels.mat", "setid.mat", "cat_to_name.json"])
@given(data=st.data())
def test_flowers_files(flowers, name, data):
    _fuzz(data, flowers / name, lambda: open_layout(flowers).split("train"))


@pytest.fixture(scope="module")
def folder(tmp_path_factory, tiny_birds):
    root = tmp_path_factory.mktemp("fuzz") / "mine"
    examples = open_layout(tiny_birds).split("train")[:6]
    (root / "img").mkdir(parents=True)
    rows = []
    for i, e in enumerate(examples):
        shutil.copy(e.image_path, root / "img" / e.image_path.name)
        rows.append(
            {
                "file_name": f"img/{e.image_path.name}",
                "label": i % 2,
                "text": e.sentences[:2],
                "split": ["train", "val", "test"][i % 3],
            }
        )
    (root / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    csv_root = tmp_path_factory.mktemp("fuzz") / "mine-csv"
    shutil.copytree(root / "img", csv_root / "img")
    lines = ["file_name,label,text,split"] + [
        f'{r["file_name"]},{r["label"]},"{chr(10).join(r["text"])}",{r["split"]}' for r in rows
    ]
    (csv_root / "metadata.csv").write_text("\n".join(lines) + "\n")
    return root, csv_root


@pytest.mark.parametrize("which", [0, 1])
@given(data=st.data())
def test_metadata_files(folder, which, data):
    root = folder[which]
    path = root / ("metadata.jsonl" if which == 0 else "metadata.csv")
    _fuzz(data, path, lambda: [open_layout(root).split(s) for s in ("train", "val", "test")])


@pytest.mark.parametrize("suffix", [".json", ".toml"])
@given(data=st.data())
def test_config_files(tmp_path_factory, suffix, data):
    path = tmp_path_factory.mktemp("cfg") / f"c{suffix}"
    good = {"data_root": "x", "variant": "captioning", "seed": 3, "hidden_sizes": [8, 4]}
    text = (
        json.dumps(good)
        if suffix == ".json"
        else ('data_root = "x"\nvariant = "captioning"\nseed = 3\nhidden_sizes = [8, 4]\n')
    )
    path.write_text(text)
    _fuzz(data, path, lambda: TrainConfig.from_file(path))


@pytest.mark.parametrize("name", ["vocab.json", "interpnet.json", "model.safetensors"])
@given(data=st.data())
def test_checkpoint_files(run, name, data):
    def read():
        if name == "vocab.json":
            Vocabulary.load(run / name)
        model = InterpNet.from_pretrained(run)
        model.explain(torch.rand(2, 3, 32, 32))

    _fuzz(data, run / name, read)


@pytest.mark.parametrize("name", ["state/trainer.json", "state/last.safetensors"])
@settings(max_examples=6)
@given(data=st.data())
def test_training_state_files(run, tmp_path_factory, name, data):
    copy = tmp_path_factory.mktemp("state") / "run"
    shutil.copytree(run, copy)
    state = json.loads((copy / "state/trainer.json").read_text())
    state.update(phase="explainer", epoch=1)  # so that resuming reads the state's weights
    (copy / "state/trainer.json").write_text(json.dumps(state))
    _fuzz(data, copy / name, lambda: resume_run(copy, **QUIET))


@given(data=st.data())
def test_train_log(run, data):
    _fuzz(data, run / "train_log.jsonl", lambda: RunDirectory(run).read_log())


@settings(max_examples=8)
@given(data=st.data())
def test_explanation_files(run, tmp_path_factory, data):
    path = tmp_path_factory.mktemp("exp") / "e.jsonl"
    shutil.copy(run / "explanations" / "test.jsonl", path)
    before = (run / "metrics.json").read_bytes()

    def read():
        read_jsonl(path)
        evaluate_run(run, explanations=path, use_java=False, human=False, **QUIET)

    _fuzz(data, path, read)
    (run / "metrics.json").write_bytes(before)


@given(data=st.data())
def test_metrics_file_for_compare(run, data, capsys):
    def read():
        assert main(["compare", str(run)]) in (0, 2)

    _fuzz(data, run / "metrics.json", read)
    capsys.readouterr()


@settings(max_examples=8)
@given(data=st.data(), name=st.sampled_from(["explanations/test.jsonl", "metrics.json"]))
def test_report_inputs(run, tmp_path_factory, name, data):
    out = tmp_path_factory.mktemp("report") / "r.html"

    def read():
        build_report([run], out, attribute=1, n_steps=2, cache_dir=out.parent, **QUIET)

    _fuzz(data, run / name, read)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz") / "cache"
    keys = [f"img{i}.png" for i in range(5)]
    meta = {
        "backbone": "x",
        "preprocessing": {},
        "layers": ["b.1"],
        "keys": keys,
        "chunks": 1,
        "chunk_size": 512,
        "complete": True,
    }
    (folder / "chunks").mkdir(parents=True)
    (folder / "meta.json").write_text(json.dumps(meta))
    save_tensors(
        folder / "chunks" / "00000.safetensors",
        {"features": torch.rand(5, 4), "layer:b.1": torch.rand(5, 2)},
    )
    return folder, keys


@pytest.mark.parametrize("name", ["meta.json", "chunks/00000.safetensors"])
@given(data=st.data())
def test_feature_cache_files(cache, name, data):
    folder, keys = cache

    def read():
        c = FeatureCache.open(folder)
        c.dims()
        c.get(keys, ["b.1"])

    _fuzz(data, folder / name, read)


@pytest.mark.parametrize("broken", ["chunks", "keys", "layers"])
def test_a_feature_cache_index_without_a_key_is_a_one_line_error(cache, broken, tmp_path):
    folder, _ = cache
    copy = tmp_path / "cache"
    shutil.copytree(folder, copy)
    meta = json.loads((copy / "meta.json").read_text())
    meta["," + broken[1:]] = meta.pop(broken)  # as Hypothesis found it: a key's name damaged
    (copy / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=f"corrupt feature cache index .*{broken}"):
        FeatureCache.open(copy)
