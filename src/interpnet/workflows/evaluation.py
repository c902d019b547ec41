"""``interpnet.evaluate``: the evaluation of ``interpnet evaluate`` on data held in memory."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from interpnet.data.splits import SplitData, as_split_data
from interpnet.decoding import Decoding, resolve_decoding
from interpnet.decoding.rerank import Reranker
from interpnet.errors import ConfigError
from interpnet.model import InterpNet
from interpnet.scorers.store import ScorerData, Scorers
from interpnet.workflows.explain import explain_split
from interpnet.workflows.judges import train_judges
from interpnet.workflows.scoring import counterfactual_scores, finite, score_explanations


@dataclass
class Evaluation:
    """The metrics of a model's explanations of one data set, as ``metrics.json`` holds them:
    ``explanations`` (caption metrics, ``specificity``, ``class_relevance``, ``fidelity``,
    ``counterfactual``), ``lookup`` (the lookup table under the same decisions, for scale),
    ``human`` (human agreement and the judges on the references), ``judges`` (what they were
    trained on), with the classification ``accuracy``; ``records``: one per item (its
    decision, explanation and references)."""

    variant: str
    images: int
    accuracy: float
    decoding: dict[str, Any] | None
    tokenizer: str
    explanations: dict[str, Any]
    lookup: dict[str, Any] | None = None
    human: dict[str, Any] = field(default_factory=dict)
    judges: dict[str, Any] | None = None
    seconds: float = 0.0
    records: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The metrics as ``metrics.json`` writes them (without the records; without the
        lookup table or the judges when there were none)."""
        out = asdict(self)
        out.pop("records")
        return {k: v for k, v in out.items() if v is not None or k not in ("lookup", "judges")}


def score_records(
    model: InterpNet,
    records: list[dict[str, Any]],
    references: list[list[str]],
    true: torch.Tensor,
    train_sentences: list[list[str]],
    train_labels: list[int],
    judge: Scorers | None,
    features: torch.Tensor | None = None,
    data: SplitData | None = None,
    decoding: Decoding | None = None,
    reranker: Reranker | None = None,
    human: bool = True,
    use_java: bool = True,
    counterfactual: bool = True,
    lookup: bool = True,
    human_cache: str | Path | None = None,
    log: Callable[[str], None] = print,
) -> tuple[Evaluation, dict[str, list[str]]]:
    """The evaluation of explanation ``records`` (one per item: ``label``, ``explanation``)
    of items with ``references`` and true classes ``true``: what :func:`evaluate` and
    :func:`~interpnet.workflows.evaluate.evaluate_run` both compute. ``judge``: the judges
    (None: no judged metrics), ``features``: the items' backbone features for self-retrieval;
    with ``data`` and ``decoding`` (the explanations were decoded here), the counterfactual
    move rate. Returns the evaluation and the sentences scored by side."""
    start = time.time()
    hyps = [r["explanation"] for r in records]
    predicted = torch.tensor([int(r["label"]) for r in records])
    out: dict[str, Any] = {}
    single = score_explanations(
        out,
        hyps,
        references,
        predicted,
        true,
        train_sentences,
        train_labels,
        judge,
        features,
        human,
        use_java,
        lookup,
        human_cache,
        log,
    )
    if counterfactual and judge is not None and data is not None and decoding is not None:
        out["explanations"]["counterfactual"] = counterfactual_scores(
            model, data, decoding, reranker, judge, hyps
        )
    out = finite(out)
    evaluation = Evaluation(
        variant=model.conditioning.name,
        images=len(records),
        accuracy=float((predicted == true).float().mean()),
        decoding=decoding.to_dict() if decoding is not None else None,
        tokenizer=out["tokenizer"],
        explanations=out["explanations"],
        lookup=out.get("lookup"),
        human=out.get("human", {}),
        judges=out.get("judges"),
        seconds=round(time.time() - start, 1),
        records=records,
    )
    return evaluation, single


def evaluate(
    model: InterpNet,
    data: Sequence | SplitData,
    val: Sequence | SplitData | None = None,
    train: Sequence | SplitData | None = None,
    decoding: Decoding | None = None,
    reranker: Reranker | None = None,
    human: bool = True,
    use_java: bool = True,
    counterfactual: bool = True,
    lookup: bool = True,
    judge_dir: str | Path | None = None,
    human_cache: str | Path | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
    **options: Any,
) -> Evaluation:
    """Explain ``data`` (a sequence of ``(input, label, sentences)`` items, or a
    :class:`~interpnet.data.splits.SplitData`) with ``model`` and score the explanations with
    the metrics of ``interpnet evaluate``.

    ``decoding`` (or its fields as keyword arguments) says how to decode (a reranking one
    needs ``reranker``, e.g. :meth:`interpnet.Reranker.from_run`). ``val``: the items whose
    references train the judges (class relevance, fidelity, the counterfactual move rate;
    without it, none of these); they are cached in ``judge_dir`` when given. ``train``: the
    training items, for the lookup table and specificity (copies of training references) and
    the judges' held-out accuracy. Self-retrieval and attribute agreement need image files
    (:func:`~interpnet.workflows.evaluate.evaluate_run`). Metrics left undefined are None.
    """
    start = time.time()
    data = as_split_data(data, "data", progress)
    if len(data) == 0:
        raise ConfigError("no items to evaluate")
    decoding = resolve_decoding(decoding, options)
    if decoding.lacks_banks:
        raise ConfigError(
            "this decoding reads a bank of the training data; give it one (Decoding(bank=..., "
            "references=...): InterpNet.distractor_bank / reference_bank of the training items)"
        )
    model.eval()
    records = explain_split(model, data, progress=progress, decoding=decoding, reranker=reranker)
    train_data = as_split_data(train, "train") if train is not None else None
    train_sentences = train_data.sentences if train_data is not None else []
    train_labels = train_data.labels.tolist() if train_data is not None else []
    true = data.labels.cpu()
    judge = None
    if val is not None:
        val = as_split_data(val, "val")
        num_classes = model.num_classes or int(max(val.labels.max(), true.max())) + 1
        refs = ScorerData("val references", val.sentences, val.labels.tolist())
        heldout = None
        if train_data is not None:
            heldout = ScorerData("train references", train_sentences, train_labels)
        with tempfile.TemporaryDirectory() as tmp:
            judge = train_judges(judge_dir or tmp, refs, heldout, num_classes, log)
    evaluation, _ = score_records(
        model,
        records,
        data.sentences,
        true,
        train_sentences,
        train_labels,
        judge,
        data=data,
        decoding=decoding,
        reranker=reranker,
        human=human,
        use_java=use_java,
        counterfactual=counterfactual,
        lookup=lookup and train_data is not None,
        human_cache=human_cache,
        log=log,
    )
    evaluation.seconds = round(time.time() - start, 1)
    return evaluation
