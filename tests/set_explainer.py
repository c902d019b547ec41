"""A second explainer, written as a user would write one: a GRU that at every step attends over
a set of tokens made from r(x). Its conditioning is a dict of tensors (the tokens and a mask,
whose last token is always masked out), so nothing that handles it may assume the LRCN's
single vector."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from interpnet import Explainer, register_explainer


@register_explainer("set-gru")
class SetGRUExplainer(Explainer):
    def __init__(
        self,
        vocab_size: int,
        cond_dim: int,
        embed_dim: int = 8,
        hidden_dim: int = 16,
        fusion_dim: int = 16,
        dropout: float = 0.0,
        num_classes: int = 0,
        label_embed_dim: int = 0,
        num_tokens: int = 3,
    ):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.label_embed = nn.Embedding(num_classes, label_embed_dim) if num_classes else None
        self.tokens = nn.Linear(cond_dim + label_embed_dim, (num_tokens + 1) * fusion_dim)
        self.query = nn.Linear(hidden_dim, fusion_dim)
        self.cell = nn.GRUCell(embed_dim + fusion_dim, hidden_dim)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_dim, vocab_size)

    def project(self, c: torch.Tensor) -> dict[str, torch.Tensor]:
        tokens = self.tokens(c).view(c.shape[0], self.config["num_tokens"] + 1, -1)
        mask = torch.ones(tokens.shape[:2], dtype=torch.bool, device=c.device)
        mask[:, -1] = False
        return {"tokens": tokens, "mask": mask}

    def _read(self, h: torch.Tensor, cond: dict[str, torch.Tensor]) -> torch.Tensor:
        scores = (cond["tokens"] @ self.query(h).unsqueeze(-1)).squeeze(-1)
        weights = scores.masked_fill(~cond["mask"], float("-inf")).softmax(dim=-1)
        return (weights.unsqueeze(-1) * cond["tokens"]).sum(dim=1)

    def init_state(self, batch: int, device: torch.device | None = None) -> torch.Tensor:
        return torch.zeros(batch, self.config["hidden_dim"], device=device)

    def step(self, token, cond, state):
        h = self.cell(torch.cat([self.embed(token), self._read(state, cond)], dim=-1), state)
        return F.log_softmax(self.out(self.drop(h)), dim=-1), h

    def reorder_state(self, state: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return state[index]

    def logits(self, words, cond, positions=None):
        h = self.init_state(words.shape[0], words.device)
        out = []
        for t in range(words.shape[1]):
            h = self.cell(torch.cat([self.embed(words[:, t]), self._read(h, cond)], dim=-1), h)
            out.append(self.out(self.drop(h)))
        logits = torch.stack(out, dim=1)
        if positions is None:
            return logits
        return logits[torch.arange(len(positions), device=logits.device), positions]
