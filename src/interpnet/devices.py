"""Device selection shared by feature extraction, training, decoding and evaluation."""

from __future__ import annotations

import torch

from interpnet.errors import ConfigError


def resolve_device(name: str | torch.device) -> torch.device:
    """``"auto"`` -> CUDA when available, else the CPU; other names are checked."""
    name = str(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} requested but CUDA is not available; use 'cpu'")
    try:
        return torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r}; use 'auto', 'cpu' or 'cuda'") from None
