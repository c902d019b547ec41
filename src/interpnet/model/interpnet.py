"""InterpNet: classifier + introspector + explainer + vocabulary, saved as a run directory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from interpnet.data.splits import as_split_data
from interpnet.decoding import Decoding, decode_candidates, rerank_choice, resolve_decoding
from interpnet.decoding.batch import flatten_rows
from interpnet.decoding.distractor_bank import DistractorBank
from interpnet.decoding.rerank import Reranker, RewardContext
from interpnet.decoding.retrieve import ReferenceBank
from interpnet.devices import mixed_precision
from interpnet.errors import CheckpointError, ConfigError
from interpnet.model.attention import AttentionExplainer  # noqa: F401  (registers it)
from interpnet.model.classifier import MLPClassifier, build_classifier, classifier_config
from interpnet.model.conditioning import Conditioning
from interpnet.model.explainer import (
    DEFAULT_EXPLAINER,
    Explainer,
    explainer_class,
    explainer_from_config,
    sentence_loss,
)
from interpnet.model.lrcn import LRCNExplainer  # noqa: F401  (registers the default explainer)
from interpnet.model.transformer import TransformerExplainer  # noqa: F401  (registers it)
from interpnet.rundir import MODEL_CONFIG, RunDirectory
from interpnet.storage import load_tensors, read_json, save_tensors, write_json
from interpnet.text import Vocabulary, detokenize


@dataclass
class Explanation:
    """The classifier's decision for one input and the generated explanation."""

    label: int
    class_name: str
    probability: float
    sentence: str


class InterpNet(nn.Module):
    """Explains any classifier's decisions from its own activations r(x).

    Build one with :meth:`build` (it measures r(x) on an example input), train it with
    :mod:`interpnet.training`, then call :meth:`explain`.
    """

    def __init__(
        self,
        classifier: nn.Module,
        explainer: Explainer,
        vocab: Vocabulary,
        conditioning: Conditioning,
        class_names: list[str] | None = None,
        input_spec: dict[str, Any] | None = None,
        num_classes: int | None = None,
    ):
        super().__init__()
        self.num_classes = num_classes or (len(class_names) if class_names else None)
        self.classifier = classifier
        self.explainer = explainer
        self.vocab = vocab
        self.conditioning = conditioning
        self.introspector = conditioning.introspector(classifier)
        self.class_names = class_names
        self.input_spec = input_spec or {}

    @classmethod
    def build(
        cls,
        classifier: nn.Module,
        vocab: Vocabulary,
        conditioning: Conditioning,
        example_input: torch.Tensor,
        class_names: list[str] | None = None,
        input_spec: dict[str, Any] | None = None,
        explainer: str | type[Explainer] = DEFAULT_EXPLAINER,
        **explainer_kwargs: Any,
    ) -> InterpNet:
        """Create an InterpNet whose explainer fits r(x) as measured on ``example_input``.

        ``explainer``: a registered explainer's name (default ``lrcn``, the paper's
        :class:`~interpnet.model.lrcn.LRCNExplainer`) or an :class:`Explainer` subclass;
        ``explainer_kwargs`` go to it (``label_embed_dim`` is used only by the label variants).
        """
        introspector = conditioning.introspector(classifier)
        was_training = classifier.training
        classifier.eval()
        with torch.no_grad():
            logits, r = introspector(example_input[:2])
        classifier.train(was_training)
        num_classes = logits.shape[-1]
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError(f"{len(class_names)} class names for {num_classes} classifier outputs")
        if conditioning.uses_label:
            explainer_kwargs.setdefault("label_embed_dim", 128)
            explainer_kwargs["num_classes"] = num_classes
        else:
            explainer_kwargs.pop("label_embed_dim", None)
        kind = explainer_class(explainer) if isinstance(explainer, str) else explainer
        if getattr(kind, "needs_layout", False):  # it reads r(x) part by part, in its shapes
            explainer_kwargs["layout"] = introspector.part_shapes(example_input[:2])
        module = kind(len(vocab), r.shape[1], **explainer_kwargs)
        return cls(classifier, module, vocab, conditioning, class_names, input_spec, num_classes)

    def class_name(self, label: int) -> str:
        """The name of class ``label`` (its number when the model has no class names)."""
        return self.class_names[label] if self.class_names else str(label)

    # ---- classification and introspection -------------------------------------------------
    def introspect(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Classifier logits and the detached r(x)."""
        return self.introspector(x)

    @torch.no_grad()
    def introspect_split(
        self, data: Any, batch_size: int = 256
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and r(x) of every item of ``data`` (a :class:`~interpnet.data.splits.SplitData`,
        or anything with ``len()`` and ``batch(index, device)``), in batches, with the
        classifier in eval mode; on the model's device."""
        self.classifier.eval()
        device = next(self.parameters()).device
        outputs = [
            self.introspect(data.batch(idx, device))
            for idx in torch.arange(len(data)).split(batch_size)
        ]
        return torch.cat([o[0] for o in outputs]), torch.cat([o[1] for o in outputs])

    @torch.no_grad()
    def distractor_bank(self, data: Any, batch_size: int = 256) -> DistractorBank:
        """The per-class mean conditioning of ``data`` (a reference split, e.g. the training
        split, as :meth:`introspect_split` takes it) by the classifier's predicted class: the
        fixed distractors of ``Decoding(method="contrastive", distractor="class-mean")`` and
        the other bank distractors, so an explanation does not depend on its batch."""
        logits, r = self.introspect_split(data, batch_size)
        predicted = logits.argmax(dim=-1)
        cond = self.explainer.condition(r, predicted if self.explainer.uses_label else None)
        return DistractorBank.from_conditioning(flatten_rows(cond), predicted, logits.shape[-1])

    def reference_bank(self, data: Any) -> ReferenceBank:
        """The reference sentences of ``data`` (a reference split, e.g. the training split: a
        :class:`~interpnet.data.splits.SplitData` or any sequence of ``(input, label,
        sentences)``) by the class of the image each describes, encoded with this model's
        vocabulary: the candidates of ``Decoding(method="retrieve")``."""
        data = as_split_data(data, "reference")
        return ReferenceBank.from_sentences(
            data.tokens(),
            data.labels.tolist(),
            self.vocab,
            self.num_classes or int(data.labels.max()) + 1,
        )

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Predicted classes (N,) and their probabilities (N,)."""
        self.eval()
        probs = torch.softmax(self.classifier(x), dim=-1)
        p, labels = probs.max(dim=-1)
        return labels, p

    # ---- explanation --------------------------------------------------------------------
    def _teacher_forced(
        self,
        tokens: torch.Tensor,
        r: torch.Tensor,
        labels: torch.Tensor | None,
        explainer: nn.Module | None = None,
    ) -> torch.Tensor:
        """Logits (B, T, V) for padded token ids (B, T), each step fed the previous word."""
        bos = torch.full_like(tokens[:, :1], self.vocab.bos_id)
        run = self.explainer if explainer is None else explainer
        return run(torch.cat([bos, tokens[:, :-1]], dim=1), r, labels)

    def explainer_loss(
        self,
        tokens: torch.Tensor,
        r: torch.Tensor,
        labels: torch.Tensor | None = None,
        explainer: nn.Module | None = None,
    ) -> torch.Tensor:
        """Teacher-forced loss on padded token ids (B, T) that end with ``<eos>``.
        ``explainer``: the module to run instead of ``self.explainer`` (a
        ``DistributedDataParallel`` wrapper of it, in distributed training)."""
        logits = self._teacher_forced(tokens, r, labels, explainer)
        loss = sentence_loss(logits, tokens, self.vocab.pad_id)
        extra = self.explainer.auxiliary_loss(tokens != self.vocab.pad_id)
        return loss if extra is None else loss + extra

    def sentence_logprob(
        self,
        tokens: torch.Tensor,
        r: torch.Tensor,
        labels: torch.Tensor | None = None,
        explainer: nn.Module | None = None,
    ) -> torch.Tensor:
        """Total log-probability (B,) the explainer gives padded token ids (B, T), with
        gradients (the policy-gradient phase uses it); ``explainer`` as in
        :meth:`explainer_loss`."""
        logits = self._teacher_forced(tokens, r, labels, explainer)
        logp = torch.log_softmax(logits, dim=-1).gather(2, tokens.unsqueeze(-1)).squeeze(-1)
        return (logp * (tokens != self.vocab.pad_id)).sum(dim=1)

    @torch.no_grad()
    def decode(
        self,
        r: torch.Tensor,
        labels: torch.Tensor | None = None,
        decoding: Decoding | None = None,
        reranker: Reranker | None = None,
        generator: torch.Generator | None = None,
        **options: Any,
    ) -> list[list[str]]:
        """Decode a batch of r(x) into token lists. ``labels`` are the classes of the batch (the
        explainer's label input for ``gve-label``; what a class reranker scores against).

        ``decoding`` (or its fields as keyword arguments, e.g. ``beam_width=3``) picks the
        method; when it names a ``rerank`` score, ``reranker`` computes it:
        ``reranker(sentences, RewardContext)`` -> one score per sentence.
        """
        decoding = resolve_decoding(decoding, options)
        if reranker is not None and decoding.rerank is None:
            raise ConfigError(
                "a reranker was given but the decoding does not rerank: name its score "
                "(Decoding(rerank='class'), ...) or leave the reranker out"
            )
        if r.shape[0] == 0:
            return []
        self.explainer.eval()
        bos, eos = self.vocab.bos_id, self.vocab.eos_id
        with mixed_precision(r.device):  # bf16 on CUDA, float32 on the CPU
            cond = self.explainer.condition(r, labels if self.explainer.uses_label else None)
            ids, logp, lengths, best = decode_candidates(
                self.explainer, cond, bos, eos, decoding, generator, labels
            )
        logp = logp.float()
        if decoding.rerank is not None:
            if reranker is None:
                raise ConfigError(
                    f"decoding reranks by {decoding.rerank!r} but no reranker was given; pass "
                    "one built from the run's reward models (interpnet.Reranker.from_run)"
                )
            batch, k = logp.shape
            flat = [detokenize(self.vocab.decode(row.tolist())) for row in ids.flatten(0, 1)]
            ctx = RewardContext(torch.arange(batch).repeat_interleave(k), r, labels)
            scores = reranker(flat, ctx).view(batch, k).to(logp.device)
            best = rerank_choice(scores, logp, lengths, decoding.rerank_weight).cpu()
        chosen = ids[torch.arange(ids.shape[0]), best.to(ids.device)]
        return [self.vocab.decode(row.tolist()) for row in chosen]

    @torch.no_grad()
    def explain(
        self,
        x: torch.Tensor,
        decoding: Decoding | None = None,
        reranker: Reranker | None = None,
        batch_size: int = 256,
        generator: torch.Generator | None = None,
        **options: Any,
    ) -> list[Explanation]:
        """Classify each input and explain the decision in a sentence.

        ``decoding`` (or its fields as keyword arguments) chooses how; see :meth:`decode`.
        For ``gve-label`` the explainer is given the predicted class, as GVE does at test time.
        Sampling draws from ``generator``, by default one seeded by ``decoding.seed``, so the
        same call gives the same sentences.
        """
        decoding = resolve_decoding(decoding, options)
        self.eval()
        if generator is None:
            generator = torch.Generator(device=x.device).manual_seed(decoding.seed)
        out: list[Explanation] = []
        for start in range(0, x.shape[0], batch_size):
            logits, r = self.introspect(x[start : start + batch_size])
            p, labels = torch.softmax(logits, dim=-1).max(dim=-1)
            sentences = self.decode(r, labels, decoding, reranker, generator)
            for label, prob, tokens in zip(labels.tolist(), p.tolist(), sentences, strict=True):
                out.append(Explanation(label, self.class_name(label), prob, detokenize(tokens)))
        return out

    def decision_mask(self, example: torch.Tensor) -> torch.Tensor:
        """Which entries of r(x) carry the classifier's decision (its hidden layers and softmax):
        all parts but those of the input, x: the classifier's input, its feature layer and the
        layers of the feature extractor that makes it (a CNN's backbone blocks; the pretrained
        backbone's layers and map a feature MLP gets as side inputs). All False for
        ``captioning`` and ``gve-label``, whose r(x) is x alone."""
        feature = getattr(self.classifier, "feature_layer_name", None)
        sides = isinstance(self.classifier, MLPClassifier)

        def of_x(name: str) -> bool:
            inside = feature is not None and (name == feature or name.startswith(f"{feature}."))
            return name == "input" or inside or (sides and name.startswith("side."))

        return self.part_mask(example, lambda name: not of_x(name))

    def part_mask(self, example: torch.Tensor, keep: Callable[[str], bool]) -> torch.Tensor:
        """Which entries of r(x) belong to the parts whose names ``keep`` accepts (part names
        as in :meth:`~interpnet.introspector.Introspector.part_dims`)."""
        masks = [
            torch.full((dim,), keep(name), dtype=torch.bool)
            for name, dim in self.introspector.part_dims(example)
        ]
        return torch.cat(masks)

    # ---- persistence --------------------------------------------------------------------
    def config_dict(self) -> dict[str, Any]:
        return {
            "format": "interpnet/1",
            "classifier": classifier_config(self.classifier),
            "conditioning": self.conditioning.to_dict(),
            "explainer": self.explainer.to_config(),
            "class_names": self.class_names,
            "input": self.input_spec,
            "num_classes": self.num_classes,
        }

    def save_pretrained(self, directory: str | Path) -> None:
        """Write ``interpnet.json``, ``vocab.json`` and ``model.safetensors`` into ``directory``."""
        run = RunDirectory(directory)
        save_tensors(run.weights, self.state_dict())
        self.vocab.save(run.vocab)
        write_json(run.model_config, self.config_dict())

    @classmethod
    def from_pretrained(
        cls,
        directory: str | Path,
        classifier: nn.Module | None = None,
        trust_code: bool = False,
    ) -> InterpNet:
        """Load a model saved by :meth:`save_pretrained` (or a training run directory).

        A classifier that interpnet cannot rebuild from its config (your own ``nn.Module``)
        must be passed as ``classifier``; its weights are restored from the checkpoint. A
        config that names a ``package.module:factory`` classifier is rebuilt by importing and
        calling it, which runs code chosen by whoever wrote the directory: only with
        ``trust_code=True`` (else :class:`~interpnet.errors.UntrustedCodeError`, before any
        import). Built-in, torchvision and timm classifiers need no consent.
        """
        run = RunDirectory(directory)
        run.require_model()
        config = read_json(run.model_config, "model config")
        try:
            if classifier is None:
                classifier = build_classifier(
                    config["classifier"], trust_code, str(run.model_config)
                )
            conditioning = Conditioning(**config["conditioning"])
            explainer = explainer_from_config(config["explainer"])
        except (AttributeError, KeyError, TypeError, ValueError) as err:  # ConfigError too
            raise CheckpointError(f"{run.model_config}: invalid model config ({err})") from None
        vocab = Vocabulary.load(run.vocab)
        model = cls(
            classifier,
            explainer,
            vocab,
            conditioning,
            config.get("class_names"),
            config.get("input"),
            config.get("num_classes"),
        )
        state = load_tensors(run.weights, "model weights")
        try:
            model.load_state_dict(state)
        except RuntimeError as err:
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise CheckpointError(
                f"{run.weights}: weights do not match {MODEL_CONFIG} ({first})"
            ) from None
        model.eval()
        return model
