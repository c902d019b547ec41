"""A classifier as a user writes it (not an interpnet class), importable by name in tests."""

from __future__ import annotations

import torch
from torch import nn


class Residual(nn.Module):
    """x + BN(conv(x)): a skip connection inside a nested module."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.norm = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.norm(self.conv(x)))


class UserCNN(nn.Module):
    def __init__(self, num_classes: int, width: int = 4):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.MaxPool2d(2),
            Residual(width),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Sequential(
            nn.Linear(width, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def make_cnn(num_classes: int, width: int = 4) -> nn.Module:
    """The factory a CLI user names as ``tests.user_models:make_cnn``."""
    return UserCNN(num_classes, width)


def not_a_module(num_classes: int) -> str:
    return "nope"


def make_mlp(num_classes: int, size: int = 32) -> nn.Module:
    """An MLP on pixels with neither dropout nor BatchNorm (deterministic given its inputs):
    what the distributed tests compare one process and two against."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(3 * size * size, 24),
        nn.ReLU(),
        nn.Linear(24, 16),
        nn.ReLU(),
        nn.Linear(16, num_classes),
    )
