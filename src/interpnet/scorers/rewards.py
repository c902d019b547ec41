"""Scores of generated sentences, as small modules a trainer or a reranker switches between.

Each reward maps sentences and a :class:`RewardContext` (which batch item each sentence
explains, that item's r(x), classes and references) to one number per sentence:

- ``class-predicted`` / ``class-true``: a sentence classifier's probability of the
  classifier's predicted class (faithfulness) or of the true class (GVE's discriminative loss);
- ``cider``: CIDEr-D against the item's references, document frequencies fixed beforehand;
- ``cider-class``: the same with document frequencies from the references of the item's own
  class only, so the class's template weighs nothing and what sets the image apart weighs most;
- ``retrieval``: a retrieval model's probability that the sentence describes its own item
  rather than another of the batch (a softmax over the batch's items);
- ``retrieval-neighbours``: the same against the images of a bank (the training images) that
  look most like the item among those of its predicted class: its nearest look-alikes, which
  a class template cannot tell it from.

They are meant to be trained on other data than the judges that evaluate (see
:mod:`interpnet.scorers.store`).
"""

from __future__ import annotations

from collections import defaultdict

import torch

from interpnet.decoding.rerank import Reranker, RewardContext
from interpnet.errors import ConfigError
from interpnet.metrics.cider import CiderD
from interpnet.scorers.retrieval import RetrievalModel
from interpnet.scorers.sentence_classifier import SentenceClassifier
from interpnet.text import words

REWARDS = (
    "class-predicted",
    "class-true",
    "cider",
    "cider-class",
    "retrieval",
    "retrieval-neighbours",
)
# those that need reward models
MODEL_REWARDS = ("class-predicted", "class-true", "retrieval", "retrieval-neighbours")


class ClassReward:
    """A sentence classifier's probability of the predicted (or true) class."""

    def __init__(self, classifier: SentenceClassifier, target: str = "predicted"):
        if target not in ("predicted", "true"):
            raise ConfigError(f"class reward target must be 'predicted' or 'true', got {target!r}")
        self.classifier, self.target = classifier, target

    def __call__(self, sentences: list[str], ctx: RewardContext) -> torch.Tensor:
        classes = ctx.predicted if self.target == "predicted" else ctx.true
        if classes is None:
            raise ValueError(f"the class reward needs the {self.target} classes of the batch")
        probs = self.classifier.predict_proba(sentences)
        return probs[torch.arange(len(sentences)), classes.cpu()[ctx.rows.cpu()]]


class RetrievalReward:
    """The probability a retrieval model gives each sentence's own item among the batch."""

    def __init__(self, model: RetrievalModel):
        self.model = model

    @torch.no_grad()
    def __call__(self, sentences: list[str], ctx: RewardContext) -> torch.Tensor:
        self.model.eval()
        text = self.model.encode_text(sentences)
        images = self.model.encode_images(ctx.r)
        logits = self.model.log_scale.exp() * text @ images.T
        own = torch.log_softmax(logits, dim=1)[
            torch.arange(len(sentences)), ctx.rows.to(text.device)
        ]
        return own.exp().cpu()


class NeighbourRetrievalReward:
    """The probability a retrieval model gives each sentence's own item against its
    ``negatives`` nearest neighbours (cosine of the model's image embeddings) among the
    ``bank`` images (N, D) whose ``bank_labels`` (N,) is the item's predicted class. The item
    itself (bank index ``ctx.items``, where given: the bank is the training images and the
    items are among them) and bank images identical to it (cosine above ``1 - 1e-5``) are
    never its negatives; a class with fewer images gives fewer negatives."""

    def __init__(
        self,
        model: RetrievalModel,
        bank: torch.Tensor,
        bank_labels: torch.Tensor,
        negatives: int = 8,
    ):
        if negatives < 1:
            raise ConfigError(
                f"the neighbour retrieval reward needs 1 or more negatives, got {negatives}"
            )
        if len(bank) != len(bank_labels):
            raise ValueError(f"{len(bank)} bank images but {len(bank_labels)} bank labels")
        self.model, self.negatives = model, negatives
        self.bank, self.bank_labels = bank, torch.as_tensor(bank_labels).long()
        self._embedded: torch.Tensor | None = None

    @torch.no_grad()
    def __call__(self, sentences: list[str], ctx: RewardContext) -> torch.Tensor:
        if ctx.predicted is None:
            raise ValueError("the neighbour retrieval reward needs the predicted classes")
        self.model.eval()
        if self._embedded is None:
            self._embedded = torch.cat(
                [self.model.encode_images(part) for part in self.bank.split(4096)]
            )
        bank = self._embedded
        own = self.model.encode_images(ctx.r)  # (B, d)
        labels = self.bank_labels.to(bank.device)
        sims = own @ bank.T
        usable = (labels[None, :] == ctx.predicted.to(bank.device)[:, None]) & (sims < 1 - 1e-5)
        if ctx.items is not None:
            usable[torch.arange(len(own)), ctx.items.to(bank.device)] = False
        k = min(self.negatives, len(bank))
        top = sims.masked_fill(~usable, -float("inf")).topk(k, dim=1)
        rows = ctx.rows.to(bank.device)
        images = torch.cat([own[:, None], bank[top.indices]], dim=1)[rows]  # (S, 1 + k, d)
        valid = torch.cat(
            [torch.ones_like(top.values[:, :1], dtype=torch.bool), top.values > -float("inf")],
            dim=1,
        )[rows]
        text = self.model.encode_text(sentences)
        logits = self.model.log_scale.exp() * torch.einsum("sd,skd->sk", text, images)
        logits = logits.masked_fill(~valid, -float("inf"))
        return torch.softmax(logits, dim=1)[:, 0].cpu()


class CiderReward:
    """CIDEr-D (x10 scale, as the toolkit's per-image score) against each item's references,
    on interpnet's tokens without punctuation, with document frequencies from ``corpus``."""

    def __init__(self, corpus: list[list[str]]):
        self.scorer = CiderD([[words(s) for s in refs] for refs in corpus])
        self._refs: dict[tuple[str, ...], list] = {}

    def score(self, sentence: str, references: list[str]) -> float:
        """CIDEr-D of one sentence against one item's references."""
        refs = tuple(references)
        if refs not in self._refs:
            self._refs[refs] = self.scorer.reference_vectors([words(s) for s in refs])
        return self.scorer.score_vectors(words(sentence), self._refs[refs])

    def __call__(self, sentences: list[str], ctx: RewardContext) -> torch.Tensor:
        if ctx.references is None:
            raise ValueError("the CIDEr reward needs the references of the batch")
        rows = ctx.rows.tolist()
        return torch.tensor(
            [self.score(s, ctx.references[i]) for s, i in zip(sentences, rows, strict=True)]
        )


class ClassCiderReward:
    """CIDEr-D against each item's references with document frequencies from the ``corpus``
    references of that item's class only (``labels``: the class of each corpus item). An
    n-gram used for every image of the class (its template) gets idf 0 and earns nothing; the
    n-grams of the image's references that few others of its class share earn most."""

    def __init__(self, corpus: list[list[str]], labels: list[int]):
        if len(corpus) != len(labels):
            raise ValueError(f"{len(corpus)} reference sets but {len(labels)} labels")
        by_class: dict[int, list[list[str]]] = defaultdict(list)
        for refs, y in zip(corpus, labels, strict=True):
            by_class[int(y)].append(refs)
        self.per_class = {y: CiderReward(refs) for y, refs in by_class.items()}

    def __call__(self, sentences: list[str], ctx: RewardContext) -> torch.Tensor:
        classes = ctx.classes_of_references()
        if ctx.references is None or classes is None:
            raise ValueError("the class CIDEr reward needs the references and classes of the batch")
        out = []
        for sentence, row in zip(sentences, ctx.rows.tolist(), strict=True):
            y = int(classes[row])
            if y not in self.per_class:
                raise ValueError(f"the class CIDEr reward has no references of class {y}")
            out.append(self.per_class[y].score(sentence, ctx.references[row]))
        return torch.tensor(out)


class WeightedReward:
    """A weighted sum of named rewards; :meth:`parts` gives each one for logging."""

    def __init__(self, rewards: dict[str, tuple[Reranker, float]]):
        if not rewards:
            raise ConfigError("no reward: give at least one with a weight")
        self.rewards = rewards

    def parts(self, sentences: list[str], ctx: RewardContext) -> dict[str, torch.Tensor]:
        return {name: fn(sentences, ctx).float() for name, (fn, _) in self.rewards.items()}

    def __call__(self, sentences: list[str], ctx: RewardContext) -> torch.Tensor:
        parts = self.parts(sentences, ctx)
        return sum(w * parts[name] for name, (_, w) in self.rewards.items())


def check_reward_weights(weights: dict[str, float]) -> dict[str, float]:
    """Reward weights by name, validated; zero weights are dropped."""
    unknown = sorted(set(weights) - set(REWARDS))
    if unknown:
        raise ConfigError(f"unknown reward(s) {unknown}; choose from {list(REWARDS)}")
    for name, w in weights.items():
        if (
            not isinstance(w, int | float)
            or isinstance(w, bool)
            or w != w
            or abs(w) == float("inf")
        ):
            raise ConfigError(f"reward {name!r} needs a finite number as its weight, got {w!r}")
    return {k: float(v) for k, v in weights.items() if v != 0}
