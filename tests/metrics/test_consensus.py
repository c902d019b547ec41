import pytest
import torch

from interpnet.metrics.cider import CiderD
from interpnet.metrics.consensus import ConsensusSimilarity, class_lookup, most_central
from interpnet.text import words

SENTENCES = [
    "this bird has a red crown and black wings.",
    "a bird with a red crown and black wings.",
    "this bird has a red crown and a short beak.",
    "a small yellow bird with grey feet.",
    "yellow bird.",
]
CORPUS = [SENTENCES[:3], SENTENCES[3:]]


def test_similarity_is_cider_d_for_sentences_without_repeated_ngrams():
    sim = ConsensusSimilarity(CORPUS).matrix(SENTENCES)
    cider = CiderD([[words(s) for s in refs] for refs in CORPUS])
    for i, a in enumerate(SENTENCES):
        for j, b in enumerate(SENTENCES):
            expected = cider.score(words(a), [words(b)]) / 10  # CiderD is x10
            assert sim[i, j].item() == pytest.approx(expected, abs=1e-5)
    assert torch.allclose(sim, sim.t())
    # blocks of any size give the same matrix
    assert torch.allclose(ConsensusSimilarity(CORPUS).matrix(SENTENCES, block=2), sim)


def test_a_sentence_without_words_is_similar_to_nothing():
    sim = ConsensusSimilarity(CORPUS).matrix(["", "...", SENTENCES[0]])
    assert sim[:2].abs().sum() == 0 and sim[:, :2].abs().sum() == 0


def test_the_most_central_sentence_shares_most_with_the_others():
    sim = ConsensusSimilarity(CORPUS).matrix(SENTENCES)
    assert most_central(sim) == 0  # shares "red crown and black wings" and "this bird has"
    assert most_central(sim, torch.tensor([3, 4])) == 3  # a tie: the first
    assert most_central(sim, torch.tensor([4])) == 4
    with pytest.raises(ValueError, match="empty pool"):
        most_central(sim, torch.tensor([], dtype=torch.long))


def test_class_lookup_answers_each_class_with_its_central_sentence():
    table = class_lookup(SENTENCES, [0, 0, 0, 1, 1], CORPUS)
    assert table[0] == SENTENCES[0] and table[1] == SENTENCES[3]
    assert table[-1] in (table[0], table[1])  # for a class without sentences
    with pytest.raises(ValueError, match="5 sentences but 2 labels"):
        class_lookup(SENTENCES, [0, 1], CORPUS)
    with pytest.raises(ValueError, match="at least one sentence"):
        class_lookup([], [], CORPUS)
