"""Batch-first values the decoders hold without looking inside: an explainer's conditioning
(a tensor, or a tuple, list or dict of tensors such as a set of spatial tokens and their mask)
and its word features. Decoders only count, index, concatenate and, for the distractors of
contrastive decoding, flatten them, through these functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

# written here rather than with torch.utils._pytree: that module is private to torch


def _leaves(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, dict):
        return [leaf for key in value for leaf in _leaves(value[key])]
    if isinstance(value, tuple | list):
        return [leaf for item in value for leaf in _leaves(item)]
    raise TypeError(f"a batch is a tensor, or a tuple, list or dict of them; got {type(value)}")


def _map(value: Any, fn: Callable[[torch.Tensor], torch.Tensor]) -> Any:
    if isinstance(value, torch.Tensor):
        return fn(value)
    if isinstance(value, dict):
        return {key: _map(item, fn) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return type(value)(_map(item, fn) for item in value)
    raise TypeError(f"a batch is a tensor, or a tuple, list or dict of them; got {type(value)}")


def batch_size(value: Any) -> int:
    """The number of rows (the first dimension of every tensor)."""
    return _leaves(value)[0].shape[0]


def device_of(value: Any) -> torch.device:
    return _leaves(value)[0].device


def index_rows(value: Any, index: torch.Tensor) -> Any:
    """Rows ``index`` of every tensor (repeat rows by repeating their index)."""
    return _map(value, lambda t: t[index.to(t.device)])


def leaves(value: Any) -> list[torch.Tensor]:
    """The tensors of a value, in a fixed order (for an API that takes tensors only, such as
    Captum's additional forward arguments, which it repeats along the batch)."""
    return _leaves(value)


def from_leaves(like: Any, tensors: list[torch.Tensor]) -> Any:
    """The inverse of :func:`leaves`: ``tensors`` in the structure of ``like``."""
    it = iter(tensors)
    return _map(like, lambda _: next(it))


def cut_time(value: Any, length: int) -> Any:
    """The first ``length`` steps of every tensor (batch-first, then time: an explainer's
    words): a causal model's outputs up to a step do not depend on later inputs."""
    return _map(value, lambda t: t[:, :length])


def cat_rows(values: list[Any]) -> Any:
    """The rows of several values of one structure, one after the other."""
    first = values[0]
    if isinstance(first, torch.Tensor):
        return torch.cat(values, dim=0)
    if isinstance(first, dict):
        return {key: cat_rows([v[key] for v in values]) for key in first}
    return type(first)(cat_rows(list(items)) for items in zip(*values, strict=True))


def flatten_rows(value: Any) -> torch.Tensor:
    """One vector per row (B, F): every tensor flattened and concatenated, in the first
    tensor's floating dtype. A (B, F) tensor is returned as it is."""
    leaves = _leaves(value)
    if len(leaves) == 1 and leaves[0].dim() == 2:
        return leaves[0]
    dtype = next((t.dtype for t in leaves if t.is_floating_point()), torch.float32)
    return torch.cat([t.reshape(t.shape[0], -1).to(dtype) for t in leaves], dim=1)


def unflatten_rows(flat: torch.Tensor, like: Any) -> Any:
    """The inverse of :func:`flatten_rows`: ``flat`` (N, F) in the structure, shapes and dtypes
    of ``like`` (whose row count may differ)."""
    leaves = _leaves(like)
    if len(leaves) == 1 and leaves[0].dim() == 2:
        return flat
    parts = iter(flat.split([t[0].numel() for t in leaves], dim=1))

    def take(t: torch.Tensor) -> torch.Tensor:
        return next(parts).reshape(flat.shape[0], *t.shape[1:]).to(t.dtype)

    return _map(like, take)
