"""What the decoders need of an explainer, as protocols: decoding sits below the model (as
transformers' ``generation`` sits below its models) and never imports it. The LRCN
(:class:`interpnet.model.LRCNExplainer`) satisfies both."""

from __future__ import annotations

from typing import Any, Protocol

import torch


class Explainer(Protocol):
    """A word-by-word sentence model conditioned on r(x): what every generating decoder calls.
    ``cond`` is what :meth:`condition` returns, batch-first; a decoding state is opaque to the
    decoders, which only create it, pass it back and reorder its batch rows."""

    def condition(self, r: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The conditioning of a batch of r(x) (B, D) (and its classes, if the explainer
        reads them): batch-first."""
        ...

    def init_state(self, batch: int, device: torch.device | None = None) -> Any:
        """The decoding state before the first word, for ``batch`` rows."""
        ...

    def step(self, token: torch.Tensor, cond: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """Log-probabilities (B, V) of the next word after ``token`` (B,), and the new state."""
        ...

    def reorder_state(self, state: Any, index: torch.Tensor) -> Any:
        """The state of batch rows ``index`` (beam search)."""
        ...


class FusionExplainer(Explainer, Protocol):
    """An explainer whose logits are a function of (word features + conditioning), as the
    LRCN's late fusion: retrieval decoding scores many sentences for many inputs with the word
    half computed once per sentence."""

    def word_features(self, tokens: torch.Tensor) -> torch.Tensor:
        """The word half (B, T, F) for input tokens (B, T)."""
        ...

    def fused_logits(self, fused: torch.Tensor) -> torch.Tensor:
        """Logits (B, T, V) from word features plus the conditioning (B, T, F)."""
        ...
