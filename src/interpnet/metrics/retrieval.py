"""Self-retrieval: does an explanation pick out its own image among others?"""

from __future__ import annotations

import statistics

import torch


def candidate_pools(n: int, pool: int = 100, seed: int = 0) -> torch.Tensor:
    """(n, min(pool, n)) image indices: row i holds i first, then distinct other images drawn
    at random (seeded), the pool its explanation is ranked in."""
    size = min(pool, n)
    gen = torch.Generator().manual_seed(seed)
    rows = []
    for i in range(n):
        others = torch.randperm(n - 1, generator=gen)[: size - 1]
        others = others + (others >= i).long()  # skip i itself
        rows.append(torch.cat([torch.tensor([i]), others]))
    return torch.stack(rows) if rows else torch.zeros(0, size, dtype=torch.long)


def self_retrieval(scores: torch.Tensor) -> dict[str, float | int]:
    """Ranks of the own image (column 0) among each row's pool (N, P) of scores, higher =
    better; a tie counts as half a place (so a score that ignores the sentence ranks at chance,
    (P + 1) / 2 on average). R@1, R@5 and the median rank."""
    if scores.dim() != 2 or scores.shape[0] == 0:
        raise ValueError("self_retrieval needs an (N, P) score matrix with N >= 1")
    own = scores[:, :1]
    others = scores[:, 1:]
    rank = 1 + (others > own).sum(1).float() + 0.5 * (others == own).sum(1).float()
    return {
        "R@1": float((rank <= 1).float().mean()),
        "R@5": float((rank <= 5).float().mean()),
        "median_rank": float(statistics.median(rank.tolist())),
        "pool": int(scores.shape[1]),
    }
