"""Optimizer state <-> flat tensors + JSON, so resumable checkpoints need no pickle."""

from __future__ import annotations

from typing import Any

import torch


def flatten_optimizer(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], list[dict]]:
    """Split ``optimizer.state_dict()`` into tensors (``optim.<param>.<key>``) and JSON groups."""
    tensors = {}
    for param_id, entries in state["state"].items():
        for key, value in entries.items():
            tensors[f"optim.{param_id}.{key}"] = torch.as_tensor(value)
    return tensors, state["param_groups"]


def unflatten_optimizer(tensors: dict[str, torch.Tensor], groups: list[dict]) -> dict[str, Any]:
    """Inverse of :func:`flatten_optimizer` (other keys in ``tensors`` are ignored)."""
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        if not name.startswith("optim."):
            continue
        _, param_id, key = name.split(".", 2)
        state.setdefault(int(param_id), {})[key] = value
    return {"state": state, "param_groups": groups}
