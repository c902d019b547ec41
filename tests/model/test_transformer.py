"""The transformer explainer's own guarantees: a word never reads the words after it, decoding
step by step gives the teacher-forced logits, and DeViL's dropout over r(x)'s parts and
positions drops whole parts and single positions in training only."""

import pytest
import torch

from interpnet.model.transformer import TransformerExplainer, sinusoid

LAYOUT = [["block", [4, 3, 3]], ["hidden", [5]], ["softmax", [3]]]
COND = 4 * 9 + 5 + 3


def _explainer(**options) -> TransformerExplainer:
    torch.manual_seed(0)
    sizes = dict(embed_dim=6, hidden_dim=16, fusion_dim=8, heads=2)
    return TransformerExplainer(vocab_size=11, cond_dim=COND, layout=LAYOUT, **{**sizes, **options})


def test_a_word_reads_only_the_words_before_it():
    ex = _explainer().eval()
    cond = ex.condition(torch.randn(2, COND))
    tokens = torch.randint(0, 11, (2, 6))
    changed = tokens.clone()
    changed[:, 4:] = (changed[:, 4:] + 1) % 11
    a = ex.logits(ex.words(tokens), cond)
    b = ex.logits(ex.words(changed), cond)
    torch.testing.assert_close(a[:, :4], b[:, :4])
    assert not torch.allclose(a[:, 4:], b[:, 4:])


def test_decoding_step_by_step_gives_the_teacher_forced_logits():
    ex = _explainer().eval()
    cond = ex.condition(torch.randn(3, COND))
    tokens = torch.randint(0, 11, (3, 5))
    teacher = torch.log_softmax(ex.logits(ex.words(tokens), cond), dim=-1)
    state = ex.init_state(3)
    for t in range(5):
        logp, state = ex.step(tokens[:, t], cond, state)
        torch.testing.assert_close(logp, teacher[:, t])
    assert torch.equal(ex.reorder_state(state, torch.tensor([2, 2, 0])), tokens[[2, 2, 0]])


def test_dropout_over_parts_and_positions_in_training_only():
    ex = _explainer(part_dropout=0.5, position_dropout=0.3)
    r = torch.randn(400, COND)
    assert ex.eval().condition(r)["mask"].all()
    mask = ex.train().condition(r)["mask"]
    assert mask.shape == (400, 9 + 2) and mask.any(dim=1).all()
    block = mask[:, :9]
    # a dropped part takes all its positions: many rows read none of the block's
    assert 0.2 < (~block.any(dim=1)).float().mean() < 0.6  # 0.5, less the rows kept whole
    kept = block[block.any(dim=1)].float().mean()
    assert 0.55 < float(kept) < 0.85  # within a kept block, positions drop one by one
    ex.eval()
    weights = ex.word_attention(ex.words(torch.randint(0, 11, (2, 4))), ex.condition(r[:2]))
    assert weights.shape == (2, 4, 11)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4))


def test_bad_sizes_are_clear_errors():
    with pytest.raises(ValueError, match="must divide into 3 heads"):
        _explainer(heads=3)
    with pytest.raises(ValueError, match="whole numbers"):
        _explainer(layers=1.5)
    with pytest.raises(ValueError, match=r"part_dropout must be in \[0, 1\)"):
        _explainer(part_dropout=1.0)
    encoding = sinusoid(4, 6)
    assert encoding.shape == (4, 6) and torch.equal(encoding[0], torch.tensor([0.0, 1] * 3))
