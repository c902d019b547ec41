"""The LRCN-2f with soft attention over r(x)'s positions (Show, Attend and Tell's attention,
FAE's use of it on a classifier's feature maps): at every step LSTM-1's state asks which
tokens of r(x) to read, and their weighted sum takes the place of the LRCN's fixed r(x) term.

The tokens come from r(x) itself, part by part in the shapes the introspector measured
(``layout``): a feature map read un-pooled (``Conditioning(pool="none")``) gives one token per
position (its C channels projected to the fusion width, plus a learned position embedding and a
learned embedding of its layer); a vector part (hidden layer, softmax, a pooled map) one token;
the class label of a label variant one more."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from interpnet.model.explainer import Explainer, register_explainer
from interpnet.model.lrcn import LRCNExplainer, State
from interpnet.model.tokens import RxTokens


@register_explainer("attention")
class AttentionExplainer(RxTokens, Explainer):
    """``layout``: ``[name, shape]`` of each part of r(x) in order (``shape`` (C, H, W) for a map
    kept un-pooled, (D,) otherwise), as :meth:`interpnet.introspector.Introspector.part_shapes`
    gives it; the sizes as the LRCN's; ``penalty``: the weight of the doubly stochastic
    attention penalty in the teacher-forced loss (Show, Attend and Tell's lambda, 1; 0: off);
    ``part_dropout`` / ``position_dropout``: DeViL's dropout over r(x)'s parts and positions in
    training (:class:`~interpnet.model.tokens.RxTokens`; 0: off)."""

    needs_layout = True  # InterpNet.build passes the introspector's part shapes

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
        penalty: float = 1.0,
        part_dropout: float = 0.0,
        position_dropout: float = 0.0,
    ):
        super().__init__()
        self.penalty = penalty
        self._weights: torch.Tensor | None = None  # the last teacher-forced pass's attention
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.lstm1 = nn.LSTM(embed_dim, hidden_dim, batch_first=True)
        self.fuse_word = nn.Linear(hidden_dim, fusion_dim, bias=False)
        self._build_tokens(
            layout, cond_dim, fusion_dim, num_classes, label_embed_dim, part_dropout,
            position_dropout,
        )  # fmt: skip
        self.query = nn.Linear(hidden_dim, fusion_dim, bias=False)
        self.lstm2 = nn.LSTM(fusion_dim, hidden_dim, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_dim, vocab_size)

    def attention(self, query: torch.Tensor, cond: dict[str, torch.Tensor]) -> torch.Tensor:
        """Weights (B, T, N) of each step's query (B, T, fusion) over the tokens."""
        scale = cond["tokens"].shape[-1] ** -0.5
        scores = torch.einsum("btf,bnf->btn", query, cond["tokens"]) * scale
        return scores.masked_fill(~cond["mask"].unsqueeze(1), float("-inf")).softmax(dim=-1)

    def _read(self, query: torch.Tensor, cond) -> tuple[torch.Tensor, torch.Tensor]:
        """The attention weights (B, T, N) and the tokens they read (B, T, fusion)."""
        weights = self.attention(query, cond)
        return weights, torch.einsum("btn,bnf->btf", weights, cond["tokens"])

    def word_attention(self, words: dict[str, torch.Tensor], cond) -> torch.Tensor:
        """Each word's attention (B, T, N) over r(x)'s tokens (per-word evidence)."""
        return self.attention(words["query"], cond)

    def words(self, tokens: torch.Tensor) -> dict[str, torch.Tensor]:
        """LSTM-1 over the input words: the word half of the fusion and the attention query."""
        h1, _ = self.lstm1(self.embed(tokens))
        h1 = self.drop(h1)
        return {"fused": self.fuse_word(h1), "query": self.query(h1)}

    def logits(self, words, cond, positions: torch.Tensor | None = None) -> torch.Tensor:
        weights, context = self._read(words["query"], cond)
        self._weights = weights if torch.is_grad_enabled() else None
        h2, _ = self.lstm2(words["fused"] + context)
        h2 = self.drop(h2)
        if positions is not None:
            h2 = h2[torch.arange(h2.shape[0], device=h2.device), positions]
        return self.out(h2)

    def auxiliary_loss(self, mask: torch.Tensor) -> torch.Tensor | None:
        """Show, Attend and Tell's doubly stochastic attention penalty, ``penalty`` x
        sum over tokens of (1 - the attention a token got over the sentence's words)^2, averaged
        over the batch: it asks the explanation to look at every part of r(x) at some word."""
        weights, self._weights = self._weights, None
        if weights is None or not self.penalty:
            return None
        total = (weights * mask.unsqueeze(-1).to(weights.dtype)).sum(dim=1)  # (B, N)
        return self.penalty * ((1.0 - total) ** 2).sum(dim=1).mean()

    # the decoding state is the LRCN's: the two LSTMs' hidden and cell states
    init_state = LRCNExplainer.init_state
    reorder_state = staticmethod(LRCNExplainer.reorder_state)

    def step(self, token: torch.Tensor, cond, state: State) -> tuple[torch.Tensor, State]:
        h1, c1, h2, c2 = state
        o1, (h1, c1) = self.lstm1(self.embed(token).unsqueeze(1), (h1, c1))
        o1 = self.drop(o1)
        _, context = self._read(self.query(o1), cond)
        o2, (h2, c2) = self.lstm2(self.fuse_word(o1) + context, (h2, c2))
        logits = self.out(self.drop(o2)).squeeze(1)
        return F.log_softmax(logits, dim=-1), (h1, c1, h2, c2)
