"""How a phase cuts its items into batches, beyond a plain shuffle: sentences of similar length
together (less padding), or images of one class together (rewards that compare the images of
a batch then meet images of the same class)."""

from __future__ import annotations

import torch


def length_buckets(
    order: torch.Tensor,
    lengths: torch.Tensor,
    batch_size: int,
    gen: torch.Generator,
    pool: int = 50,
) -> list[torch.Tensor]:
    """Batches of sentences of similar length (less padding): the shuffled ``order`` cut into
    pools of ``pool`` batches, each pool sorted by length (ties kept in shuffled order) and
    cut into batches, and all batches shuffled."""
    batches: list[torch.Tensor] = []
    for part in order.split(batch_size * pool):
        part = part[torch.argsort(lengths[part], stable=True)]
        batches.extend(part.split(batch_size))
    return [batches[i] for i in torch.randperm(len(batches), generator=gen).tolist()]


def class_groups(
    order: torch.Tensor, labels: torch.Tensor, group: int, batch_size: int
) -> list[torch.Tensor]:
    """Batches made of groups of ``group`` items of one class: the shuffled ``order`` is read
    class by class (each class's items in shuffled order) and cut into groups, the groups are
    put in the order their first item has in ``order``, and the sequence is cut into batches.
    Every item comes once; a class with fewer items than ``group`` (or a remainder) makes a
    smaller group."""
    labels = labels.cpu()[order]
    groups: list[torch.Tensor] = []
    for c in labels.unique().tolist():
        groups.extend(order[labels == c].split(group))
    position = torch.empty(len(order), dtype=torch.long)
    position[order] = torch.arange(len(order))
    groups.sort(key=lambda g: int(position[g[0]]))
    return list(torch.cat(groups).split(batch_size)) if groups else []
