"""What an explainer is (:class:`Explainer`: the interface every decoder, training phase,
attribution and the report use), the registry that names explainers in a saved model, and the
LRCN's sizes (:class:`ExplainerConfig`)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from interpnet.errors import ConfigError
from interpnet.options import option


@dataclass
class ExplainerConfig:
    """Which explainer (``kind``: a registered name, default the paper's LRCN-2f) and its sizes
    (the paper's defaults). ``label_embed_dim`` is used by the label variants only."""

    kind: str = option(
        "lrcn",
        help=(
            "the explanation model: 'lrcn' (the paper's LRCN-2f), 'attention' (the LRCN "
            "attending over r(x)'s positions), 'transformer' (a decoder-only transformer "
            "cross-attending over them), or another registered with interpnet.register_explainer"
        ),
    )
    embed_dim: int = option(
        256,
        help="explainer word-embedding size",
    )
    hidden_dim: int = option(
        512,
        help="explainer LSTM size (both LSTMs)",
    )
    fusion_dim: int = option(
        512,
        help="size of the linear layer fusing LSTM-1 output and r(x)",
    )
    dropout: float = option(
        0.2,
        help="dropout on the LSTM outputs",
    )
    label_embed_dim: int = option(
        128,
        help="for variant gve-label: class-embedding size",
    )
    options: dict[str, float] = option(
        factory=dict,
        help="the explainer's own options as NAME=VALUE (e.g. penalty=0: the attention "
        "explainer without its attention penalty; layers=3 heads=8: the transformer's depth "
        "and heads; part_dropout, position_dropout: dropout over r(x)'s layers and positions)",
    )

    def __post_init__(self) -> None:
        explainer_class(self.kind)
        for name in ("embed_dim", "hidden_dim", "fusion_dim", "label_embed_dim"):
            if getattr(self, name) < 1:
                raise ConfigError(f"explainer {name} must be at least 1, got {getattr(self, name)}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"explainer dropout must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Explainer(nn.Module):
    """An explanation model: sentences word by word, conditioned on r(x) (and a class label,
    for the label variants). Subclass it (its constructor's arguments become ``config``,
    saved in ``interpnet.json``), set ``label_embed`` (an ``nn.Embedding`` of the classes, or
    None), implement :meth:`project`, :meth:`logits`, :meth:`init_state`, :meth:`step` and
    :meth:`reorder_state`, and register it (:func:`register_explainer`): every decoder, the
    three training phases, saving and loading, attribution and the report then work with it.

    The conditioning (:meth:`condition`) is opaque to all of them: a batch-first tensor, or a
    tuple/list/dict of tensors (e.g. a set of tokens and their mask). Its constructor takes
    ``vocab_size``, ``cond_dim`` (the width of r(x)), ``num_classes`` and ``label_embed_dim``
    (both 0 without a label input) and its own keyword arguments.
    """

    kind: ClassVar[str] = ""
    config: dict[str, Any]
    label_embed: nn.Embedding | None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Each subclass's constructor records its arguments (defaults filled in) as
        ``self.config``, what saving writes and loading passes back: a subclass never writes
        them out by hand."""
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return
        signature = inspect.signature(init)

        @functools.wraps(init)
        def recorded(self: Explainer, *args: Any, **kw: Any) -> None:
            init(self, *args, **kw)
            if type(self).__init__ is recorded:  # the class built, not a parent it calls
                bound = signature.bind(self, *args, **kw)
                bound.apply_defaults()
                config: dict[str, Any] = {}
                for name, value in list(bound.arguments.items())[1:]:
                    kind = signature.parameters[name].kind
                    if kind is inspect.Parameter.VAR_KEYWORD:
                        config.update(value)  # saved by name, passed back by name
                    elif kind is inspect.Parameter.VAR_POSITIONAL:
                        if value:
                            raise TypeError(f"{cls.__name__}: give its arguments by name")
                    else:
                        config[name] = value
                self.config = config

        cls.__init__ = recorded  # type: ignore[method-assign]

    @property
    def uses_label(self) -> bool:
        return self.label_embed is not None

    def condition_input(self, r: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The vector the explainer is conditioned on: r(x) (B, D), then the class label's
        embedding for a label variant. Attribution integrates over it."""
        if r.dim() != 2 or r.shape[1] != self.config["cond_dim"]:
            raise ValueError(
                f"explainer expects r(x) of shape (batch, {self.config['cond_dim']}), "
                f"got {tuple(r.shape)}"
            )
        if self.label_embed is not None:
            if labels is None:
                raise ValueError("this explainer is conditioned on a class label; pass labels")
            r = torch.cat([r, self.label_embed(labels)], dim=1)
        return r

    def project(self, c: torch.Tensor) -> Any:
        """The conditioning from :meth:`condition_input`'s vector."""
        raise NotImplementedError

    def condition(self, r: torch.Tensor, labels: torch.Tensor | None = None) -> Any:
        """The conditioning of a batch of r(x): what decoding steps and :meth:`logits` read."""
        return self.project(self.condition_input(r, labels))

    def words(self, tokens: torch.Tensor) -> Any:
        """What the explainer computes from input tokens (B, T) alone, without r(x) (the
        tokens themselves unless a subclass computes more once)."""
        return tokens

    def logits(self, words: Any, cond: Any, positions: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher-forced logits (B, T, V) from :meth:`words` of input tokens and a
        conditioning of the same rows; only at ``positions`` (B,), (B, V), when given."""
        raise NotImplementedError

    def forward(
        self, tokens: torch.Tensor, r: torch.Tensor, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Teacher-forced logits (B, T, V) for input tokens (B, T) that start with ``<bos>``."""
        return self.logits(self.words(tokens), self.condition(r, labels))

    def auxiliary_loss(self, mask: torch.Tensor) -> torch.Tensor | None:
        """A term the teacher-forced loss adds, about the explainer's last forward pass over
        sentences whose words ``mask`` (B, T) marks (e.g. an attention penalty); None: none."""
        return None

    def init_state(self, batch: int, device: torch.device | None = None) -> Any:
        """The decoding state before the first word."""
        raise NotImplementedError

    def step(self, token: torch.Tensor, cond: Any, state: Any) -> tuple[torch.Tensor, Any]:
        """One decoding step: log-probabilities (B, V) of the next word and the new state."""
        raise NotImplementedError

    def reorder_state(self, state: Any, index: torch.Tensor) -> Any:
        """The decoding state of rows ``index`` (beam search)."""
        raise NotImplementedError

    def to_config(self) -> dict[str, Any]:
        """What ``interpnet.json`` keeps of the explainer: its type and arguments. The LRCN,
        the default, is written without a type, as before types existed."""
        return (
            dict(self.config)
            if self.kind == DEFAULT_EXPLAINER
            else {**self.config, "type": self.kind}
        )


DEFAULT_EXPLAINER = "lrcn"
EXPLAINERS: dict[str, type[Explainer]] = {}


def register_explainer(name: str) -> Callable[[type[Explainer]], type[Explainer]]:
    """Class decorator: make an :class:`Explainer` buildable by ``name`` (``InterpNet.build(...,
    explainer=name)``) and loadable from a saved model that names it. A saved model can only
    name a registered class: loading one imports no code."""

    def wrap(cls: type[Explainer]) -> type[Explainer]:
        if not (isinstance(cls, type) and issubclass(cls, Explainer)):
            raise TypeError(f"register_explainer takes an Explainer subclass, got {cls!r}")
        cls.kind = name
        EXPLAINERS[name] = cls
        return cls

    return wrap


def explainer_class(name: str) -> type[Explainer]:
    if name not in EXPLAINERS:
        raise ConfigError(
            f"unknown explainer type {name!r}; registered: {sorted(EXPLAINERS)} (register your "
            "own with interpnet.register_explainer before building or loading it)"
        )
    return EXPLAINERS[name]


def explainer_from_config(config: dict[str, Any]) -> Explainer:
    """The explainer a saved config describes (:meth:`Explainer.to_config`)."""
    config = dict(config)
    return explainer_class(config.pop("type", DEFAULT_EXPLAINER))(**config)


def sentence_loss(logits: torch.Tensor, targets: torch.Tensor, pad_id: int = 0) -> torch.Tensor:
    """Per-token cross-entropy masked by length, averaged over each sentence, then the batch."""
    token_loss = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
    mask = (targets != pad_id).float()
    per_sentence = (token_loss * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)
    return per_sentence.mean()
