"""``interpnet.Reranker.from_run``: the reranker a decoding's ``rerank`` names, from a run's
reward models."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from interpnet.data.splits import SplitData
from interpnet.errors import ConfigError
from interpnet.model import InterpNet
from interpnet.scorers.rewards import WeightedReward
from interpnet.training.rewards import run_reranker
from interpnet.workflows.run import Run


class Reranker:
    """Rerankers: any callable ``(sentences, RewardContext) -> one score per sentence`` reranks
    candidates (``Decoding(rerank=...)``); :meth:`from_run` builds the one a ``rerank`` score
    names from a run's reward models."""

    @staticmethod
    def from_run(
        run_dir: str | Path,
        rerank: str = "class",
        model: InterpNet | None = None,
        train: Sequence | SplitData | None = None,
        data_root: str | None = None,
        trust_code: bool = False,
        progress: bool = True,
        log: Callable[[str], None] = print,
    ) -> WeightedReward:
        """The reranker of score ``rerank`` (``class``, ``retrieval``, ``neighbours`` or a sum
        such as ``class+neighbours``) from the reward models of ``run_dir`` (trained on the
        training references on first use, then cached in the run). ``model``: the run's model,
        when loaded; ``train``: its training items (``(input, label, sentences)``), needed for
        a run made with the Python API, read from the run's data otherwise (``data_root``
        overrides where that is)."""
        run = Run(run_dir, data_root, model, trust_code=trust_code, progress=progress, log=log)
        if train is not None:
            return run_reranker(run.model, train, run.directory, rerank, log)
        if not run.directory.train_config.is_file() and data_root is None:
            raise ConfigError(
                f"{run.path}: no record of its training data (a run made with the Python "
                "API); give its training items as train="
            )
        return run.reranker(rerank)
