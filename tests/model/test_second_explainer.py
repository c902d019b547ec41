"""Explainers other than the LRCN through every path (issue 34: proof that nothing assumes the
LRCN): tests/set_explainer.py's GRU over a set of tokens, as a user would write one, and the
attention and transformer explainers over r(x) kept position by position (``pool="none"``),
all with a dict conditioning: trained through the CLI with all three phases, resumed, saved
and loaded, decoded by every method and reranker, attributed, evaluated and reported."""

import json
import warnings

import pytest
import torch

from interpnet import Decoding, InterpNet, WordAttributor
from interpnet.cli.main import main
from interpnet.decoding.batch import cat_rows, flatten_rows, index_rows, unflatten_rows
from interpnet.training.rewards import run_reranker
from interpnet.workflows.run import model_split, run_config
from interpnet.workflows.train import resume_run
from tests.helpers import StopAt, fit_config, tiny_config, tiny_flags
from tests.set_explainer import SetGRUExplainer

PHASE3 = dict(discriminative_epochs=1, swap_fraction=0.5)
REWARDS = {"cider": 1.0, "class-predicted": 0.5}
QUIET = {"progress": False, "log": lambda _: None}
# the explainers under test, with the conditioning each reads
SPATIAL = dict(variant="custom", layers=["backbone.blocks.1", "head.hidden.1"], pool="none")
EXPLAINERS = {
    "set-gru": {"explainer": "set-gru"},
    "attention": {"explainer": "attention", "include_softmax": True, **SPATIAL},
    "transformer": {
        "explainer": "transformer", "include_softmax": True, "explainer_options": {"heads": 2},
        **SPATIAL,
    },
}


def _flags(options: dict) -> list[str]:
    flags = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            flags.append(flag)
        elif isinstance(value, dict):
            flags += [flag, *(f"{k}={v}" for k, v in value.items())]
        else:
            flags += [flag, *map(str, value if isinstance(value, list) else [value])]
    return flags


@pytest.fixture(scope="module", params=list(EXPLAINERS))
def kind(request):
    return request.param


@pytest.fixture(scope="module")
def run(tiny_birds, tmp_path_factory, kind):
    run = tmp_path_factory.mktemp(kind) / "run"
    flags = tiny_flags(**PHASE3, classifier_epochs=2, explainer_epochs=3)
    rewards = ["--rewards", *(f"{k}={v}" for k, v in REWARDS.items())]
    args = ["train", "--data-root", str(tiny_birds), "--out", str(run), *flags, *rewards]
    assert main([*args, *_flags(EXPLAINERS[kind])]) == 0
    return run


@pytest.fixture(scope="module")
def loaded(run):
    model = InterpNet.from_pretrained(run)
    test = model_split(model, run_config(run), "test", progress=False)
    return model, test


def test_every_phase_ran_and_the_saved_model_names_its_explainer(run, loaded, kind):
    phases = [json.loads(line)["phase"] for line in (run / "train_log.jsonl").open()]
    assert phases == ["classifier"] * 2 + ["explainer"] * 3 + ["discriminative"]
    config = json.loads((run / "interpnet.json").read_text())["explainer"]
    model, test = loaded
    assert config["type"] == kind == model.explainer.kind
    if kind == "set-gru":
        assert config["num_tokens"] == 3 and isinstance(model.explainer, SetGRUExplainer)
    else:  # the map's 8 x 8 positions, the hidden layer and the softmax: 66 tokens
        assert [shape for _, shape in config["layout"]] == [[16, 8, 8], [12], [6]]
    again = InterpNet.from_pretrained(run)
    x = test.batch(torch.arange(4))
    assert [e.sentence for e in model.explain(x)] == [e.sentence for e in again.explain(x)]


def test_an_interrupted_run_resumes_to_the_same_model(tiny_birds, tmp_path, kind):
    cfg = tiny_config(tiny_birds, rewards=REWARDS, **PHASE3, **EXPLAINERS[kind])
    full = fit_config(cfg, tmp_path / "full").state_dict()
    with pytest.raises(KeyboardInterrupt):
        fit_config(cfg, tmp_path / "cut", callbacks=[StopAt("explainer", 1)])
    resumed = resume_run(tmp_path / "cut", **QUIET).state_dict()
    assert full.keys() == resumed.keys()
    assert all(torch.equal(full[k], resumed[k]) for k in full)


DECODINGS = [
    dict(method="greedy"),
    dict(method="beam", beam_width=3),
    dict(method="diverse-beam", beam_width=4, groups=2, diversity=0.5),
    dict(method="sample", num_samples=3, top_p=0.9),
    dict(method="contrastive", distractor="neighbour"),
    dict(method="contrastive", distractor="mean"),
    dict(method="contrastive", distractor="class-mean"),
    dict(method="contrastive", distractor="rival"),
    dict(method="retrieve"),
    dict(method="sample", num_samples=3, rerank="class"),
    dict(method="beam", beam_width=2, add_references=True, rerank="class+neighbours"),
]


@pytest.mark.parametrize("options", DECODINGS, ids=lambda o: "-".join(map(str, o.values())))
def test_every_decoder_and_reranker(run, loaded, options):
    model, test = loaded
    train = model_split(model, run_config(run), "train", progress=False)
    decoding = Decoding(max_length=12, **options)
    if decoding.needs_bank:
        decoding.bank = model.distractor_bank(train)
    if decoding.needs_references:
        decoding.references = model.reference_bank(train)
    reranker = None
    if decoding.rerank:
        reranker = run_reranker(model, train, run, decoding.rerank, log=lambda _: None)
    out = model.explain(test.batch(torch.arange(len(test))), decoding, reranker)
    assert len(out) == len(test)
    vocab = set(model.vocab.itos) - {"<pad>", "<bos>", "<eos>"}
    for e in out:
        words = e.sentence.replace(".", " . ").replace(",", " , ").split()
        assert words and set(words) <= vocab | {"."}, e.sentence


def test_attribution_adds_up_for_it(loaded):
    model, test = loaded
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # completeness within the tolerance
        found = WordAttributor(model, n_steps=48).attribute(test.batch(torch.arange(3)))
    for a in found:
        assert a.scores.shape == (len(a.tokens), len(a.parts))
        torch.testing.assert_close(
            a.scores.sum(dim=1), a.logprob - a.baseline_logprob, atol=0.05, rtol=0.05
        )


def test_evaluated_explained_and_reported_through_the_cli(run, tmp_path, kind):
    quick = ["--no-java", "--no-human", "--no-retrieval", "--quiet"]
    assert main(["evaluate", str(run), *quick]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["images"] == 12 and "fidelity" in metrics["explanations"]
    out = tmp_path / "set.jsonl"
    assert main(["explain", str(run), "--split", "test", "--decode", "beam", "--beam-width",
                 "2", "--output", str(out), "--quiet"]) == 0  # fmt: skip
    assert len(out.read_text().splitlines()) == 12
    page = tmp_path / "report.html"
    argv = ["report", str(run), "--out", str(page), "--attribute", "2", "--steps", "4", "--quiet"]
    assert main(argv) == 0
    text = page.read_text(encoding="utf-8")
    explained = [
        json.loads(line)["explanation"] for line in (run / "explanations/test.jsonl").open()
    ]
    assert explained[0] in text and "attribution" in text
    # an explainer that attends shows where each word looked, over the photo
    looked = "where each word looked" in text
    assert looked == (kind != "set-gru") and (text.count('alt="attention of ') > 0) == looked


def test_its_conditioning_is_handled_as_an_opaque_batch(loaded, kind):
    model, test = loaded
    r = model.introspect(test.batch(torch.arange(5)))[1]
    cond = model.explainer.condition(r)
    assert set(cond) == {"tokens", "mask"}
    assert cond["mask"][:, -1].any() == (kind != "set-gru")  # set-gru masks its last token
    picked = index_rows(cond, torch.tensor([4, 0, 0]))
    assert torch.equal(picked["tokens"][1], cond["tokens"][0])
    both = cat_rows([cond, picked])
    assert both["tokens"].shape[0] == 8 and both["mask"].dtype == torch.bool
    back = unflatten_rows(flatten_rows(cond), cond)
    assert torch.equal(back["tokens"], cond["tokens"]) and torch.equal(back["mask"], cond["mask"])
