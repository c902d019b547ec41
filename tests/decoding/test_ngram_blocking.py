"""n-gram blocking (``Decoding(no_repeat_ngram=N)``): no generating decoder repeats an n-gram
within a sentence; 0 decodes as before; retrieval's human sentences are never blocked."""

import argparse

import pytest
import torch

from interpnet.cli.explain_cmd import add_decoding_flags, decoding_from_args
from interpnet.decoding import (
    Decoding,
    ReferenceBank,
    beam_candidates,
    decode_candidates,
    greedy_decode,
    sample,
)
from interpnet.decoding.contrastive import contrastive_decode
from interpnet.decoding.ngram import banned_tokens, block_repeats
from interpnet.errors import ConfigError
from tests.helpers import peaky_explainer

PAD, BOS, EOS = 0, 1, 2
GENERATING = (
    dict(method="greedy"),
    dict(method="beam", beam_width=4, alpha=1.0),
    dict(method="diverse-beam", beam_width=6, groups=3, diversity=0.5),
    dict(method="sample", num_samples=4, temperature=1.5, top_p=0.95),
    dict(method="contrastive", contrast=0.5, plausibility=0.01),
)


class CycleExplainer:
    """A rigged explainer (V = 8) whose next word depends on the last one only: after word 3
    it prefers 4, 5, 6, 7, ``<eos>``, then 3; after any other token 3, 4, 5, 6, 7, ``<eos>``;
    ``<pad>`` and ``<bos>`` never. Unblocked, greedy decoding writes "3 4 3 4 ..." forever."""

    def __init__(self) -> None:
        after_other = torch.tensor([-30.0, -30.0, -5.0, 0.0, -1.0, -2.0, -3.0, -4.0])
        after_three = torch.tensor([-30.0, -30.0, -4.0, -5.0, 0.0, -1.0, -2.0, -3.0])
        self.table = after_other.repeat(8, 1)
        self.table[3] = after_three

    def init_state(self, batch, device=None):
        return ()

    def step(self, token, cond, state):
        return torch.log_softmax(self.table[token] + 0 * cond[:, :1], dim=-1), state

    @staticmethod
    def reorder_state(state, index):
        return state


def repeating_explainer(seed: int, eos_shift: float = 3.0):
    """conftest's peaky explainer, with ``<pad>`` and ``<bos>`` never written and ``<eos>``
    rarer (its logit minus ``eos_shift``), so that its sentences are long and repeat
    themselves."""
    ex = peaky_explainer(seed)
    with torch.no_grad():
        ex.out.bias[PAD] -= 1e4
        ex.out.bias[BOS] -= 1e4
        ex.out.bias[EOS] -= eos_shift
    return ex


def sentences(ids: torch.Tensor) -> list[list[int]]:
    """The rows of ids (..., L), each cut after its ``<eos>``."""
    out = []
    for row in ids.reshape(-1, ids.shape[-1]).tolist():
        out.append(row[: row.index(EOS) + 1] if EOS in row else row)
    return out


def repeats(tokens: list[int], n: int) -> bool:
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return len(grams) != len(set(grams))


def model_logprob(ex, cond: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """The explainer's own total log-probability (N,) of sentences ids (N, L), teacher-forced."""
    state, token = ex.init_state(len(ids)), torch.full((len(ids),), BOS)
    total, live = torch.zeros(len(ids)), torch.ones(len(ids), dtype=torch.bool)
    for t in range(ids.shape[1]):
        logp, state = ex.step(token, cond, state)
        token = ids[:, t]
        total += torch.where(live, logp.gather(1, token[:, None]).squeeze(1), 0.0)
        live &= token != EOS
    return total


def candidates(ex, cond, **options):
    d = Decoding(max_length=25, **options)
    labels = torch.zeros(len(cond), dtype=torch.long)
    return decode_candidates(ex, cond, BOS, EOS, d, torch.Generator().manual_seed(0), labels)


def test_banned_tokens_by_hand():
    history = torch.tensor([[5, 6, 7, 5, 6], [5, 6, 5, 6, 5]])

    def as_sets(n: int) -> list[set[int]]:
        out: list[set[int]] = [set(), set()]
        for row, token in zip(*(x.tolist() for x in banned_tokens(history, n)), strict=True):
            out[row].add(token)
        return out

    # 3-grams: row 0 ends with "5 6", which "5 6 7" continued; row 1 with "6 5" -> "6 5 6"
    assert as_sets(3) == [{7}, {6}]
    assert as_sets(2) == [{7}, {6}]  # after 6: 7 in row 0; after 5: 6 in row 1
    assert as_sets(1) == [{5, 6, 7}, {5, 6}]  # every word already written
    assert as_sets(4) == [set(), {6}]  # row 1: "5 6 5" was followed by 6
    assert as_sets(6) == [set(), set()]  # no complete 6-gram yet
    assert banned_tokens(history[:, :0], 2)[0].numel() == 0


def test_block_repeats_sets_minus_infinity_keeps_eos_and_leading_dims():
    logp = torch.zeros(2, 3, 9)
    history = torch.tensor([[3, 4, 3], [4, 2, 4]]).expand(3, 2, 3).transpose(0, 1)
    out = block_repeats(logp, history, 2, EOS)
    assert out.shape == logp.shape and not logp.isinf().any()  # the input is not changed
    assert torch.isinf(out[0]).nonzero()[:, 1].tolist() == [4, 4, 4]
    assert not out[1].isinf().any()  # after 4 came <eos>: never banned
    # every word written (n = 1): only <eos> stays open, so decoding can always end
    every = torch.arange(9).view(1, 9)
    assert torch.isfinite(block_repeats(torch.zeros(1, 9), every, 1, EOS)).nonzero().tolist() == [
        [0, EOS]
    ]
    assert block_repeats(logp, history, 0, EOS) is logp  # off
    assert block_repeats(logp, history, 5, EOS) is logp  # nothing to ban yet


def test_greedy_by_hand_on_the_rigged_explainer():
    ex, cond = CycleExplainer(), torch.zeros(2, 1)
    off, _ = greedy_decode(ex, cond, BOS, EOS, max_length=12)
    assert off[0].tolist() == [3, 4] * 6  # the loop it is rigged to write
    two, logp = greedy_decode(ex, cond, BOS, EOS, max_length=12, no_repeat_ngram=2)
    assert two[0].tolist() == [3, 4, 3, 5, 3, 6, 3, 7, 3, EOS]
    torch.testing.assert_close(logp, model_logprob(ex, cond, two))  # the model's own
    # n = 1: every word once, then only <eos>, its least preferred word, is left
    one, _ = greedy_decode(ex, cond, BOS, EOS, max_length=12, no_repeat_ngram=1)
    assert one[0].tolist() == [3, 4, 5, 6, 7, EOS]
    # contrastive decoding against itself (the explainer ignores cond) is greedy, blocked too
    same, _ = contrastive_decode(ex, cond, BOS, EOS, max_length=12, no_repeat_ngram=2)
    assert torch.equal(same, two)


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("options", GENERATING, ids=lambda o: o["method"])
def test_no_generating_decoder_repeats_an_ngram(options, n):
    for ex, cond in (
        (CycleExplainer(), torch.zeros(3, 1)),
        (repeating_explainer(1), repeating_explainer(1).condition(torch.randn(8, 6))),
    ):
        off = sentences(candidates(ex, cond, no_repeat_ngram=0, **options)[0])
        assert any(repeats(s, n) for s in off)  # the explainer does repeat itself
        ids, logp, _, _ = candidates(ex, cond, no_repeat_ngram=n, **options)
        assert not any(repeats(s, n) for s in sentences(ids))
        # each candidate carries the model's own log-probability of its words
        k = ids.shape[1]
        own = model_logprob(ex, cond.repeat_interleave(k, dim=0), ids.flatten(0, 1))
        torch.testing.assert_close(logp.flatten().float(), own, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("options", GENERATING, ids=lambda o: o["method"])
def test_zero_decodes_exactly_as_the_unblocked_decoders(options):
    ex = repeating_explainer(2)
    cond = ex.condition(torch.randn(8, 6))
    g = torch.Generator().manual_seed(0)
    method = options["method"]
    if method == "greedy":
        old = greedy_decode(ex, cond, BOS, EOS, 25)
    elif method == "sample":
        old = sample(ex, cond, BOS, EOS, 4, 25, 1.5, 0.95, g)
    elif method == "contrastive":
        old = contrastive_decode(ex, cond, BOS, EOS, 0.5, 0.01, max_length=25)
    else:
        groups = options.get("groups", 1)
        width, diversity = options["beam_width"], options.get("diversity", 0.0)
        old = beam_candidates(ex, cond, BOS, EOS, width, 25, groups, diversity)[:2]
    ids, logp, _, _ = candidates(ex, cond, no_repeat_ngram=0, **options)
    assert torch.equal(ids.flatten(0, 1), old[0].reshape(-1, old[0].shape[-1]))
    assert torch.equal(logp.flatten(), old[1].flatten())
    # a size longer than any sentence bans nothing: the blocked path decodes the same
    far = candidates(ex, cond, no_repeat_ngram=26, **options)
    assert torch.equal(far[0], ids) and torch.equal(far[1], logp)


def test_greedy_blocking_changes_only_the_sentences_that_repeated():
    ex = repeating_explainer(0, eos_shift=0.0)  # half of its sentences repeat a 3-gram
    cond = ex.condition(torch.randn(16, 6))
    off, _ = greedy_decode(ex, cond, BOS, EOS, 25)
    on, _ = greedy_decode(ex, cond, BOS, EOS, 25, no_repeat_ngram=3)
    kept = [a == b for a, b in zip(sentences(off), sentences(on), strict=True)]
    assert kept == [not repeats(s, 3) for s in sentences(off)]
    assert 0 < sum(kept) < len(kept)


def test_sampling_blocks_with_inverse_cdf_draws_too():
    ex = repeating_explainer(3)
    cond = ex.condition(torch.randn(6, 6))
    uniforms = torch.rand(6 * 3, 25, generator=torch.Generator().manual_seed(1))
    off, _ = sample(ex, cond, BOS, EOS, 3, 25, uniforms=uniforms)
    assert any(repeats(s, 2) for s in sentences(off))
    ids, logp = sample(ex, cond, BOS, EOS, 3, 25, uniforms=uniforms, no_repeat_ngram=2)
    assert not any(repeats(s, 2) for s in sentences(ids))
    own = model_logprob(ex, cond.repeat_interleave(3, dim=0), ids)
    torch.testing.assert_close(logp, own, rtol=1e-4, atol=1e-4)


@torch.no_grad()
def test_references_are_kept_word_for_word_the_samples_beside_them_blocked():
    ex = repeating_explainer(4)
    cond = ex.condition(torch.randn(4, 6))
    refs = torch.tensor([[3, 4, 3, 4, EOS, 0], [5, 6, 5, 6, 5, EOS]])  # they repeat bigrams
    bank = ReferenceBank(refs, torch.tensor([0, 0]), num_classes=1)
    for n in (0, 2):
        got = candidates(ex, cond, method="retrieve", references=bank, no_repeat_ngram=n)
        assert torch.equal(got[0], refs.expand(4, 2, 6))
    mixed = dict(method="sample", num_samples=5, add_references=True, references=bank)
    off = candidates(ex, cond, no_repeat_ngram=0, **mixed)[0]
    assert any(repeats(s, 2) for s in sentences(off[:, :5]))
    ids = candidates(ex, cond, no_repeat_ngram=2, **mixed)[0]
    assert not any(repeats(s, 2) for s in sentences(ids[:, :5]))
    assert torch.equal(ids[:, 5:, :6], refs.expand(4, 2, 6))


def test_default_and_validation():
    assert Decoding().no_repeat_ngram == 3  # on for new explanations
    assert Decoding(no_repeat_ngram=0).to_dict()["no_repeat_ngram"] == 0
    for bad in (-1, 2.0, True, "3", None):
        with pytest.raises(ConfigError, match="no_repeat_ngram must be a whole number"):
            Decoding(no_repeat_ngram=bad)


def test_cli_flag_is_parsed_into_the_decoding():
    p = argparse.ArgumentParser()
    add_decoding_flags(p)
    assert decoding_from_args(p.parse_args([])).no_repeat_ngram == 3
    assert decoding_from_args(p.parse_args(["--no-repeat-ngram", "0"])).no_repeat_ngram == 0
    args = p.parse_args(["--decode", "sample", "--no-repeat-ngram", "2"])
    assert decoding_from_args(args).no_repeat_ngram == 2
    with pytest.raises(ConfigError, match="no_repeat_ngram"):
        decoding_from_args(p.parse_args(["--no-repeat-ngram", "-1"]))
    assert "(default: 3)" in " ".join(p.format_help().split())


@pytest.mark.parametrize("n", [0, 3])
@pytest.mark.parametrize("options", GENERATING, ids=lambda o: o["method"])
def test_no_decoder_writes_pad_or_bos_even_where_the_explainer_prefers_them(options, n):
    ex = peaky_explainer(4)
    with torch.no_grad():  # <pad> and <bos> the likeliest words everywhere
        ex.out.bias[PAD] += 50.0
        ex.out.bias[BOS] += 50.0
    cond = ex.condition(torch.randn(6, 6))
    ids, logp, lengths, _ = candidates(ex, cond, no_repeat_ngram=n, **options)
    for row, length in zip(sentences(ids), lengths.flatten().tolist(), strict=True):
        words = row[:length]
        assert BOS not in words and PAD not in words and len(words) == length
    assert torch.isfinite(logp).all()  # the model's own log-probability of what was written
