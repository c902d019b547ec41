"""A small decoder-only transformer explainer (DeViL's design, Dani et al. 2023): pre-LayerNorm
blocks of causal self-attention over the words so far, cross-attention over r(x)'s tokens
(:class:`~interpnet.model.tokens.RxTokens`: one per position of each feature map kept un-pooled,
one per vector part, one for the label) and a feed-forward layer; in training, whole parts
(layers) and single positions of r(x) are dropped, so that one layer or one location learns to
be described alone. Each word's cross-attention, averaged over heads and blocks, is its
evidence (:class:`~interpnet.evidence.EvidenceMaps`)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from interpnet.model.explainer import Explainer, register_explainer
from interpnet.model.tokens import RxTokens


def sinusoid(length: int, width: int, device: torch.device | None = None) -> torch.Tensor:
    """The sinusoidal position encoding (length, width) of "Attention is all you need"."""
    position = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    rate = torch.exp(
        torch.arange(0, width, 2, device=device, dtype=torch.float32) * (-math.log(1e4) / width)
    )
    out = torch.zeros(length, width, device=device)
    out[:, 0::2] = torch.sin(position * rate)
    out[:, 1::2] = torch.cos(position * rate[: width // 2])
    return out


class DecoderBlock(nn.Module):
    """Pre-LayerNorm: causal self-attention over the words, cross-attention over the tokens of
    r(x), a feed-forward layer (GELU), each added back to its input."""

    def __init__(self, width: int, heads: int, feedforward: int, dropout: float) -> None:
        super().__init__()
        self.norm_self = nn.LayerNorm(width)
        self.self_attention = nn.MultiheadAttention(width, heads, dropout, batch_first=True)
        self.norm_cross = nn.LayerNorm(width)
        self.cross_attention = nn.MultiheadAttention(width, heads, dropout, batch_first=True)
        self.norm_ff = nn.LayerNorm(width)
        self.feedforward = nn.Sequential(
            nn.Linear(width, feedforward), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(feedforward, width),
        )  # fmt: skip
        self.drop = nn.Dropout(dropout)

    def forward(
        self, x: torch.Tensor, cond: dict[str, torch.Tensor], weights: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The words' states (B, T, width) after the block, and (``weights``) their
        cross-attention over the tokens (B, T, N), averaged over heads."""
        causal = torch.ones(x.shape[1], x.shape[1], dtype=torch.bool, device=x.device).triu(1)
        h = self.norm_self(x)
        a, _ = self.self_attention(h, h, h, attn_mask=causal, need_weights=False)
        x = x + self.drop(a)
        h = self.norm_cross(x)
        tokens = cond["tokens"]
        c, w = self.cross_attention(
            h, tokens, tokens, key_padding_mask=~cond["mask"], need_weights=weights
        )
        x = x + self.drop(c)
        return x + self.drop(self.feedforward(self.norm_ff(x))), w


@register_explainer("transformer")
class TransformerExplainer(RxTokens, Explainer):
    """``layout``: r(x)'s parts and shapes (as for the attention explainer); ``fusion_dim``: the
    width of the words' and tokens' states; ``hidden_dim``: the feed-forward width;
    ``embed_dim``: the word embedding (projected to the width); ``layers`` decoder blocks of
    ``heads`` heads; ``part_dropout`` / ``position_dropout``: DeViL's dropout over r(x)'s parts
    and positions in training."""

    needs_layout = True

    def __init__(
        self,
        vocab_size: int,
        cond_dim: int,
        layout: list,
        embed_dim: int = 256,
        hidden_dim: int = 512,
        fusion_dim: int = 512,
        dropout: float = 0.2,
        num_classes: int = 0,
        label_embed_dim: int = 0,
        layers: int = 2,
        heads: int = 4,
        part_dropout: float = 0.1,
        position_dropout: float = 0.2,
    ):
        super().__init__()
        if int(layers) != layers or layers < 1 or int(heads) != heads or heads < 1:
            raise ValueError(f"layers and heads must be whole numbers >= 1, got {layers}, {heads}")
        if fusion_dim % int(heads):
            raise ValueError(f"the width (fusion_dim {fusion_dim}) must divide into {heads} heads")
        self._build_tokens(
            layout, cond_dim, fusion_dim, num_classes, label_embed_dim, part_dropout,
            position_dropout,
        )  # fmt: skip
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.word_in = nn.Linear(embed_dim, fusion_dim)
        self.blocks = nn.ModuleList(
            DecoderBlock(fusion_dim, int(heads), hidden_dim, dropout) for _ in range(int(layers))
        )
        self.norm = nn.LayerNorm(fusion_dim)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(fusion_dim, vocab_size)

    def words(self, tokens: torch.Tensor) -> torch.Tensor:
        """The input words' embeddings with their positions (B, T, width)."""
        x = self.word_in(self.embed(tokens))
        return self.drop(x + sinusoid(tokens.shape[1], x.shape[-1], x.device))

    def _run(self, words: torch.Tensor, cond, weights: bool = False):
        x, seen = words, []
        for block in self.blocks:
            x, w = block(x, cond, weights)
            seen.append(w)
        return self.norm(x), seen

    def logits(self, words, cond, positions: torch.Tensor | None = None) -> torch.Tensor:
        x, _ = self._run(words, cond)
        if positions is not None:
            x = x[torch.arange(x.shape[0], device=x.device), positions]
        return self.out(x)

    def word_attention(self, words: torch.Tensor, cond) -> torch.Tensor:
        """Each word's cross-attention (B, T, N) over r(x)'s tokens, averaged over the heads
        and the blocks (per-word evidence)."""
        _, seen = self._run(words, cond, weights=True)
        return torch.stack(seen).mean(dim=0)

    def init_state(self, batch: int, device: torch.device | None = None) -> torch.Tensor:
        """The words so far (B, 0): each step reads them all again (sentences are short)."""
        return torch.zeros(batch, 0, dtype=torch.long, device=device)

    def step(self, token: torch.Tensor, cond, state: torch.Tensor):
        prefix = torch.cat([state, token[:, None]], dim=1)
        last = torch.full((len(prefix),), prefix.shape[1] - 1, device=prefix.device)
        logits = self.logits(self.words(prefix), cond, positions=last)
        return F.log_softmax(logits, dim=-1), prefix

    @staticmethod
    def reorder_state(state: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return state[index]
