"""Grounding of a run's explanations on SynthBirds: every kind of per-word map a model has is
scored against the parts; an oracle map scores 1 and a background map 0 through the same
plumbing; evaluate reports it."""

import json

import pytest
import torch

from interpnet import InterpNet
from interpnet.attribution import sentence_tokens
from interpnet.cli.main import main
from interpnet.data.parts import PartAnnotations
from interpnet.errors import ConfigError
from interpnet.metrics.grounding import coverage
from interpnet.text.part_words import part_words
from interpnet.workflows import word_maps
from interpnet.workflows.grounding import ground_explanations
from interpnet.workflows.run import model_split, run_config
from tests.helpers import fit_config, tiny_config

ATTENTION = dict(
    explainer="attention",
    variant="custom",
    layers=["backbone.blocks.1", "head.hidden.1"],
    pool="none",
    include_softmax=True,
)


def _opened(run):
    model = InterpNet.from_pretrained(run)
    return model, model_split(model, run_config(run), "test", progress=False)


def _sentences(model, test):
    return [
        " ".join(t) for t in model.decode(model.introspect(test.batch(torch.arange(len(test))))[1])
    ]


@pytest.fixture(scope="module")
def attention_run(tiny_birds, tmp_path_factory):
    run = tmp_path_factory.mktemp("grounding") / "attention"
    fit_config(tiny_config(tiny_birds, **ATTENTION), run)
    return run


def test_every_map_of_an_attention_explainer_is_scored(attention_run, tiny_birds):
    model, test = _opened(attention_run)
    sentences = [
        "this bird has a red crown and black wings .",
        "a bird with a long yellow bill and a blue tail .",
    ] * (len(test) // 2)
    out = ground_explanations(model, test, sentences, PartAnnotations(tiny_birds), progress=False)
    assert out["images"] == len(test) and out["part_words"] == (4 + 5) * len(test) // 2
    for kind in ("attention", "integrated_gradients", "grad_cam"):
        r = out[kind]
        assert r["words"] == out["part_words"] - out["not_visible"] > 0
        for key in ("pointing", "pointing_baseline", "mass", "mass_baseline"):
            assert 0 <= r[key] <= 1
        assert set(r["pointing_by_part"]) <= {"head", "bill", "wings", "tail"}
    # the baselines: each word's part on the attention grid (8 x 8) and on the pixels (32 x 32)
    assert out["attention"]["mass_baseline"] == pytest.approx(
        out["integrated_gradients"]["mass_baseline"]
    )
    assert out["grad_cam"]["pointing_baseline"] < out["attention"]["pointing_baseline"]
    limited = ground_explanations(
        model, test, sentences, PartAnnotations(tiny_birds), ["attention"], limit=3,
        progress=False,
    )  # fmt: skip
    assert limited["images"] == 3 and set(limited) == {
        "images", "part_words", "not_visible", "attention"
    }  # fmt: skip


@pytest.mark.parametrize("where", ["part", "background"])
def test_an_oracle_map_scores_one_and_a_background_map_zero(
    tiny_run, tiny_birds, monkeypatch, where
):
    model, test = _opened(tiny_run)
    parts = PartAnnotations(tiny_birds)
    sentences = _sentences(model, test)

    def oracle(model, x, batch_sentences, kinds):
        maps = []
        for s in batch_sentences:
            tokens = sentence_tokens(s)
            regions = parts.regions(by_sentence[s], 32)
            m = torch.zeros(len(tokens), 16, 16)
            for t, meant in part_words(tokens, parts.parts):
                cover = coverage([r for p in meant if p in regions for r in regions[p]], 16, 16)
                m[t] = cover if where == "part" else (cover == 0).float()
            maps.append(m)
        return {"grad_cam": maps}

    # distinct sentences, so that each map finds its image
    sentences = [f"{s} {i}" for i, s in enumerate(sentences)]
    by_sentence = dict(zip(sentences, test.keys, strict=True))
    monkeypatch.setattr(word_maps, "word_maps", oracle)
    out = ground_explanations(model, test, sentences, parts, ["grad_cam"], progress=False)
    r = out["grad_cam"]
    assert r["words"] > 0
    if where == "part":  # the peak on the part, more mass there than the part's area
        assert r["pointing"] == 1.0 and r["mass"] > 3 * r["mass_baseline"]
    else:
        assert r["pointing"] == 0.0 and r["mass"] == 0.0


def test_a_pooled_lrcn_has_grad_cam_only_and_features_are_refused(tiny_run, tiny_birds):
    model, test = _opened(tiny_run)
    said = []
    out = ground_explanations(
        model, test, _sentences(model, test), PartAnnotations(tiny_birds), progress=False,
        log=said.append,
    )  # fmt: skip
    assert "grad_cam" in out and "integrated_gradients" not in out and "attention" not in out
    assert said == ["grounding: no integrated_gradients maps for this model"]
    test.inputs = torch.zeros(len(test), 8)
    with pytest.raises(ConfigError, match="need a split of images"):
        ground_explanations(model, test, ["x"] * len(test), PartAnnotations(tiny_birds))


def test_evaluate_reports_grounding_and_the_intervention_test(attention_run, capsys):
    quick = ["--no-java", "--no-human", "--no-retrieval", "--no-lookup", "--quiet"]
    assert main(["evaluate", str(attention_run), *quick, "--evidence-images", "4"]) == 0
    metrics = json.loads((attention_run / "metrics.json").read_text())
    assert metrics["grounding"]["images"] == metrics["intervention"]["images"] == 4
    for kind in ("attention", "integrated_gradients", "grad_cam"):
        assert kind in metrics["grounding"] and metrics["intervention"][kind]["cells"] >= 1
    table = capsys.readouterr().out
    assert "grounding: words that name or describe a part, in 4 images" in table
    assert "intervention: in 4 images, the cells of a 8 x 8 grid" in table
    assert main(["evaluate", str(attention_run), *quick, "--evidence-images", "0"]) == 0
    metrics = json.loads((attention_run / "metrics.json").read_text())
    assert "grounding" not in metrics and "intervention" not in metrics
