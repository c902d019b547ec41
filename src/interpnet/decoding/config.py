"""The decoding configuration: :class:`Decoding`, a serialisable config of a method (one of
:data:`~interpnet.decoding.methods.DECODING_METHODS`) and its options."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

from interpnet.decoding.contrastive import DISTRACTORS
from interpnet.decoding.distractor_bank import BANK_DISTRACTORS, DistractorBank
from interpnet.decoding.methods import DECODING_METHODS, METHODS
from interpnet.decoding.rerank import RERANK_SCORES
from interpnet.decoding.retrieve import ReferenceBank
from interpnet.errors import ConfigError
from interpnet.options import option


@dataclass
class Decoding:
    """Decoding options (validated on creation).

    - ``greedy``: the most probable word at each step (one candidate).
    - ``beam``: beam search with ``beam_width`` beams; the best by log-probability divided by
      the GNMT length penalty (``alpha``).
    - ``diverse-beam``: diverse beam search, ``groups`` groups and a Hamming ``diversity``
      penalty; the beams are the candidates.
    - ``sample``: ``num_samples`` sentences sampled with ``temperature`` and nucleus ``top_p``
      (seeded by ``seed``); without reranking the most probable (per word) is kept.
    - ``contrastive``: greedy on ``log p(w | image) - contrast * log p(w | distractor)`` among
      the words with ``p(w | image) >= plausibility * max p``; the ``distractor`` is the
      batch's most similar other input (``neighbour``) or the mean of its other inputs
      (``mean``): it demotes what similar images share (the class template) and keeps what
      this image's r(x) adds. The sentence then depends on the batch it is decoded in; the
      ``bank`` distractors do not: ``train-mean`` (all reference images), ``class-mean`` (the
      predicted class's), ``rival`` (the most similar other class's), from a
      :class:`~interpnet.decoding.distractor_bank.DistractorBank` given as ``bank`` (e.g.
      ``model.distractor_bank(training split)``; ``evaluate_run`` and the CLI build it from
      the run's training split).
    - ``retrieve``: the candidates are the reference sentences of the training images of the
      input's predicted class, from a :class:`~interpnet.decoding.retrieve.ReferenceBank`
      given as ``references`` (e.g. ``model.reference_bank(training split)``; ``evaluate_run``
      and the CLI build it from the run's training split), each scored by the explainer's
      log-probability of it given r(x); without reranking the most probable (per word) is
      kept. The explanation is a training sentence word for word (``max_length`` does not
      apply), chosen by what the explainer reads in r(x); it follows the decision by
      construction, as a class reranker does.

    ``add_references`` offers the ``retrieve`` candidates too, beside those of any other
    method (e.g. 10 samples and the predicted class's training references, one choice among
    all of them): an input keeps a sentence of its own when the explainer (or the reranker)
    prefers it to every human sentence of its decision, and a human sentence otherwise.

    ``no_repeat_ngram`` (default 3; 0 = off) is n-gram blocking (transformers'
    ``no_repeat_ngram_size``): every generating method (all but ``retrieve``, whose human
    sentences are kept word for word; with ``add_references`` the method's own candidates are
    blocked) never writes a word that would complete an n-gram of that many words its sentence
    already holds ("a blue head and a blue head"). ``<bos>`` is not part of the sentence and
    ``<eos>`` is never blocked (:mod:`~interpnet.decoding.ngram`). A candidate's
    log-probability stays the model's own, unblocked, log-probability of its words: what the
    choice without reranking and ``rerank_weight`` read.

    ``rerank`` names a score the caller supplies at decode time (a reranker, e.g. the run's
    reward sentence classifier ``"class"`` or retrieval model ``"retrieval"``): each input keeps
    the candidate with the highest ``score + rerank_weight * mean word log-probability``.
    ``method=None`` means greedy for ``beam_width`` 1, beam search otherwise.
    """

    method: str | None = option(
        None,
        help=(
            "decoding method (default: greedy, the paper's; beam when beam_width > 1); retrieve: "
            "the training reference of the predicted class the explainer finds most probable given"
            " r(x) (or, with rerank, the reranker prefers)"
        ),
        choices=METHODS,
        flag="decode",
    )
    beam_width: int = option(
        1,
        help="beams of beam / diverse-beam search; 1 = greedy decoding",
    )
    max_length: int = option(
        30,
        help="longest explanation, in tokens",
    )
    alpha: float = option(
        0.0,
        help="beam search: GNMT length-penalty exponent; 0 = none",
        flag="length-penalty",
    )
    groups: int = option(
        1,
        help="diverse-beam: groups of beams",
    )
    diversity: float = option(
        0.0,
        help="diverse-beam: penalty for a word an earlier group chose at the same step",
    )
    num_samples: int = option(
        1,
        help="sample: sentences per input",
    )
    temperature: float = option(
        1.0,
        help="sample: temperature",
    )
    top_p: float = option(
        1.0,
        help="sample: nucleus mass",
    )
    rerank: str | None = option(
        None,
        help=(
            "keep the candidate the run's reward models score best: the reward sentence "
            "classifier's probability of the predicted class (class), the retrieval model's of the"
            " own image among the batch's (retrieval) or among its training look-alikes of its "
            "predicted class (neighbours), or a sum (trained on the training references on first "
            "use)"
        ),
        choices=RERANK_SCORES,
    )
    rerank_weight: float = option(
        0.0,
        help="with rerank: weight of the mean word log-probability",
    )
    seed: int = option(
        0,
        help="sampling seed",
        flag="decode-seed",
    )
    contrast: float = option(
        0.5,
        help="contrastive: weight in [0, 1) of the distractor's log-probability, subtracted",
    )
    plausibility: float = option(
        0.1,
        help="contrastive: only words at least this share of the likeliest word's probability",
    )
    distractor: str = option(
        "neighbour",
        help=(
            "contrastive: the batch's most similar other input (neighbour) or the mean of the "
            "others (mean), or, the same in any batch, the mean of the run's training images "
            "(train-mean), of those of the predicted class (class-mean) or of the most similar "
            "other class (rival)"
        ),
        choices=DISTRACTORS,
    )
    add_references: bool = option(
        False,
        help=(
            "offer the training references of the predicted class as candidates too, beside the "
            "method's own (not with method retrieve, whose candidates they are)"
        ),
    )
    no_repeat_ngram: int = option(
        3,
        help=(
            "never write a word that would repeat an N-word phrase of the same sentence (all "
            "methods but retrieve); 0 = off"
        ),
        metavar="N",
    )
    bank: DistractorBank | None = field(default=None, repr=False, compare=False)
    references: ReferenceBank | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.method is None:
            self.method = "greedy" if self.beam_width == 1 else "beam"
        if self.method not in DECODING_METHODS:
            raise ConfigError(
                f"unknown decoding method {self.method!r}; choose one of {tuple(DECODING_METHODS)}"
            )
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"decoding {f.name} must be a finite number, got {value}")
        for name in ("beam_width", "max_length", "groups", "num_samples"):
            if getattr(self, name) < 1:
                raise ConfigError(f"decoding {name} must be at least 1, got {getattr(self, name)}")
        if self.method == "diverse-beam" and self.beam_width % self.groups:
            raise ConfigError(
                f"decoding groups ({self.groups}) must divide beam_width ({self.beam_width})"
            )
        if self.diversity < 0:
            raise ConfigError(f"decoding diversity must be 0 or more, got {self.diversity}")
        if not self.temperature > 0:
            raise ConfigError(f"decoding temperature must be positive, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"decoding top_p must be in (0, 1], got {self.top_p}")
        if not 0 <= self.contrast < 1:
            raise ConfigError(f"decoding contrast must be in [0, 1), got {self.contrast}")
        if not 0 < self.plausibility <= 1:
            raise ConfigError(f"decoding plausibility must be in (0, 1], got {self.plausibility}")
        nr = self.no_repeat_ngram
        if isinstance(nr, bool) or not isinstance(nr, int) or nr < 0:
            raise ConfigError(
                f"decoding no_repeat_ngram must be a whole number of words, 0 (off) or more, "
                f"got {nr!r}"
            )
        if self.distractor not in DISTRACTORS:
            raise ConfigError(
                f"unknown decoding distractor {self.distractor!r}; choose one of {DISTRACTORS}"
            )
        if self.bank is not None and not isinstance(self.bank, DistractorBank):
            raise ConfigError(
                f"decoding bank must be a DistractorBank, got {type(self.bank).__name__}"
            )
        if self.add_references and self.method == "retrieve":
            raise ConfigError(
                "decoding add_references offers the retrieve candidates beside another "
                "method's; retrieve's candidates are already the references"
            )
        if self.references is not None and not isinstance(self.references, ReferenceBank):
            raise ConfigError(
                f"decoding references must be a ReferenceBank, got {type(self.references).__name__}"
            )

    @property
    def num_candidates(self) -> int | None:
        """Candidates per input (None with references: as many as its predicted class has)."""
        if self.needs_references:
            return None
        if self.method in ("greedy", "contrastive"):
            return 1
        return self.num_samples if self.method == "sample" else self.beam_width

    @property
    def needs_bank(self) -> bool:
        """Whether this decoding reads a distractor bank (``bank``)."""
        return self.method == "contrastive" and self.distractor in BANK_DISTRACTORS

    @property
    def needs_references(self) -> bool:
        """Whether this decoding reads a reference bank (``references``)."""
        return self.method == "retrieve" or self.add_references

    @property
    def lacks_banks(self) -> bool:
        """Whether this decoding reads a bank it has not been given."""
        return (self.needs_bank and self.bank is None) or (
            self.needs_references and self.references is None
        )

    def to_dict(self) -> dict[str, Any]:
        """The options, for JSON (the banks as what they hold)."""
        banks = {"bank": self.bank, "references": self.references}
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in banks}
        out.update({name: b.summary() for name, b in banks.items() if b is not None})
        return out


def resolve_decoding(decoding: Decoding | None, options: dict[str, Any]) -> Decoding:
    """``decoding``, or a Decoding built from its fields in ``options`` (not both)."""
    if decoding is not None and options:
        raise TypeError("give either a Decoding or its fields as keyword arguments, not both")
    return decoding if decoding is not None else Decoding(**options)
