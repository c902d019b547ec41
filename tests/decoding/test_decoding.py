import pytest
import torch

from interpnet.decoding import Decoding, beam_search, decode_candidates, greedy_decode
from interpnet.errors import ConfigError
from tests.helpers import peaky_explainer


def test_beam_width_one_equals_greedy():
    ex = peaky_explainer()
    cond = ex.condition(torch.randn(16, 6))
    g_ids, g_scores = greedy_decode(ex, cond, 1, 2, max_length=15)
    b_ids, b_scores = beam_search(ex, cond, 1, 2, beam_width=1, max_length=15)
    assert torch.equal(g_ids, b_ids)
    torch.testing.assert_close(g_scores, b_scores)


def test_batched_decoding_matches_one_by_one():
    ex = peaky_explainer(1)
    cond = ex.condition(torch.randn(5, 6))
    ids, _ = beam_search(ex, cond, 1, 2, beam_width=3, max_length=12)
    for i in range(5):
        single, _ = beam_search(ex, cond[i : i + 1], 1, 2, beam_width=3, max_length=12)
        n = single.shape[1]
        assert torch.equal(ids[i, :n], single[0])
        assert (ids[i, n:] == 0).all()


def test_beam_search_scores_at_least_greedy_on_this_model():
    ex = peaky_explainer(2)
    cond = ex.condition(torch.randn(32, 6))
    _, g = greedy_decode(ex, cond, 1, 2, max_length=20)
    _, b = beam_search(ex, cond, 1, 2, beam_width=5, max_length=20)
    assert (b >= g - 1e-5).all()
    assert (b > g + 1e-4).sum() >= 5  # and strictly better for several inputs


def test_length_penalty_prefers_longer_sentences():
    ex = peaky_explainer(2)
    cond = ex.condition(torch.randn(32, 6))
    short, _ = beam_search(ex, cond, 1, 2, beam_width=5, max_length=20, alpha=0.0)
    long, _ = beam_search(ex, cond, 1, 2, beam_width=5, max_length=20, alpha=3.0)
    assert (long != 0).sum() > (short != 0).sum()


def test_max_length_and_one_loop_for_the_whole_batch():
    ex = peaky_explainer(3)
    cond = ex.condition(torch.randn(40, 6))
    calls = []
    original = ex.step
    ex.step = lambda *a: calls.append(1) or original(*a)
    ids, _ = greedy_decode(ex, cond, 1, 2, max_length=7)
    assert ids.shape[0] == 40 and ids.shape[1] <= 7
    assert len(calls) <= 7  # steps over time, never per input
    calls.clear()
    ids, _ = beam_search(ex, cond, 1, 2, beam_width=4, max_length=7)
    assert ids.shape[1] <= 7 and len(calls) <= 7


def test_decoded_sequences_stop_at_eos():
    ex = peaky_explainer(4)
    ids, _ = greedy_decode(ex, ex.condition(torch.randn(20, 6)), 1, 2, max_length=25)
    for row in ids.tolist():
        if 2 in row:
            k = row.index(2)
            assert all(t == 0 for t in row[k + 1 :])


def test_a_registered_decoding_method_is_used_by_name():
    from interpnet.decoding import DECODING_METHODS, register_method
    from interpnet.decoding.methods import greedy_candidates

    calls = []

    @register_method("greedy-logged")
    def logged(explainer, cond, bos_id, eos_id, d, generator, labels):
        calls.append(d.max_length)
        return greedy_candidates(explainer, cond, bos_id, eos_id, d, generator, labels)

    try:
        ex = peaky_explainer(0)
        cond = ex.condition(torch.randn(4, 6))
        own = decode_candidates(ex, cond, 1, 2, Decoding(method="greedy-logged", max_length=9))
        ref = decode_candidates(ex, cond, 1, 2, Decoding(method="greedy", max_length=9))
        assert calls == [9] and all(torch.equal(a, b) for a, b in zip(own, ref, strict=True))
    finally:
        del DECODING_METHODS["greedy-logged"]
    with pytest.raises(ConfigError, match="unknown decoding method 'greedy-logged'"):
        Decoding(method="greedy-logged")
