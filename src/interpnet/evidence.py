"""Per-word evidence of an explainer that attends over r(x): where each word of an explanation
looked, as its attention over r(x)'s tokens, laid back on each feature map's grid. Unlike
integrated gradients (:mod:`interpnet.attribution`), it is read from the model's own computation
of the word, for free."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from interpnet.attribution import explained_tokens, input_words
from interpnet.decoding import Decoding
from interpnet.decoding.rerank import Reranker
from interpnet.errors import ConfigError
from interpnet.model.explainer import Explainer
from interpnet.model.interpnet import InterpNet
from interpnet.model.tokens import token_spans


def attends(explainer: Explainer) -> bool:
    """Whether ``explainer`` attends over r(x)'s tokens and says where each word looked (it
    has ``word_attention(words, cond)`` -> (B, T, N) and a ``layout`` of r(x))."""
    return hasattr(explainer, "word_attention") and "layout" in explainer.config


@dataclass
class WordEvidence:
    """Where each word of one explanation looked. ``weights[t]``: word t's attention over the
    tokens of r(x) (it sums to 1); ``part_weights[t, k]``: the share of it on ``parts[k]`` (a
    feature map, a vector part, the label); ``maps[name][t]``: its attention on map ``name``'s
    grid (H, W)."""

    label: int
    class_name: str
    probability: float
    tokens: list[str]
    parts: list[str]
    weights: torch.Tensor
    part_weights: torch.Tensor
    maps: dict[str, torch.Tensor]


class EvidenceMaps:
    """Each word's attention, for a model whose explainer attends over r(x) (``attention``,
    ``transformer``)."""

    def __init__(self, model: InterpNet) -> None:
        explainer = model.explainer
        if not attends(explainer):
            raise ConfigError(
                f"the {explainer.kind or 'lrcn'} explainer does not attend over r(x); evidence "
                "maps need one that does (explainer kind 'attention' or 'transformer'), "
                "integrated gradients work for any (interpnet.WordAttributor)"
            )
        self.model = model
        self.layout = [(name, list(shape)) for name, shape in explainer.config["layout"]]

    @torch.no_grad()
    def explain(
        self,
        x: torch.Tensor,
        sentences: list[str] | None = None,
        decoding: Decoding | None = None,
        reranker: Reranker | None = None,
    ) -> list[WordEvidence]:
        """The evidence of the explanations of inputs ``x``: ``sentences`` when given (one per
        input), else the model's own, decoded with ``decoding``."""
        model, explainer = self.model, self.model.explainer
        model.eval()
        x = x.to(next(model.parameters()).device)
        logits, r = model.introspect(x)
        prob, labels = torch.softmax(logits, dim=-1).max(dim=-1)
        tokens, ids = explained_tokens(model, r, labels, sentences, decoding, reranker)
        cond = explainer.condition(r, labels if explainer.uses_label else None)
        words = explainer.words(input_words(model, ids, x.device))
        weights = explainer.word_attention(words, cond).float().cpu()
        spans = token_spans(self.layout, explainer.uses_label)
        out = []
        for n, seq in enumerate(tokens):
            w = weights[n, : len(ids[n])]  # (T, N)
            part_weights = torch.stack([w[:, a : a + c].sum(dim=1) for _, a, c, _ in spans], 1)
            maps = {
                name: w[:, a : a + c].reshape(len(w), *grid)
                for name, a, c, grid in spans
                if grid and math.prod(grid) == c
            }
            out.append(
                WordEvidence(
                    int(labels[n]),
                    model.class_name(int(labels[n])),
                    float(prob[n]),
                    list(seq),
                    [name for name, *_ in spans],
                    w,
                    part_weights,
                    maps,
                )
            )
        return out
