"""Losses of the discriminative phase, as small functions a trainer combines."""

from __future__ import annotations

import torch


def leave_one_out_advantage(rewards: torch.Tensor, num_samples: int) -> torch.Tensor:
    """Each sample's reward minus the mean reward of the other ``num_samples - 1`` samples of
    its input ("new self-critical", Luo 2020); rewards (B * K,), K samples per input in a row."""
    if num_samples < 2:
        raise ValueError("the leave-one-out baseline needs at least 2 samples per input")
    r = rewards.view(-1, num_samples)
    baseline = (r.sum(dim=1, keepdim=True) - r) / (num_samples - 1)
    return (r - baseline).flatten()


def policy_gradient_loss(
    logprob: torch.Tensor, rewards: torch.Tensor, num_samples: int
) -> torch.Tensor:
    """REINFORCE: ``-mean(advantage * log p(sentence))`` over B * K sampled sentences, the
    advantage a constant (no gradient flows into the rewards)."""
    advantage = leave_one_out_advantage(rewards.detach().to(logprob.device), num_samples)
    return -(advantage * logprob).mean()
