"""r(x) as a set of tokens, for explainers that attend over it: a feature map read un-pooled
(``Conditioning(pool="none")``) gives one token per position (its C channels projected to the
token width, plus a learned position embedding and a learned embedding of its layer); a vector
part (hidden layer, softmax, a pooled map) one token; the class label of a label variant one
more. In training, whole parts and single positions can be dropped (DeViL's dropout over layers
and positions, so that one layer or one location learns to be described alone)."""

from __future__ import annotations

import math

import torch
from torch import nn


def token_spans(layout: list, label: bool) -> list[tuple[str, int, int, list[int]]]:
    """(part name, first token, token count, grid) of each part of r(x) in the order
    :class:`RxTokens` lays out its tokens: a map's H x W positions on its (H, W) grid, one
    token for a vector; then the label's one token, for an explainer that reads a label."""
    spans, at = [], 0
    for name, shape in layout:
        grid = list(shape[1:]) if len(shape) == 3 else []
        count = math.prod(grid) if grid else 1
        spans.append((name, at, count, grid))
        at += count
    if label:
        spans.append(("label", at, 1, []))
    return spans


class RxTokens:
    """Mixin for an :class:`~interpnet.model.Explainer` (an ``nn.Module``): builds the token
    projection of r(x) from its ``layout`` (``[name, shape]`` of each part, as
    :meth:`interpnet.introspector.Introspector.part_shapes` gives it) and implements
    :meth:`project`. Its parameters are the explainer's own (``project_parts``, ``position``,
    ``part_embed``, ``label_token``)."""

    def _build_tokens(
        self,
        layout: list,
        cond_dim: int,
        width: int,
        num_classes: int,
        label_embed_dim: int,
        part_dropout: float = 0.0,
        position_dropout: float = 0.0,
    ) -> None:
        if (num_classes > 0) != (label_embed_dim > 0):
            raise ValueError("num_classes and label_embed_dim must both be set for a label input")
        for name, p in (("part_dropout", part_dropout), ("position_dropout", position_dropout)):
            if not 0 <= p < 1:
                raise ValueError(f"{name} must be in [0, 1), got {p}")
        sizes = [math.prod(shape) for _, shape in layout]
        if sum(sizes) != cond_dim:
            raise ValueError(f"layout sizes add up to {sum(sizes)}, r(x) has {cond_dim}")
        self.sizes = sizes
        self.maps = [len(shape) == 3 for _, shape in layout]
        # the part (index in layout; the label last) of each token
        spans = token_spans(layout, num_classes > 0)
        self._owner = [k for k, (_, _, count, _) in enumerate(spans) for _ in range(count)]
        self.part_dropout, self.position_dropout = part_dropout, position_dropout
        self.label_embed = nn.Embedding(num_classes, label_embed_dim) if num_classes else None
        # one projection per part: a map's channels at each position, or a whole vector
        self.project_parts = nn.ModuleList(
            nn.Linear(shape[0] if len(shape) == 3 else size, width)
            for (_, shape), size in zip(layout, sizes, strict=True)
        )
        positions = sum(shape[1] * shape[2] for _, shape in layout if len(shape) == 3)
        self.position = nn.Parameter(torch.zeros(positions, width))
        self.part_embed = nn.Parameter(torch.zeros(len(layout) + 1, width))
        self.label_token = nn.Linear(label_embed_dim, width) if num_classes else None

    def project(self, c: torch.Tensor) -> dict[str, torch.Tensor]:
        """The tokens (B, N, width) of ``c`` = [r(x) ; label embedding] and their mask (B, N):
        all True, but for the parts and positions dropped in training."""
        batch, tokens, at, used = c.shape[0], [], 0, 0
        for k, (size, is_map, proj) in enumerate(
            zip(self.sizes, self.maps, self.project_parts, strict=True)
        ):
            part = c[:, at : at + size]
            at += size
            if is_map:
                channels = proj.in_features
                grid = part.view(batch, channels, -1).transpose(1, 2)  # (B, H*W, C)
                n = grid.shape[1]
                token = proj(grid) + self.position[used : used + n] + self.part_embed[k]
                used += n
            else:
                token = (proj(part) + self.part_embed[k]).unsqueeze(1)
            tokens.append(token)
        if self.label_token is not None:
            label = self.label_token(c[:, at:]) + self.part_embed[-1]
            tokens.append(label.unsqueeze(1))
        tokens = torch.cat(tokens, dim=1)
        return {"tokens": tokens, "mask": self._kept(tokens)}

    def _kept(self, tokens: torch.Tensor) -> torch.Tensor:
        """Which tokens the explainer may read: in training, each part (its tokens together)
        is dropped with probability ``part_dropout`` and each token with ``position_dropout``;
        a row that would lose every token keeps them all."""
        mask = torch.ones(tokens.shape[:2], dtype=torch.bool, device=tokens.device)
        if not self.training or not (self.part_dropout or self.position_dropout):
            return mask
        parts = len(self.sizes) + 1
        keep_part = torch.rand(tokens.shape[0], parts, device=tokens.device) >= self.part_dropout
        mask = keep_part[:, torch.tensor(self._owner, device=tokens.device)]
        mask &= torch.rand(tokens.shape[:2], device=tokens.device) >= self.position_dropout
        empty = ~mask.any(dim=1)
        mask[empty] = True
        return mask
