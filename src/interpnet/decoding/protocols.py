"""What the decoders need of an explainer, as a protocol: decoding sits below the model (as
transformers' ``generation`` sits below its models) and never imports it. Every explainer
(:class:`interpnet.model.Explainer`: the LRCN, and any registered one) satisfies it."""

from __future__ import annotations

from typing import Any, Protocol

import torch


class Explainer(Protocol):
    """A word-by-word sentence model conditioned on r(x).

    Its conditioning (what :meth:`condition` returns) and word features (:meth:`words`) are
    opaque batch-first values (a tensor, or a tuple/list/dict of tensors): decoders only
    count, index, concatenate and flatten their rows (:mod:`interpnet.decoding.batch`). A
    decoding state is opaque too: decoders create it, pass it back and reorder its rows."""

    @property
    def uses_label(self) -> bool:
        """Whether the explainer reads a class label beside r(x)."""
        ...

    def condition(self, r: torch.Tensor, labels: torch.Tensor | None = None) -> Any:
        """The conditioning of a batch of r(x) (B, D) (and its classes, if it reads them)."""
        ...

    def init_state(self, batch: int, device: torch.device | None = None) -> Any:
        """The decoding state before the first word, for ``batch`` rows."""
        ...

    def step(self, token: torch.Tensor, cond: Any, state: Any) -> tuple[torch.Tensor, Any]:
        """Log-probabilities (B, V) of the next word after ``token`` (B,), and the new state."""
        ...

    def reorder_state(self, state: Any, index: torch.Tensor) -> Any:
        """The state of rows ``index`` (beam search)."""
        ...

    def words(self, tokens: torch.Tensor) -> Any:
        """What the model computes from input tokens (B, T) alone, without r(x): computed once
        when many sentences are scored for many inputs (retrieval, attribution). Batch-first,
        then time (each tensor): the model must be causal, its outputs at step t must not
        depend on words after t."""
        ...

    def logits(self, words: Any, cond: Any, positions: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher-forced logits (B, T, V) from :meth:`words` and a conditioning of the same
        rows; at ``positions`` (B,) only, (B, V), when given."""
        ...
