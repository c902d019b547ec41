"""Retrieval decoding: the explainer chooses among the training references of the decision."""

import json
from dataclasses import replace

import pytest
import torch

import interpnet.decoding.retrieve as retrieve
from interpnet.cli.main import main
from interpnet.decoding import Decoding, ReferenceBank, decode_candidates
from interpnet.errors import ConfigError
from interpnet.report.html import _describe_decoding
from interpnet.text import Vocabulary, detokenize, tokenize
from interpnet.training.rewards import run_reranker
from interpnet.workflows.run import Run, model_split, run_config
from tests.helpers import fit_config, peaky_explainer, tiny_config

QUIET = dict(progress=False, log=lambda _: None)
VOCAB = Vocabulary([f"w{i}" for i in range(8)])  # ids 4..11 (0..3: pad, bos, eos, unk)


def _bank() -> ReferenceBank:
    sentences = [
        [["w0", "w1"], ["w2"], ["w0", "w1"]],  # class 0: one repeat
        [["w3", "w4", "w5"], ["w0", "w1"]],  # class 1: a class-0 sentence again
        [["w6"], ["w6", "zzz"]],  # class 1: one word outside the vocabulary
    ]
    return ReferenceBank.from_sentences(sentences, [0, 1, 1], VOCAB, num_classes=3)


def test_reference_bank_keeps_each_class_sentence_once_and_only_what_the_vocabulary_spells():
    bank = _bank()
    assert bank.classes.tolist() == [0, 0, 1, 1, 1]
    assert [VOCAB.decode(row.tolist()) for row in bank.ids] == [
        ["w0", "w1"],
        ["w2"],
        ["w3", "w4", "w5"],
        ["w0", "w1"],
        ["w6"],
    ]
    assert (bank.ids == VOCAB.eos_id).sum(dim=1).tolist() == [1] * 5  # each ends once
    assert bank.summary() == {"references": 5, "classes": 2, "skipped": 1}
    assert bank.rows(1).tolist() == [2, 3, 4]
    assert bank.rows(2).tolist() == [0, 1, 2, 3, 4]  # a class without references: all
    with pytest.raises(ValueError, match="at least one reference"):
        ReferenceBank.from_sentences([[["zzz"]]], [0], VOCAB, 2)
    with pytest.raises(ValueError, match="2 examples' references for 1 labels"):
        ReferenceBank.from_sentences([[["w0"]], [["w1"]]], [0], VOCAB, 2)
    with pytest.raises(ValueError, match="classes must lie in 0..1"):
        ReferenceBank.from_sentences([[["w0"]]], [2], VOCAB, 2)


def _teacher_forced(ex, cond: torch.Tensor, ids: torch.Tensor) -> float:
    ids = ids[ids != 0]
    tokens = torch.cat([torch.tensor([VOCAB.bos_id]), ids[:-1]]).unsqueeze(0)
    logp = torch.log_softmax(ex.logits(ex.words(tokens), cond.unsqueeze(0)), dim=-1)[0]
    return float(logp.gather(1, ids.unsqueeze(1)).sum())


@torch.no_grad()
def test_each_candidate_is_scored_by_the_explainers_teacher_forced_log_probability(monkeypatch):
    ex, bank = peaky_explainer(3), _bank()
    cond = ex.condition(torch.randn(5, 6))
    labels = torch.tensor([0, 1, 2, 1, 0])
    d = Decoding(method="retrieve", references=bank)
    ids, logp, lengths, best = decode_candidates(ex, cond, 1, 2, d, labels=labels)
    assert ids.shape[:2] == logp.shape == lengths.shape == (5, 5)  # class 2 -> all 5
    for b, label in enumerate(labels.tolist()):
        own = bank.rows(label)
        for k in range(5):
            row = own[k] if k < len(own) else own[0]  # padding repeats the first
            assert torch.equal(ids[b, k], bank.ids[row])
            assert logp[b, k] == pytest.approx(_teacher_forced(ex, cond[b], ids[b, k]), abs=1e-5)
        mean = logp[b, : len(own)] / lengths[b, : len(own)]
        assert best[b] == mean.argmax()
    assert lengths[0, :2].tolist() == [3, 2]  # words + <eos>
    # one (input, sentence) pair per chunk, one sentence per length group: the same scores
    monkeypatch.setattr(retrieve, "CHUNK_POSITIONS", 1)
    monkeypatch.setattr(retrieve, "LENGTH_GROUP", 1)
    again = decode_candidates(ex, cond, 1, 2, d, labels=labels)
    torch.testing.assert_close(again[1], logp)
    assert torch.equal(again[3], best)


def test_retrieval_needs_a_reference_bank_and_the_decisions():
    ex = peaky_explainer(1)
    cond = ex.condition(torch.randn(2, 6))
    with pytest.raises(ValueError, match="needs a ReferenceBank"):
        decode_candidates(ex, cond, 1, 2, Decoding(method="retrieve"), labels=torch.tensor([0, 1]))
    d = Decoding(method="retrieve", references=_bank())
    with pytest.raises(ValueError, match="predicted classes"):
        decode_candidates(ex, cond, 1, 2, d)
    with pytest.raises(ConfigError, match="must be a ReferenceBank"):
        Decoding(method="retrieve", references="train")
    assert d.needs_references and d.lacks_banks is False and d.num_candidates is None
    assert Decoding(method="retrieve").lacks_banks and not Decoding().needs_references
    assert d.to_dict()["references"] == {"references": 5, "classes": 2, "skipped": 1}


@torch.no_grad()
def test_add_references_offers_the_decisions_references_after_the_methods_own_candidates():
    ex, bank = peaky_explainer(3), _bank()
    cond = ex.condition(torch.randn(4, 6))
    labels = torch.tensor([0, 1, 2, 0])

    def candidates(d: Decoding):
        return decode_candidates(ex, cond, 1, 2, d, torch.Generator().manual_seed(0), labels)

    sampled = candidates(Decoding(method="sample", num_samples=3, max_length=4))
    refs = candidates(Decoding(method="retrieve", references=bank))
    mixed = Decoding(method="sample", num_samples=3, max_length=4, add_references=True)
    ids, logp, lengths, best = candidates(replace(mixed, references=bank))
    assert ids.shape[:2] == (4, 3 + 5) and ids.shape[2] == max(4, refs[0].shape[2])
    for part, at in ((sampled, slice(0, 3)), (refs, slice(3, 8))):
        width = part[0].shape[2]
        assert torch.equal(ids[:, at, :width], part[0]) and not ids[:, at, width:].any()
        torch.testing.assert_close(logp[:, at], part[1])
        assert torch.equal(lengths[:, at], part[2])
    assert torch.equal(best, (logp / lengths).argmax(dim=1))
    assert mixed.needs_references and mixed.lacks_banks and mixed.num_candidates is None
    assert mixed.to_dict()["add_references"] is True
    ready = replace(mixed, references=bank, rerank="class")
    assert _describe_decoding(ready.to_dict()) == (
        "sample, 3 samples and 5 training references, reranked by class"
    )
    retrieving = Decoding(method="retrieve", references=bank).to_dict()
    assert _describe_decoding(retrieving) == "retrieve among 5 training references"
    with pytest.raises(ValueError, match="needs a ReferenceBank"):
        candidates(mixed)
    with pytest.raises(ConfigError, match="already the references"):
        Decoding(method="retrieve", add_references=True)


@pytest.fixture(scope="module")
def trained(tiny_birds, tmp_path_factory):
    run = tmp_path_factory.mktemp("retrieve") / "interpnet"
    model = fit_config(tiny_config(tiny_birds), run)
    train = model_split(model, run_config(run), "train", progress=False)
    test = model_split(model, run_config(run), "test", progress=False)
    return run, model, train, test


def test_a_trained_model_explains_with_its_decisions_training_sentences(trained):
    run, model, train, test = trained
    bank = model.reference_bank(train)
    by_class: dict[int, set[str]] = {}
    for label, sents in zip(train.labels.tolist(), train.sentences, strict=True):
        by_class.setdefault(label, set()).update(detokenize(tokenize(s)) for s in sents)
    assert bank.summary()["references"] == sum(len(s) for s in by_class.values())
    x = test.batch(torch.arange(len(test)))
    d = Decoding(method="retrieve", references=bank)
    out = model.explain(x, d)
    assert all(e.sentence in by_class[e.label] for e in out)
    assert [e.sentence for e in model.explain(x, d, batch_size=3)] == [e.sentence for e in out]
    # reranked: still the decision's sentences; a log-probability weight that dwarfs the
    # reranker's scores (probabilities in [0, 1]) gives back the explainer's own choice
    reranker = run_reranker(model, train, run, "class", log=lambda _: None)
    ranked = model.explain(
        x, Decoding(method="retrieve", references=bank, rerank="class"), reranker
    )
    assert all(e.sentence in by_class[e.label] for e in ranked)
    heavy = Decoding(method="retrieve", references=bank, rerank="class", rerank_weight=1e6)
    assert [e.sentence for e in model.explain(x, heavy, reranker)] == [e.sentence for e in out]
    # an opened run builds the bank from its training split
    ready, _ = Run(run, model=model, **QUIET).prepare(Decoding(method="retrieve"))
    assert torch.equal(ready.references.ids, bank.ids)
    # with the references added to 3 samples, an input keeps the samples' own choice (the same
    # draws: retrieval takes none) or a training sentence of its decision
    sampled = model.explain(x, Decoding(method="sample", num_samples=3))
    mixed = Decoding(method="sample", num_samples=3, add_references=True, references=bank)
    chosen = [e.sentence for e in model.explain(x, mixed)]
    for sentence, own in zip(chosen, sampled, strict=True):
        assert sentence == own.sentence or sentence in by_class[own.label]
    heavy = replace(mixed, rerank="class", rerank_weight=1e6)
    assert [e.sentence for e in model.explain(x, heavy, reranker)] == chosen


def test_evaluate_and_explain_retrieve_from_the_cli(trained, tmp_path, capsys):
    run = trained[0]
    flags = ["--no-human", "--no-java", "--no-retrieval", "--quiet", "--decode", "retrieve"]
    assert main(["evaluate", str(run), *flags]) == 0
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["decoding"]["method"] == "retrieve"
    assert saved["decoding"]["references"]["references"] > 0
    assert saved["explanations"]["specificity"]["copied_share"] == 1.0
    capsys.readouterr()
    missing = ["--data-root", str(tmp_path / "moved"), "--decode", "retrieve", "--quiet"]
    assert main(["explain", str(run), "--split", "test", *missing]) == 2
    err = capsys.readouterr().err
    assert "moved: data root not found" in err and "--decode retrieve" in err
    mixed = ["--decode", "sample", "--num-samples", "2", "--add-references"]
    assert main(["explain", str(run), "--split", "test", *missing[:2], *mixed]) == 2
    assert "--add-references read" in capsys.readouterr().err
    assert main(["evaluate", str(run), *flags[:-2], *mixed]) == 0
    saved = json.loads((run / "metrics.json").read_text())["decoding"]
    assert saved["add_references"] and saved["references"]["references"] > 0
