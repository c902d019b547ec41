"""Per-word attribution: which part of r(x) produced each word of an explanation.

For every generated word w_t the score is its log-probability ``log p(w_t | w_<t, r(x))``.
:class:`WordAttributor` attributes it to the entries of the explainer's conditioning input
``c = [r(x) ; label embedding]`` by integrated gradients from a zero baseline (Captum's
``IntegratedGradients``), summed over each named part of r(x) (the input features, hidden
layer k, the softmax, a backbone block, the GVE label). By completeness the parts add up to
``score(c) - score(0)``; the residual is reported. For a classifier on pixels it also draws a
heat map per word over the image: Grad-CAM (Captum's ``LayerGradCam``) of the word's
log-probability at a convolutional layer of the classifier, carried through the classifier
and the introspector with gradients.

The word path of the decoder (LSTM-1 over the previous words) does not depend on r(x), so it
is computed once per sentence; each (sentence, word) pair is one row of the attribution.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from interpnet.decoding import Decoding
from interpnet.decoding.batch import cut_time, from_leaves, index_rows, leaves
from interpnet.decoding.rerank import Reranker
from interpnet.errors import ConfigError
from interpnet.model.interpnet import InterpNet
from interpnet.text import tokenize

UNK = "<unk>"


@dataclass
class WordAttribution:
    """The attribution of one explanation, word by word.

    ``scores[t, k]``: the part of word t's log-probability attributed to part ``parts[k]`` (in
    nats); ``logprob[t]`` and ``baseline_logprob[t]``: the word's log-probability given r(x)
    and given the zero baseline; ``heatmaps[t]``: the word's Grad-CAM map over the image
    (values >= 0, the image's size), or None when the classifier does not read pixels;
    ``position_scores[name][t]``: for a feature map that r(x) keeps position by position
    (``pool="none"``), word t's attribution to each position (summed over channels, (H, W)).
    """

    label: int
    class_name: str
    probability: float
    tokens: list[str]
    parts: list[str]
    scores: torch.Tensor
    logprob: torch.Tensor
    baseline_logprob: torch.Tensor
    heatmaps: torch.Tensor | None = None
    position_scores: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def delta(self) -> torch.Tensor:
        """score(r(x)) - score(baseline) per word: what the parts add up to."""
        return self.logprob - self.baseline_logprob

    @property
    def completeness_error(self) -> torch.Tensor:
        """|sum of the parts - delta| per word (integrated gradients' approximation error)."""
        return (self.scores.sum(dim=1) - self.delta).abs()

    @property
    def shares(self) -> torch.Tensor:
        """Signed shares (T, P): each part's attribution over the sum of their magnitudes, so
        the magnitudes of a word's shares add up to 1."""
        return self.scores / self.scores.abs().sum(dim=1, keepdim=True).clamp_min(1e-12)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "class_name": self.class_name,
            "probability": self.probability,
            "tokens": self.tokens,
            "parts": self.parts,
            "scores": self.scores.tolist(),
            "logprob": self.logprob.tolist(),
            "baseline_logprob": self.baseline_logprob.tolist(),
        }


def sentence_tokens(sentence: str) -> list[str]:
    """The tokens of an explanation as the explainer wrote them (``<unk>`` kept whole; no
    final period added to a sentence that was cut off without one)."""
    pieces = [tokenize(p, end_with_period=False) for p in sentence.split(UNK)]
    tokens = pieces[0]
    for piece in pieces[1:]:
        tokens = [*tokens, UNK, *piece]
    return tokens


def explained_tokens(
    model: InterpNet,
    r: torch.Tensor,
    labels: torch.Tensor,
    sentences: list[str] | None,
    decoding: Decoding | None = None,
    reranker: Reranker | None = None,
) -> tuple[list[list[str]], list[list[int]]]:
    """The tokens of each input's explanation, ``sentences`` when given (one per input), else
    the model's own decoded from r(x) with ``decoding``; and their ids, the words without
    ``<eos>`` (what per-word attribution and evidence are computed for)."""
    if sentences is None:
        tokens = model.decode(r, labels, decoding, reranker)
    else:
        if len(sentences) != r.shape[0]:
            raise ValueError(f"{len(sentences)} sentences for {r.shape[0]} inputs")
        tokens = [sentence_tokens(s) for s in sentences]
    return tokens, [model.vocab.encode(t)[:-1] for t in tokens]


def input_words(model: InterpNet, ids: list[list[int]], device: torch.device) -> torch.Tensor:
    """The explainer's input at each word of sentences ``ids``: ``<bos>``, then every word but
    the last (padded)."""
    vocab = model.vocab
    return vocab.pad_batch([[vocab.bos_id, *seq[:-1]] for seq in ids]).to(device)


def last_conv_layer(model: nn.Module) -> str | None:
    """The name of the last ``nn.Conv2d`` of a model (in ``named_modules`` order), or None."""
    names = [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    return names[-1] if names else None


class _Rows:
    """(sentence, word) rows: each row's sentence, position and target token id."""

    def __init__(self, ids: list[list[int]]):
        pairs = [(i, t) for i, seq in enumerate(ids) for t in range(len(seq))]
        # sorted by position, so a chunk of rows runs the decoder only as far as it needs
        pairs.sort(key=lambda p: (p[1], p[0]))
        self.sentence = torch.tensor([i for i, _ in pairs], dtype=torch.long)
        self.position = torch.tensor([t for _, t in pairs], dtype=torch.long)
        self.target = torch.tensor([ids[i][t] for i, t in pairs], dtype=torch.long)

    def __len__(self) -> int:
        return len(self.sentence)

    def chunks(self, size: int):
        for start in range(0, len(self), size):
            yield torch.arange(start, min(start + size, len(self)))


class WordAttributor:
    """Attribute each word of a model's explanations to the named parts of r(x).

    ``n_steps``: integration points of integrated gradients (Gauss-Legendre, as Captum's
    default); ``heatmap_layer``: the classifier's convolutional layer for the per-word heat
    maps (``"auto"``: its last ``nn.Conv2d`` when it reads images; ``None``: no heat maps);
    ``rows_per_chunk``: (sentence, word) rows attributed together; ``rows_per_step``: rows x
    integration points evaluated in one pass (both bound the memory). Completeness is checked:
    a word whose parts miss ``score(r) - score(0)`` by more than ``tolerance`` x max(1, |that
    difference|) raises a warning (more ``n_steps`` fix it).
    """

    def __init__(
        self,
        model: InterpNet,
        n_steps: int = 32,
        heatmap_layer: str | None = "auto",
        rows_per_chunk: int = 256,
        rows_per_step: int = 2048,
        tolerance: float = 0.05,
    ):
        if min(n_steps, rows_per_chunk, rows_per_step) < 1:
            raise ConfigError("n_steps, rows_per_chunk and rows_per_step must be at least 1")
        self.model = model
        self.n_steps = n_steps
        self.rows_per_chunk = rows_per_chunk
        self.rows_per_step = rows_per_step
        self.tolerance = tolerance
        modules = dict(model.classifier.named_modules())
        if heatmap_layer == "auto":
            heatmap_layer = last_conv_layer(model.classifier)
        elif heatmap_layer is not None and heatmap_layer not in modules:
            raise ConfigError(
                f"unknown heat-map layer {heatmap_layer!r} in {type(model.classifier).__name__}"
            )
        self.heatmap_layer = heatmap_layer

    # ---- the scored function ----------------------------------------------------------------
    def _word_logprob(
        self, c: torch.Tensor, words: torch.Tensor, position: torch.Tensor, target: torch.Tensor
    ) -> torch.Tensor:
        """log p(target | words up to position, c) per row; ``words`` is the explainer's
        :meth:`~interpnet.model.Explainer.words` of each row's sentence, ``c`` its conditioning
        input (:meth:`~interpnet.model.Explainer.condition_input`)."""
        ex = self.model.explainer
        logits = ex.logits(words, ex.project(c), positions=position)
        return F.log_softmax(logits, dim=-1).gather(1, target.unsqueeze(1)).squeeze(1)

    def _flat_logprob(self, c: torch.Tensor, *args: torch.Tensor) -> torch.Tensor:
        """:meth:`_word_logprob` with the words given as their tensors (``leaves``), then the
        positions and targets: Captum repeats each tensor argument along the batch, not the
        tensors inside a dict or tuple (an explainer's words may be either)."""
        words = from_leaves(self._words_like, list(args[:-2]))
        return self._word_logprob(c, words, args[-2], args[-1])

    def _word_path(self, ids: list[list[int]], device: torch.device) -> Any:
        """The explainer's words of every sentence's input tokens (for the LRCN: the word half
        of its fusion layer, (N, T_max, fusion)), computed once."""
        return self.model.explainer.words(input_words(self.model, ids, device))

    # ---- attribution ------------------------------------------------------------------------
    def attribute(
        self,
        x: torch.Tensor,
        sentences: list[str] | None = None,
        decoding: Decoding | None = None,
        reranker: Reranker | None = None,
    ) -> list[WordAttribution]:
        """Attribute the explanations of inputs ``x``: ``sentences`` when given (one per input,
        e.g. the ones a report shows), else the model's own, decoded with ``decoding``."""
        model = self.model
        model.eval()
        device = next(model.parameters()).device
        x = x.to(device)
        with torch.no_grad():
            logits, parts = model.introspector.collect(x)
            r = torch.cat([t for _, t in parts], dim=1)
            prob, labels = torch.softmax(logits, dim=-1).max(dim=-1)
            tokens, ids = explained_tokens(model, r, labels, sentences, decoding, reranker)
            c = model.explainer.condition_input(r, labels)
            words = self._word_path(ids, device)
        names = [n for n, _ in parts] + (["label"] if model.explainer.uses_label else [])
        sizes = [t.shape[1] for _, t in parts]
        grids = self._grids(x, sizes)
        if model.explainer.uses_label:
            sizes.append(c.shape[1] - r.shape[1])
        rows = _Rows(ids)
        scores = torch.zeros(len(rows), len(names))
        value = torch.zeros(len(rows))
        base = torch.zeros(len(rows))
        heat = None
        positions = {name: torch.zeros(len(rows), *grid) for name, grid in grids.items()}
        from captum.attr import IntegratedGradients  # imported on use: it takes a second

        ig = IntegratedGradients(self._flat_logprob)
        for chunk in rows.chunks(self.rows_per_chunk):
            i, pos, tgt = (t[chunk].to(device) for t in (rows.sentence, rows.position, rows.target))
            w = cut_time(index_rows(words, i), int(pos.max()) + 1)  # causal: later words unread
            self._words_like = w
            ci = c[i]
            attr = ig.attribute(
                ci,
                baselines=torch.zeros_like(ci),
                additional_forward_args=(*leaves(w), pos, tgt),
                n_steps=self.n_steps,
                internal_batch_size=max(len(chunk), self.rows_per_step),
            )
            split = attr.detach().split(sizes, dim=1)
            scores[chunk] = torch.stack([a.sum(dim=1) for a in split], dim=1).cpu()
            for name, a in zip(names, split, strict=False):
                if name in positions:
                    positions[name][chunk] = a.reshape(len(a), -1, *grids[name]).sum(1).cpu()
            with torch.no_grad():
                value[chunk] = self._word_logprob(ci, w, pos, tgt).cpu()
                base[chunk] = self._word_logprob(torch.zeros_like(ci), w, pos, tgt).cpu()
            maps = self._heatmaps(x, labels, i, w, pos, tgt)
            if maps is not None:
                if heat is None:
                    heat = torch.zeros(len(rows), *maps.shape[1:])
                heat[chunk] = maps.cpu()
        error = (scores.sum(dim=1) - (value - base)).abs()
        worst = float((error / (value - base).abs().clamp_min(1.0)).max()) if len(rows) else 0.0
        if worst > self.tolerance:
            warnings.warn(
                f"integrated gradients with {self.n_steps} steps miss completeness by up to "
                f"{100 * worst:.1f}% of a word's score difference; use more n_steps",
                stacklevel=2,
            )
        out = []
        for n, seq in enumerate(tokens):
            mine = (rows.sentence == n).nonzero().flatten()
            mine = mine[rows.position[mine].argsort()]
            out.append(
                WordAttribution(
                    int(labels[n]),
                    model.class_name(int(labels[n])),
                    float(prob[n]),
                    list(seq),
                    names,
                    scores[mine],
                    value[mine],
                    base[mine],
                    heat[mine] if heat is not None else None,
                    {name: p[mine] for name, p in positions.items()},
                )
            )
        return out

    def _grids(self, x: torch.Tensor, sizes: list[int]) -> dict[str, list[int]]:
        """The (H, W) grid of each feature map that r(x) keeps position by position."""
        introspector = self.model.introspector
        if introspector.pool not in ("none", "flatten"):
            return {}
        shapes = introspector.part_shapes(x[:1])
        return {
            name: shape[1:]
            for (name, shape), size in zip(shapes, sizes, strict=True)
            if len(shape) == 3 and math.prod(shape) == size
        }

    def _heatmaps(self, x, labels, i, words, pos, tgt) -> torch.Tensor | None:
        """Grad-CAM of each row's word log-probability at the heat-map layer, upsampled to the
        image: (rows, H, W), or None without a layer or without image inputs."""
        if self.heatmap_layer is None or x.dim() != 4:
            return None
        from captum.attr import LayerAttribution, LayerGradCam

        model = self.model
        layer = dict(model.classifier.named_modules())[self.heatmap_layer]

        def score(images, label, *args):
            _, parts = model.introspector.collect(images, detach=False)
            r = torch.cat([part for _, part in parts], dim=1)
            return self._flat_logprob(model.explainer.condition_input(r, label), *args)

        cam = LayerGradCam(score, layer).attribute(
            x[i],
            additional_forward_args=(labels[i], *leaves(words), pos, tgt),
            relu_attributions=True,
        )
        up = LayerAttribution.interpolate(cam.detach(), tuple(x.shape[2:]), "bilinear")
        return up.squeeze(1).clamp_min(0)
