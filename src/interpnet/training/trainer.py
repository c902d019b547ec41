"""The :class:`Trainer`: the phases (classifier, explainer, discriminative) of any classifier,
trained into a resumable run directory by one epoch loop."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import torch

from interpnet import distributed
from interpnet.data.splits import SplitData, as_split_data
from interpnet.devices import resolve_device
from interpnet.errors import CheckpointError, InterpnetError
from interpnet.model import InterpNet
from interpnet.rundir import TRAINING_ARGS, RunDirectory
from interpnet.text import Vocabulary
from interpnet.training.args import TrainingArgs
from interpnet.training.callbacks import Callback, EarlyStopping, EpochLog
from interpnet.training.checkpoint import Checkpointer
from interpnet.training.phases import (
    ClassifierPhase,
    ExplainerPhase,
    Phase,
    PolicyGradientPhase,
    TrainingContext,
)
from interpnet.training.state import TrainingState


def _quiet(_: str) -> None:
    pass


class Trainer:
    """Trains ``model`` (an :class:`InterpNet`: build one from a classifier with
    :func:`~interpnet.training.build_model`) into a resumable run directory: its classifier
    first when ``args.train_classifier``, then its explainer, then, with
    ``args.discriminative_epochs``, the explainer for its rewards.

    ``train_data`` / ``val_data``: any sequence of ``(input, label, sentences)`` items (a list,
    a ``torch.utils.data.Dataset``, or a :class:`~interpnet.data.splits.SplitData`), where
    ``input`` is what the classifier takes for one item. ``callbacks`` get every epoch's log
    record (after :class:`EpochLog`, which writes it to ``log``); ``progress`` shows progress
    bars.

    The run directory is created with the options, vocabulary and initial model before the
    first epoch, so an interruption at any point can be resumed with ``fit(resume=True)``
    (given a model built the same way, and the same data).

    Under ``torchrun`` (or in a process group the caller initialised) every phase trains with
    ``DistributedDataParallel``: each rank takes its share of every global batch (the batch
    sizes are global), validation is summed over the ranks, and rank 0 alone writes the run
    directory, logs, shows progress and calls the callbacks; the run directory must be on a
    file system every rank reads. Without dropout (and BatchNorm, whose statistics each rank
    takes on its own share on the CPU) N processes train the model one process trains, up to
    float rounding; with dropout each rank draws its own masks.
    """

    def __init__(
        self,
        model: InterpNet,
        args: TrainingArgs | None,
        train_data: Sequence | SplitData,
        val_data: Sequence | SplitData,
        run_dir: str | Path | RunDirectory,
        callbacks: Sequence[Callback] = (),
        progress: bool = True,
        log: Callable[[str], None] = print,
    ):
        if not isinstance(model, InterpNet):
            raise TypeError(
                f"Trainer trains an InterpNet, got {type(model).__name__}; build one from a "
                "classifier with interpnet.training.build_model(classifier, train_data, args)"
            )
        self.model = model
        self.train_data, self.val_data = train_data, val_data
        self.run = run_dir if isinstance(run_dir, RunDirectory) else RunDirectory(run_dir)
        self.args = args or TrainingArgs()
        device = resolve_device(self.args.device)
        self.dist = distributed.join(device)
        self.device = self.dist.local_device(device)
        self.progress = progress and self.dist.is_main
        self.log = log if self.dist.is_main else _quiet
        self.callbacks = list(callbacks)
        self.checkpointer = Checkpointer(self.run, self.dist)

    @property
    def run_dir(self) -> Path:
        return self.run.path

    # ---- set-up ---------------------------------------------------------------------------
    @property
    def data(self) -> dict[str, SplitData]:
        """The training and validation data, once :meth:`fit` has started."""
        return self.ctx.data

    def _prepare(self, resume: bool) -> TrainingState:
        run = self.run
        if resume:
            if not run.holds_run():
                raise CheckpointError(
                    f"{run.path}: no run here, so nothing to resume; check the path or start "
                    "a new run"
                )
            if run.training_args.is_file():
                self.args = TrainingArgs.from_dict(
                    run.read(TRAINING_ARGS, "training args"), str(run.training_args)
                )
            if run.vocab.is_file() and Vocabulary.load(run.vocab).itos != self.model.vocab.itos:
                raise CheckpointError(
                    f"{run.vocab}: the run's vocabulary differs from the model's; resume with "
                    "a model built as the run's was (same data and min_count)"
                )
        elif run.holds_run():
            raise InterpnetError(
                f"{run.path}: already holds a run; resume it, or choose a new run directory"
            )
        args = self.args
        self.model.conditioning.check_phase3(args.discriminative_epochs, args.rewards)
        data = {
            "train": as_split_data(self.train_data, "train", self.progress),
            "val": as_split_data(self.val_data, "val", self.progress),
        }
        self.model.to(self.device)
        self._check_labels(data)
        self.ctx = TrainingContext(
            self.model, data, args, self.dist, self.device, run,
            self.checkpointer, self.progress, self.log,
        )  # fmt: skip
        classifier = ClassifierPhase(self.ctx)
        self.phases = [
            classifier,
            ExplainerPhase(self.ctx),
            PolicyGradientPhase(self.ctx, classifier),
        ]
        state = self.checkpointer.read() if resume else None
        self.dist.barrier()  # every rank has read the run as it was before rank 0 writes
        if self.dist.is_main and (not resume or not run.has_model()):
            run.write(TRAINING_ARGS, args.to_dict())
            self.model.save_pretrained(run.path)  # config, vocabulary, initial weights
        if state is None:
            first = next(p for p in self.phases if p.enabled())
            state = TrainingState.fresh(first.name, first.initial_lr())
        if resume and self.dist.is_main:  # a fresh run has no log yet
            run.truncate_log(state.logged_epochs())
        self.dist.barrier()
        return state

    def _check_labels(self, data: dict[str, SplitData]) -> None:
        num_classes = self.model.num_classes
        for name, split in data.items():
            labels = split.labels
            if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
                raise InterpnetError(
                    f"{name} data has labels outside 0..{num_classes - 1} (the classifier has "
                    f"{num_classes} outputs); check the labels or the classifier"
                )

    # ---- the phases ----------------------------------------------------------------------
    def phase(self, name: str) -> Phase:
        """The phase object ``name`` (``classifier``, ``explainer``, ``discriminative``), once
        :meth:`fit` has started."""
        return next(p for p in self.phases if p.name == name)

    def fit(self, resume: bool = False) -> InterpNet:
        """Run (or continue) the phases; returns the model with the best weights loaded."""
        state = self._prepare(resume)
        for i, phase in enumerate(self.phases):
            if state.phase != phase.name:
                continue
            self._run_phase(state, phase)
            later = [p for p in self.phases[i + 1 :] if p.enabled()]
            if later:
                state = TrainingState.fresh(later[0].name, later[0].initial_lr())
            else:
                state = replace(state, phase="done")
            self.checkpointer.save(self.model, state, None)
        self.checkpointer.load_best(self.model)
        self.model.eval()
        return self.model

    def _run_phase(self, state: TrainingState, phase: Phase) -> None:
        args, ctx = self.args, self.ctx
        phase.setup(state)
        optimizer = phase.optimizer(state.lr)
        # the module each rank runs: in DistributedDataParallel when there is a process group
        ctx.forward = self.dist.wrap(phase.learner(), self.device)
        if state.epoch > 0:
            self.checkpointer.restore(self.model, optimizer)
        else:
            # Each phase starts from its own seed, so the classifier phase does not depend on
            # the explainer's variant or size: runs of different variants share one classifier.
            torch.manual_seed(args.seed * 2 + (phase.name == "explainer"))
        callbacks = [EpochLog(self.log), EarlyStopping(args.patience), *self.callbacks]
        while state.epoch < phase.max_epochs() and not _stops(callbacks, phase.name, state):
            start = time.time()
            epoch = state.epoch + 1
            record = phase.epoch(optimizer, epoch)
            score = phase.score(record)
            improved = state.best is None or score > state.best
            if improved:
                state.best, state.bad_epochs = score, 0
                self.checkpointer.save_best(self.model)
            else:
                state.bad_epochs += 1
                for group in optimizer.param_groups:
                    group["lr"] *= phase.lr_decay
            state.lr, state.epoch = optimizer.param_groups[0]["lr"], epoch
            record.update(
                phase=phase.name,
                epoch=epoch,
                best=improved,
                lr=record["lr"],
                seconds=round(time.time() - start, 2),
            )
            if self.dist.is_main:
                # the log line first: if the state is not written after it (a full disk, an
                # interruption), resuming drops the line and trains the epoch again
                self.run.append_log(record)
            self.checkpointer.save(self.model, state, optimizer)
            if self.dist.is_main:
                for callback in callbacks:
                    callback.on_epoch_end(phase.name, epoch, record)


def _stops(callbacks: Sequence[Callback], phase: str, state: TrainingState) -> bool:
    """Whether a callback ends the phase before its next epoch (every process agrees: the
    state is the same on every rank)."""
    return any(getattr(c, "should_stop", None) and c.should_stop(phase, state) for c in callbacks)
