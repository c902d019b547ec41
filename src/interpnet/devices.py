"""Device selection shared by feature extraction, training, decoding and evaluation."""

from __future__ import annotations

import contextlib

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


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """The lower precision training and decoding run in on ``device``: bfloat16 on a CUDA
    device that supports it, none (float32) elsewhere: on CPUs bf16 matrix products are
    slower than float32 ones on most machines, and float16 would need loss scaling."""
    if device.type == "cuda" and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None


def mixed_precision(device: torch.device) -> contextlib.AbstractContextManager:
    """``torch.autocast`` at :func:`autocast_dtype` on ``device``, or a no-op context."""
    dtype = autocast_dtype(device)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def to_device(x: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    """``x`` on ``device``; a CPU tensor bound for CUDA goes through pinned memory with a
    non-blocking copy, so the copy overlaps the work already queued on the GPU."""
    device = torch.device(device)
    if device.type == "cuda" and x.device.type == "cpu":
        return x.pin_memory().to(device, non_blocking=True)
    return x.to(device)
