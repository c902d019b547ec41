"""Retrieval decoding: an input's candidates are the reference sentences of the training images
of its predicted class (a :class:`ReferenceBank`), each scored by the explainer's
log-probability of it given the input's r(x); a reranker may then choose among them.

The explainer cannot write what it cannot read, so the bank keeps only references whose words
are all in the model's vocabulary; an explanation is then a training sentence word for word."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from interpnet.decoding.batch import batch_size, device_of, index_rows
from interpnet.decoding.protocols import Explainer
from interpnet.text import Vocabulary

# token positions (sentences x words) scored at once: the vocabulary logits of one chunk are
# held in memory (16,384 positions x a 3,000-word vocabulary = 200 MB in float32)
CHUNK_POSITIONS = 16_384
LENGTH_GROUP = 32  # sentences of similar length scored together, cut to the longest of them


@dataclass(frozen=True)
class ReferenceBank:
    """Reference sentences as token ids ``ids`` (R, T), each ending with ``<eos>`` and padded
    with 0, and the class (R,) of the image each describes (``classes``), of ``num_classes``
    classes. Build one with :meth:`from_sentences` or ``InterpNet.reference_bank(training
    split)``. ``skipped``: how many references were left out for words outside the
    vocabulary."""

    ids: torch.Tensor
    classes: torch.Tensor
    num_classes: int
    skipped: int = 0

    def __post_init__(self) -> None:
        if self.ids.dim() != 2 or self.classes.shape != self.ids.shape[:1]:
            raise ValueError(
                f"a reference bank needs token ids (R, T) and classes (R,), got "
                f"{tuple(self.ids.shape)} and {tuple(self.classes.shape)}"
            )
        if self.ids.shape[0] < 1:
            raise ValueError(
                "a reference bank needs at least one reference whose words are all in the "
                "model's vocabulary"
            )
        if int(self.classes.min()) < 0 or int(self.classes.max()) >= self.num_classes:
            raise ValueError(f"reference classes must lie in 0..{self.num_classes - 1}")

    @classmethod
    def from_sentences(
        cls,
        sentences: Sequence[Sequence[list[str]]],
        labels: Sequence[int],
        vocab: Vocabulary,
        num_classes: int,
    ) -> ReferenceBank:
        """From the tokenized references ``sentences[i]`` of example ``i``, whose class is
        ``labels[i]``: a sentence repeated within a class is kept once, one with a word outside
        ``vocab`` not at all (counted in ``skipped``)."""
        if len(sentences) != len(labels):
            raise ValueError(f"{len(sentences)} examples' references for {len(labels)} labels")
        seen: set[tuple[int, tuple[str, ...]]] = set()
        encoded, classes, skipped = [], [], 0
        for refs, label in zip(sentences, labels, strict=True):
            for tokens in refs:
                key = (int(label), tuple(tokens))
                if not tokens or key in seen:
                    continue
                seen.add(key)
                if any(t not in vocab.stoi for t in tokens):
                    skipped += 1
                    continue
                encoded.append(vocab.encode(list(tokens)))
                classes.append(int(label))
        if not encoded:
            return cls(torch.zeros(0, 1, dtype=torch.long), torch.zeros(0), num_classes, skipped)
        return cls(vocab.pad_batch(encoded), torch.tensor(classes), num_classes, skipped)

    def rows(self, label: int) -> torch.Tensor:
        """The bank rows of class ``label``: its references, or all of them for a class with
        none (so every input has candidates)."""
        rows = torch.nonzero(self.classes == label).flatten()
        return rows if len(rows) else torch.arange(len(self.classes))

    def summary(self) -> dict[str, Any]:
        """What the bank holds, for metrics.json."""
        return {
            "references": int(self.ids.shape[0]),
            "classes": int(self.classes.unique().numel()),
            "skipped": self.skipped,
        }


def retrieve_candidates(
    explainer: Explainer,
    cond: Any,
    bos_id: int,
    labels: torch.Tensor | None,
    bank: ReferenceBank | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each input's candidates, the references of its predicted class (``labels``, (B,)):
    token ids (B, K, T), the explainer's total log-probability of each given ``cond`` (B, K),
    lengths in words incl. ``<eos>`` (B, K), and the index (B,) of the one with the highest
    mean word log-probability. K is the largest class's count in the batch; an input of a
    smaller class repeats its first candidate (a repeat never wins a tie)."""
    if bank is None:
        raise ValueError(
            "retrieval decoding needs a ReferenceBank: Decoding(method='retrieve', "
            "references=model.reference_bank(training split))"
        )
    if labels is None:
        raise ValueError("retrieval decoding needs the inputs' predicted classes (labels)")
    labels = labels.cpu().long()
    of_class = {int(y): bank.rows(int(y)) for y in labels.unique()}
    width = max(len(p) for p in of_class.values())
    pad = {y: torch.cat([p, p[:1].expand(width - len(p))]) for y, p in of_class.items()}
    rows = torch.stack([pad[int(y)] for y in labels])
    device = device_of(cond)
    logp = torch.empty(len(labels), width, device=device)
    for label, own in of_class.items():
        at = torch.nonzero(labels == label).flatten().to(device)
        scores = _sentence_logprobs(
            explainer, index_rows(cond, at), bank.ids[own].to(device), bos_id
        )
        logp[at, : len(own)] = scores.to(logp.dtype)
        logp[at, len(own) :] = scores[:, :1].to(logp.dtype)
    ids = bank.ids[rows]
    lengths = (ids != 0).sum(dim=-1)
    best = (logp.float().cpu() / lengths.clamp(min=1)).argmax(dim=1)
    return ids.to(device), logp, lengths.to(device), best


def _sentence_logprobs(
    explainer: Explainer, cond: Any, ids: torch.Tensor, bos_id: int
) -> torch.Tensor:
    """Total log-probability (N, K) of each of K sentences ``ids`` (K, T) given each of N
    conditionings ``cond``, teacher-forced. The sentences go in groups of similar length, each
    cut to its longest (the decoder is causal: what follows ``<eos>`` changes nothing before
    it), and each group's :meth:`~Explainer.words` (for the LRCN, the word half of its fusion
    layer) are computed once for all N inputs; (input, sentence) pairs are scored in chunks."""
    lengths = (ids != 0).sum(dim=1)
    n, device = batch_size(cond), device_of(cond)
    out = torch.empty(n, len(ids), device=device)
    for group in lengths.argsort().split(LENGTH_GROUP):
        sents = ids[group][:, : int(lengths[group].max())]
        k, t = sents.shape
        bos = torch.full_like(sents[:, :1], bos_id)
        words = explainer.words(torch.cat([bos, sents[:, :-1]], dim=1))  # k rows
        scores = []
        for part in torch.arange(n * k, device=device).split(max(1, CHUNK_POSITIONS // t)):
            sent, inp = part % k, part // k
            logits = explainer.logits(index_rows(words, sent), index_rows(cond, inp)).float()
            target = sents[sent]
            token = logits.gather(2, target.unsqueeze(-1)).squeeze(-1) - logits.logsumexp(-1)
            scores.append((token * (target != 0)).sum(dim=1))
        out[:, group] = torch.cat(scores).view(n, k).to(out.dtype)
    return out
