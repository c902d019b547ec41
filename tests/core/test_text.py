import pytest

from interpnet.errors import CheckpointError
from interpnet.text import Vocabulary, detokenize, tokenize


def test_tokenize_lowercases_splits_punctuation_and_ends_with_period():
    assert tokenize("This Bird has a RED crown, and a short bill") == [
        "this",
        "bird",
        "has",
        "a",
        "red",
        "crown",
        ",",
        "and",
        "a",
        "short",
        "bill",
        ".",
    ]
    assert tokenize("a cone-shaped bill.") == ["a", "cone-shaped", "bill", "."]
    assert tokenize("is it a bird?")[-1] == "?"
    assert tokenize("") == []


def test_detokenize_attaches_punctuation():
    tokens = tokenize("this bird has a red crown, and a short bill.")
    assert detokenize(tokens) == "this bird has a red crown, and a short bill."


def test_vocabulary_min_count_order_and_specials():
    sents = [["a", "red", "bird", "."], ["a", "blue", "bird", "."], ["a", "bird", "."]]
    vocab = Vocabulary.build(sents, min_count=2)
    assert vocab.itos[:4] == ["<pad>", "<bos>", "<eos>", "<unk>"]
    assert vocab.itos[4:] == [".", "a", "bird"]  # count 3 each, alphabetical
    ids = vocab.encode(["a", "red", "bird"])
    assert ids == [vocab.stoi["a"], vocab.unk_id, vocab.stoi["bird"], vocab.eos_id]
    assert vocab.decode(ids + [5, 6]) == ["a", "<unk>", "bird"]
    assert vocab.encode(["a", "bird", "a"], max_length=2)[-1] == vocab.eos_id


def test_vocabulary_round_trip_and_corrupt_file(tmp_path):
    vocab = Vocabulary(["x", "y"])
    vocab.save(tmp_path / "v.json")
    assert Vocabulary.load(tmp_path / "v.json").itos == vocab.itos
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="bad.json"):
        Vocabulary.load(tmp_path / "bad.json")
    (tmp_path / "wrong.json").write_text('{"itos": ["a", "b"]}')
    with pytest.raises(CheckpointError, match="wrong.json"):
        Vocabulary.load(tmp_path / "wrong.json")
