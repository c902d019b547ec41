"""The neighbour retrieval reward: an image against its look-alikes of its predicted class."""

import json

import pytest
import torch

from interpnet.decoding.rerank import RewardContext
from interpnet.errors import ConfigError
from interpnet.scorers.retrieval import RetrievalModel
from interpnet.scorers.rewards import NeighbourRetrievalReward
from interpnet.training.rewards import build_reward, reranker_weights
from tests.helpers import fit_config, tiny_config


def _hand_model() -> RetrievalModel:
    """Text "red" -> (1, 0), "blue" -> (0, 1); images are their own 2-d embeddings."""
    rm = RetrievalModel(["blue", "red"], image_dim=2, embed_dim=2)
    with torch.no_grad():
        rm.text.weight.copy_(torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.0, 0.0]]))
        rm.image.weight.copy_(torch.eye(2))
        rm.image.bias.zero_()
        rm.log_scale.fill_(torch.log(torch.tensor(20.0)))
    return rm


# a look-alike of the item (class 0), an image unlike it (class 1), the item itself (class 0)
BANK = torch.tensor([[1.0, 0.3], [0.0, 1.0], [1.0, 0.1]])
BANK_LABELS = torch.tensor([0, 1, 0])


def _reward(predicted: int, negatives: int = 2) -> float:
    reward = NeighbourRetrievalReward(_hand_model(), BANK, BANK_LABELS, negatives)
    ctx = RewardContext(
        rows=torch.tensor([0]), r=torch.tensor([[1.0, 0.1]]), predicted=torch.tensor([predicted])
    )
    return float(reward(["red"], ctx)[0])


def test_negatives_are_look_alikes_of_the_predicted_class_never_the_item_itself():
    unlike = _reward(predicted=1)  # against the blue image only: easy
    alike = _reward(predicted=0)  # against the look-alike only (the item itself is skipped)
    assert unlike > 0.99
    cos = torch.nn.functional.cosine_similarity
    own, look = torch.tensor([1.0, 0.1]), torch.tensor([1.0, 0.3])
    red = torch.tensor([1.0, 0.0])
    expected = 1 / (1 + torch.exp(20 * (cos(red, look, dim=0) - cos(red, own, dim=0))))
    assert alike == pytest.approx(float(expected), abs=1e-5)
    assert 0.5 < alike < 0.99
    assert _reward(predicted=2) == pytest.approx(1.0)  # a class with no images: no negatives


def test_neighbour_reward_is_built_by_name_and_checks_its_needs():
    class Scorers:
        retrieval = _hand_model()

    weights = reranker_weights("class+neighbours")
    assert weights == {"class-predicted": 1.0, "retrieval-neighbours": 1.0}
    reward = build_reward({"retrieval-neighbours": 1.0}, Scorers(), None, [0, 1, 0], BANK)
    ctx = RewardContext(torch.tensor([0, 0]), torch.tensor([[1.0, 0.1]]), torch.tensor([1]))
    red, blue = reward(["red", "blue"], ctx)
    assert red > 0.99 > 0.01 > blue
    with pytest.raises(ConfigError, match="training images"):
        build_reward({"retrieval-neighbours": 1.0}, Scorers(), None, [0, 1, 0])
    with pytest.raises(ConfigError, match="negatives"):
        NeighbourRetrievalReward(_hand_model(), BANK, BANK_LABELS, 0)
    with pytest.raises(ValueError, match="predicted"):
        NeighbourRetrievalReward(_hand_model(), BANK, BANK_LABELS)(
            ["red"], RewardContext(torch.tensor([0]), torch.tensor([[1.0, 0.1]]))
        )


def test_a_training_item_is_never_its_own_negative_even_with_its_decision_swapped():
    reward = NeighbourRetrievalReward(_hand_model(), BANK, BANK_LABELS, negatives=2)
    # bank image 2 with another softmax part: no longer identical to the bank's copy
    ctx = RewardContext(torch.tensor([0]), torch.tensor([[1.0, 0.12]]), torch.tensor([0]))
    with_itself = float(reward(["red"], ctx)[0])
    alone = float(reward(["red"], RewardContext(**{**ctx.__dict__, "items": torch.tensor([2])}))[0])
    look_alike_only = NeighbourRetrievalReward(_hand_model(), BANK[:2], BANK_LABELS[:2])
    assert alone == pytest.approx(float(look_alike_only(["red"], ctx)[0]), abs=1e-6)
    assert with_itself < alone - 0.1


def test_phase_3_with_the_neighbour_reward_skips_each_training_image_itself(
    tiny_birds, tmp_path, monkeypatch
):
    seen = []
    call = NeighbourRetrievalReward.__call__

    def spy(self, sentences, ctx):
        seen.append(ctx.items)
        return call(self, sentences, ctx)

    monkeypatch.setattr(NeighbourRetrievalReward, "__call__", spy)
    cfg = tiny_config(
        tiny_birds,
        discriminative_epochs=1,
        rewards={"class-predicted": 1.0, "retrieval-neighbours": 1.0},
        swap_fraction=0.5,
    )
    fit_config(cfg, tmp_path / "run")
    log = (tmp_path / "run" / "train_log.jsonl").read_text().splitlines()
    disc = [r for r in map(json.loads, log) if r["phase"] == "discriminative"]
    assert disc and 0 <= disc[-1]["val_retrieval-neighbours"] <= 1
    # training batches name their training images (so none is its own negative); val ones not
    assert any(items is not None for items in seen) and any(items is None for items in seen)
