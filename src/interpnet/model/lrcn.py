"""The paper's LRCN-2f explanation decoder, conditioned on r(x) at every time step."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from interpnet.model.explainer import Explainer, register_explainer

State = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


@register_explainer("lrcn")
class LRCNExplainer(Explainer):
    """Two-layer LSTM decoder (Donahue et al.'s LRCN-2f, as used by InterpNET).

    LSTM-1 reads word embeddings; at every step ``[LSTM-1 output ; c]`` goes through one linear
    layer (no nonlinearity) into LSTM-2, whose output is projected onto the vocabulary. ``c`` is
    r(x), optionally concatenated with a learned embedding of a class label (the GVE
    "explanation-label" baseline). The ``c`` half of that linear layer is computed once per
    sentence (:meth:`condition`), not at every step.
    """

    def __init__(
        self,
        vocab_size: int,
        cond_dim: int,
        embed_dim: int = 256,
        hidden_dim: int = 512,
        fusion_dim: int = 512,
        dropout: float = 0.2,
        num_classes: int = 0,
        label_embed_dim: int = 0,
    ):
        super().__init__()
        if (num_classes > 0) != (label_embed_dim > 0):
            raise ValueError("num_classes and label_embed_dim must both be set for a label input")
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.lstm1 = nn.LSTM(embed_dim, hidden_dim, batch_first=True)
        self.fuse_word = nn.Linear(hidden_dim, fusion_dim, bias=False)
        self.fuse_cond = nn.Linear(cond_dim + label_embed_dim, fusion_dim)
        self.label_embed = nn.Embedding(num_classes, label_embed_dim) if num_classes else None
        self.lstm2 = nn.LSTM(fusion_dim, hidden_dim, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_dim, vocab_size)

    def project(self, c: torch.Tensor) -> torch.Tensor:
        """The conditioning half of the fusion layer, ``W_c [r ; emb(label)] + b``: (B, fusion)."""
        return self.fuse_cond(c)

    def words(self, tokens: torch.Tensor) -> torch.Tensor:
        """The word half of the fusion layer for input tokens (B, T): (B, T, fusion). It does
        not depend on r(x), so sentences scored for many inputs compute it once."""
        h1, _ = self.lstm1(self.embed(tokens))
        return self.fuse_word(self.drop(h1))

    def logits(
        self, words: torch.Tensor, cond: torch.Tensor, positions: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Logits (B, T, V) from the fusion layer's two halves; at ``positions`` only, (B, V)."""
        h2, _ = self.lstm2(words + cond.unsqueeze(1))
        h2 = self.drop(h2)
        if positions is not None:
            h2 = h2[torch.arange(h2.shape[0], device=h2.device), positions]
        return self.out(h2)

    def init_state(self, batch: int, device: torch.device | None = None) -> State:
        zeros = torch.zeros(1, batch, self.config["hidden_dim"], device=device)
        return zeros, zeros.clone(), zeros.clone(), zeros.clone()

    def step(
        self, token: torch.Tensor, cond: torch.Tensor, state: State
    ) -> tuple[torch.Tensor, State]:
        """One decoding step: log-probabilities (B, V) of the next token and the new state."""
        h1, c1, h2, c2 = state
        o1, (h1, c1) = self.lstm1(self.embed(token).unsqueeze(1), (h1, c1))
        fused = self.fuse_word(self.drop(o1)) + cond.unsqueeze(1)
        o2, (h2, c2) = self.lstm2(fused, (h2, c2))
        logits = self.out(self.drop(o2)).squeeze(1)
        return F.log_softmax(logits, dim=-1), (h1, c1, h2, c2)

    @staticmethod
    def reorder_state(state: State, index: torch.Tensor) -> State:
        """Select batch rows of a decoding state (for beam search)."""
        return tuple(s.index_select(1, index) for s in state)  # type: ignore[return-value]
