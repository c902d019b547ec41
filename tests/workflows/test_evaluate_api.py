"""interpnet.evaluate on data held in memory (the metrics of interpnet evaluate), and
rerankers: Reranker.from_run, and the errors of a reranker without a rerank score or the
reverse."""

import pytest
import torch

import interpnet
from interpnet import Decoding, Evaluation, Reranker
from interpnet.errors import ConfigError
from interpnet.workflows.evaluate import evaluate_run
from interpnet.workflows.run import model_split, run_config
from tests.helpers import fit_config, tiny_config

QUIET = {"progress": False, "log": lambda _: None}
FAST = {"use_java": False, "human": False, **QUIET}


@pytest.fixture(scope="module")
def run(tiny_birds, tmp_path_factory):
    run = tmp_path_factory.mktemp("api") / "run"
    fit_config(tiny_config(tiny_birds, explainer_epochs=3), run)
    return run


@pytest.fixture(scope="module")
def splits(run):
    model = interpnet.InterpNet.from_pretrained(run)
    cfg = run_config(run)
    return model, {s: model_split(model, cfg, s, progress=False) for s in ("train", "val", "test")}


def _items(split):
    """A split as the plain (input, label, sentences) items a user holds (the inputs
    preprocessed as the model takes them)."""
    x = split.batch(torch.arange(len(split)))
    return [(x[i], int(split.labels[i]), split.sentences[i]) for i in range(len(split))]


def test_in_memory_evaluation_gives_the_metrics_of_the_run_evaluation(run, splits):
    model, data = splits
    ours = interpnet.evaluate(
        model, _items(data["test"]), val=_items(data["val"]), train=_items(data["train"]), **FAST
    )
    assert isinstance(ours, Evaluation) and ours.images == len(data["test"])
    assert len(ours.records) == ours.images
    theirs = evaluate_run(run, retrieval=False, **FAST)
    assert ours.accuracy == theirs["accuracy"]
    assert [r["explanation"] for r in ours.records] == [
        r["explanation"]
        for r in map(__import__("json").loads, (run / "explanations/test.jsonl").open())
    ]
    for side in ("explanations", "lookup"):
        mine, run_side = getattr(ours, side), theirs[side]
        shared = set(mine) & set(run_side)
        assert {"standard", "specificity", "class_relevance", "fidelity"} <= shared
        assert {k: mine[k] for k in shared} == {k: run_side[k] for k in shared}, side
    assert ours.explanations["counterfactual"] == theirs["explanations"]["counterfactual"]
    assert ours.to_dict()["explanations"] == ours.explanations and "records" not in ours.to_dict()


def test_without_val_or_train_the_judged_and_lookup_parts_are_absent(splits):
    model, data = splits
    bare = interpnet.evaluate(model, data["test"], **FAST)
    assert bare.judges is None and bare.lookup is None
    assert "fidelity" not in bare.explanations and "standard" in bare.explanations
    with pytest.raises(ConfigError, match="bank"):
        interpnet.evaluate(model, data["test"], method="retrieve", **FAST)


def test_rerankers_from_a_run_and_the_errors_around_them(run, splits, tiny_birds):
    model, data = splits
    x = data["test"].batch(torch.arange(4))
    reranker = Reranker.from_run(run, "class", model=model, **QUIET)
    sampled = Decoding(method="sample", num_samples=4, rerank="class")
    assert len(model.explain(x, sampled, reranker)) == 4
    with pytest.raises(ConfigError, match="does not rerank"):
        model.explain(x, Decoding(method="sample", num_samples=4), reranker)
    with pytest.raises(ConfigError, match="Reranker.from_run"):
        model.explain(x, sampled)
    library = run.parent / "library"
    fitted = interpnet.fit(
        model.classifier, _items(data["train"]), _items(data["val"]), library,
        explainer_epochs=1, min_count=1, device="cpu", **QUIET,
    )  # fmt: skip
    with pytest.raises(ConfigError, match="give its training items"):
        Reranker.from_run(library, model=fitted, **QUIET)
    own = Reranker.from_run(library, model=fitted, train=_items(data["train"]), **QUIET)
    assert len(fitted.explain(x, sampled, own)) == 4
