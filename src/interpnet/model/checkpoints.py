"""Classifier weights as users have them: ``.safetensors``, or ``.pt`` / ``.pth`` / ``.bin``
files written by ``torch.save``, read without running pickled code.

A ``torch.save`` file is read with ``torch.load(weights_only=True)`` (torch 2.6 or later):
PyTorch's restricted unpickler, which builds tensors and plain containers and refuses every
other Python object, so a crafted file cannot run code. It may hold a plain ``state_dict``
or a training checkpoint with one under ``state_dict``, ``model_state_dict``, ``model``,
``state_dict_ema`` or ``ema`` (in that order of preference); the prefixes ``module.``
(DistributedDataParallel) and ``_orig_mod.`` (``torch.compile``) are stripped.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from interpnet.errors import CheckpointError
from interpnet.storage import load_tensors, load_torch_file

PICKLE_SUFFIXES = (".pt", ".pth", ".bin")
WEIGHT_SUFFIXES = (".safetensors", *PICKLE_SUFFIXES)
STATE_KEYS = ("state_dict", "model_state_dict", "model", "state_dict_ema", "ema")
WRAPPER_PREFIXES = ("module.", "_orig_mod.")
_SHOWN = 3  # keys listed in a mismatch error


def _is_state_dict(obj: Any) -> bool:
    return (
        isinstance(obj, Mapping)
        and len(obj) > 0
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())
    )


def _unwrap(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    if _is_state_dict(obj):
        return dict(obj)
    if isinstance(obj, Mapping):
        for key in STATE_KEYS:
            if _is_state_dict(obj.get(key)):
                return dict(obj[key])
        keys = ", ".join(repr(k) for k in list(obj)[:8])
        raise CheckpointError(
            f"{path}: a dict ({keys}) with no state dict of tensors, neither at its top nor "
            f"under any of {list(STATE_KEYS)}; save model.state_dict()"
        )
    raise CheckpointError(
        f"{path}: holds a {type(obj).__name__}, not a state dict; save model.state_dict()"
    )


def strip_wrapper_prefixes(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state`` without the ``module.`` / ``_orig_mod.`` prefix that every key carries."""
    changed = True
    while changed:
        changed = False
        for prefix in WRAPPER_PREFIXES:
            if state and all(k.startswith(prefix) for k in state):
                state = {k[len(prefix) :]: v for k, v in state.items()}
                changed = True
    return state


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The classifier state dict in ``path`` (any format in :data:`WEIGHT_SUFFIXES`)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        state = load_tensors(path, "classifier weights")
    elif suffix in PICKLE_SUFFIXES:
        state = _unwrap(load_torch_file(path, "classifier weights"), path)
    else:
        raise CheckpointError(
            f"{path}: unknown weights format {suffix or '(no suffix)'!r}; give a "
            f"{', '.join(WEIGHT_SUFFIXES)} file holding the model's state_dict"
        )
    return strip_wrapper_prefixes(state)


def _listed(keys: list[str]) -> str:
    more = f" and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else ""
    return ", ".join(keys[:_SHOWN]) + more


def load_weights(model: nn.Module, path: str | Path) -> None:
    """Load the weights in ``path`` into ``model``; every key must match."""
    path = Path(path)
    state = read_state_dict(path)
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = [f"missing {_listed(missing)}" if missing else ""]
        parts.append(f"unexpected {_listed(unexpected)}" if unexpected else "")
        raise CheckpointError(
            f"{path}: weights do not fit the classifier ({'; '.join(p for p in parts if p)}); "
            "give the weights of this architecture and class count"
        )
    bad = next((k for k, v in expected.items() if v.shape != state[k].shape), None)
    if bad is not None:
        raise CheckpointError(
            f"{path}: weights do not fit the classifier ({bad}: shape "
            f"{tuple(state[bad].shape)} in the file, {tuple(expected[bad].shape)} in the model); "
            "give the weights of this architecture and class count"
        )
    model.load_state_dict(state)
