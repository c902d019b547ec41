import json
import shutil

import pytest

from interpnet.cli.main import main
from interpnet.data.synthbirds import MANIFEST
from interpnet.errors import InterpnetError
from interpnet.metrics.attributes import AttributeTruth
from interpnet.metrics.consensus import class_lookup
from interpnet.metrics.human_cache import human_agreement_key
from interpnet.workflows.evaluate import evaluate_run
from interpnet.workflows.run import open_run_layout, run_config
from tests.helpers import train_variants

pytest.importorskip("pycocoevalcap.bleu.bleu", reason="pycocoevalcap not installed")
needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="java not installed")
QUIET = dict(progress=False, log=lambda _: None)


@pytest.fixture(scope="module")
def runs(tiny_birds, tmp_path_factory):
    return train_variants(tiny_birds, tmp_path_factory.mktemp("eval"), ("interpnet", "captioning"))


def _strip(m):
    return {k: v for k, v in m.items() if k != "seconds"}


@pytest.mark.slow
@pytest.mark.java
@needs_java
def test_evaluate_writes_metrics_and_is_deterministic(runs):
    run = runs["interpnet"]
    first = evaluate_run(run, **QUIET)
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["images"] == 12 and saved["variant"] == "InterpNET_2"
    assert set(saved["explanations"]["standard"]) == {
        "BLEU-1",
        "BLEU-2",
        "BLEU-3",
        "BLEU-4",
        "METEOR",
        "ROUGE-L",
        "CIDEr-D",
    }
    assert set(saved["explanations"]["paper"]) == {"METEOR", "BLEU-4", "CIDEr"}
    for side in ("explanations", "human"):
        assert set(saved[side]["class_relevance"]) == {"predicted_class", "true_class"}
        assert "fidelity" in saved[side] and "wrong_examples" in saved[side]
        assert set(saved[side]["attributes"]) >= {"precision", "recall"}
    assert saved["human"]["attributes"]["precision"] == 1.0  # references only state the truth
    assert (run / "explanations" / "test.jsonl").is_file()
    for side in ("explanations", "human"):
        assert set(saved[side]["specificity"]) >= {"distinct_share", "copied_share", "distinct_2"}
        assert set(saved[side]["self_retrieval"]) == {"R@1", "R@5", "median_rank", "pool"}
        assert saved[side]["self_retrieval"]["pool"] == 12  # all images of a small split
    cf = saved["explanations"]["counterfactual"]
    labels = [json.loads(x)["label"] for x in (run / "explanations/test.jsonl").open()]
    assert cf["applicable"] and cf["swaps"] == sum(len(set(labels) - {y}) > 0 for y in labels)
    assert saved["judges"]["trained_on"] == "val references"
    assert saved["judges"]["heldout"] == "train references"
    assert 0 <= saved["judges"]["heldout_sentence_accuracy"] <= 1
    assert saved["judges"]["heldout_retrieval"]["pool"] > 1
    assert (run / "scorers" / "judge" / "sentence_classifier" / "model.safetensors").is_file()
    assert (run / "scorers" / "judge" / "retrieval" / "model.safetensors").is_file()
    second = evaluate_run(run, **QUIET)
    assert _strip(first) == _strip(second)


def test_human_agreement_is_computed_once_per_references(runs, tmp_path, monkeypatch):
    run, cache = runs["captioning"], tmp_path / "human"
    options = dict(use_java=False, retrieval=False, counterfactual=False, human_cache=cache)
    first = evaluate_run(run, **options, **QUIET)
    assert len(list(cache.iterdir())) == 1

    def recomputed(*args, **kwargs):
        raise AssertionError("human agreement computed again")

    monkeypatch.setattr("interpnet.metrics.human_cache.human_agreement", recomputed)
    logs = []
    second = evaluate_run(run, **options, progress=False, log=logs.append)
    for proto in ("standard", "paper"):
        assert second["human"][proto] == first["human"][proto]
    assert any("human agreement read from the cache" in line for line in logs)
    refs = [["a red bird.", "a blue bird."]]
    key = human_agreement_key(refs, "PTB", True)
    assert key == human_agreement_key([["a red bird.", "a blue bird."]], "PTB", True)
    assert key != human_agreement_key([["a red bird.", "a green bird."]], "PTB", True)
    assert key != human_agreement_key(refs, "fallback", True)
    assert key != human_agreement_key(refs, "PTB", False)


def test_without_java_the_other_metrics_are_still_computed(runs, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    logs = []
    m = evaluate_run(runs["captioning"], human=False, progress=False, log=logs.append)
    assert m["explanations"]["counterfactual"] == {
        "applicable": False,
        "why": "r(x) holds only the input: no decision to swap",
    }
    warning = [line for line in logs if "java not found" in line]
    assert len(warning) == 1 and "apt-get install" in warning[0]
    assert "METEOR" not in m["explanations"]["standard"]
    assert "BLEU-4" in m["explanations"]["standard"] and "CIDEr" in m["explanations"]["paper"]
    assert m["tokenizer"].startswith("interpnet fallback")


@pytest.mark.java
@needs_java
def test_scoring_an_explanations_file(runs, tmp_path):
    run = runs["interpnet"]
    records = (
        [json.loads(x) for x in (run / "explanations" / "test.jsonl").read_text().splitlines()]
        if (run / "explanations/test.jsonl").exists()
        else None
    )
    if records is None:
        evaluate_run(run, human=False, **QUIET)
        records = [
            json.loads(x) for x in (run / "explanations/test.jsonl").read_text().splitlines()
        ]
    for r, text in zip(records, ["", "ünïcödé 🐦", "word " * 300], strict=False):
        r["explanation"] = text
    path = tmp_path / "mine.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    m = evaluate_run(run, explanations=path, human=False, **QUIET)
    assert m["images"] == 12
    split = m["explanations"]["attributes"]["by_decision"]
    assert sum(g["images"] for g in split.values()) == 12
    path.write_text("".join(json.dumps(r) + "\n" for r in records[1:]))
    with pytest.raises(InterpnetError, match="no explanation for 1 image"):
        evaluate_run(run, explanations=path, human=False, **QUIET)
    path.write_text("".join(json.dumps({**r, "label": 99}) + "\n" for r in records))
    with pytest.raises(InterpnetError, match="label 99 is not a class index of the data"):
        evaluate_run(run, explanations=path, human=False, **QUIET)


def test_the_lookup_table_is_scored_like_explanations(runs, tmp_path):
    run = runs["interpnet"]
    options = dict(human=False, use_java=False, counterfactual=False, **QUIET)
    m = evaluate_run(run, **options)
    records = [json.loads(x) for x in (run / "explanations" / "test.jsonl").open()]
    layout = open_run_layout(run_config(run))
    train = layout.split("train", skip_missing=True)
    table = class_lookup(
        [s for e in train for s in e.sentences],
        [e.label for e in train for _ in e.sentences],
        [e.sentences for e in train],
    )
    assert m["lookup"]["specificity"]["copied_share"] == 1.0
    distinct = len({table.get(r["label"], table[-1]) for r in records}) / len(records)
    assert m["lookup"]["specificity"]["distinct_share"] == distinct
    # explanations that are the lookup table's sentences score exactly as the lookup does
    path = tmp_path / "lookup.jsonl"
    lines = [{**r, "explanation": table.get(r["label"], table[-1])} for r in records]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    same = evaluate_run(run, explanations=path, **options)
    for key in ("standard", "paper", "specificity", "fidelity", "self_retrieval", "attributes"):
        assert same["explanations"][key] == same["lookup"][key] == m["lookup"][key]
    assert "lookup" not in evaluate_run(run, lookup=False, **options)


@pytest.mark.slow
@pytest.mark.java
@needs_java
def test_evaluate_and_compare_commands(runs, tmp_path, capsys):
    for run in runs.values():
        assert main(["evaluate", str(run), "--quiet", "--no-human"]) == 0
    out = capsys.readouterr().out
    assert "| std METEOR |" in out and "| paper METEOR |" in out
    assert "| metric | explanations | human agreement | lookup table |" in out
    rows = [x for x in out.splitlines() if x.startswith("| attribute precision: correct")]
    last = json.loads((list(runs.values())[-1] / "metrics.json").read_text())["explanations"]
    value = last["attributes"]["by_decision"]["correct"]["precision"]
    shown = "-" if value is None else f"{100 * value:.1f}%"
    assert len(rows) == 2 and rows[-1].split("|")[2:4] == [f" {shown} ", " - "]
    csv_path = tmp_path / "table.csv"
    assert main(["compare", *map(str, runs.values()), "--csv", str(csv_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("InterpNET_2") == 2 and "captioning" in out  # Markdown and CSV
    lines = csv_path.read_text().splitlines()
    assert lines[0].startswith("run,variant,accuracy,std BLEU-1") and len(lines) == 5
    assert lines[3].startswith("human agreement,")
    assert lines[4].startswith(f"lookup table ({next(iter(runs.values()))}'s decisions)")
    assert main(["compare", str(tmp_path)]) == 2
    assert "interpnet evaluate" in capsys.readouterr().err


def test_attribute_precision_recall_by_hand(tiny_birds):
    truth = AttributeTruth(tiny_birds)
    manifest = json.loads((tiny_birds / MANIFEST).read_text())
    img = next(i for i in manifest["images"] if i["occluded"] is None)
    key = img["path"]
    attrs = manifest["species"][int(key[:3]) - 1]["attributes"]
    wrong = "blue" if attrs["crown_color"] != "blue" else "red"
    sentence = f"this bird has a {attrs['tail_color']} tail and a {wrong} crown."
    scores = truth.score([key], [sentence])
    assert scores["precision"] == 0.5 and scores["mentions_per_sentence"] == 2
    disc = truth.discriminative[key]
    assert scores["recall"] == pytest.approx(
        len(disc & {("tail_color", attrs["tail_color"])}) / len(disc)
    )
    # by decision: an attribute of the predicted species (not the image's), and one of the
    # image's species on the part its image hides
    species = {sp["class_id"]: sp["attributes"] for sp in manifest["species"]}
    own = int(key[:3])
    other, theirs = next(
        (c, a) for c, a in species.items() if c != own and a["wing_color"] != attrs["wing_color"]
    )
    hidden = next(i for i in manifest["images"] if i["occluded"] == "tail")
    hidden_attrs = species[int(hidden["path"][:3])]
    names = [f"{other:03d}.x", f"{int(hidden['path'][:3]):03d}.x"]
    sentences = [
        f"this bird has {theirs['wing_color']} wings and a {attrs['tail_color']} tail.",
        f"this bird has a {hidden_attrs['tail_color']} tail.",
    ]
    split = truth.score([key, hidden["path"]], sentences, names)["by_decision"]
    assert split["misclassified"] == {
        "images": 1,
        "mentions": 2,
        "precision": 0.5,
        "occluded_share": 0.0,
        "predicted_species_share": 0.5,
    }
    assert split["correct"]["images"] == 1 and split["correct"]["precision"] == 0.0
    assert split["correct"]["occluded_share"] == 1.0
    assert split["correct"]["predicted_species_share"] == 0.0
