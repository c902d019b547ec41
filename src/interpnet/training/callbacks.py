"""Trainer callbacks: small objects the epoch loop calls, as a list (``Trainer(...,
callbacks=[...])``); the trainer puts :class:`EpochLog` and :class:`EarlyStopping` first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from interpnet.training.state import TrainingState


class Callback:
    """What the loop calls: :meth:`on_epoch_end` (on rank 0) with each epoch's log record, and
    :meth:`should_stop` before each epoch. Any object with an ``on_epoch_end`` method will do."""

    def on_epoch_end(self, phase: str, epoch: int, record: dict[str, Any]) -> None:
        """After each epoch (the record as the training log holds it)."""

    def should_stop(self, phase: str, state: TrainingState) -> bool:
        """True ends the phase before its next epoch."""
        return False


class EpochLog(Callback):
    """One line per epoch (:func:`describe`) to ``log``."""

    def __init__(self, log: Callable[[str], None] = print) -> None:
        self.log = log

    def on_epoch_end(self, phase: str, epoch: int, record: dict[str, Any]) -> None:
        self.log(describe(record))


class EarlyStopping(Callback):
    """Ends a phase after ``patience`` epochs in a row without a better validation score."""

    def __init__(self, patience: int) -> None:
        self.patience = patience

    def should_stop(self, phase: str, state: TrainingState) -> bool:
        return state.bad_epochs >= self.patience


def describe(r: dict[str, Any]) -> str:
    """An epoch's log record as one line."""
    parts = [f"{r['phase']} epoch {r['epoch']}", f"train loss {r['train_loss']:.3f}"]
    if "val_acc" in r:
        parts.append(f"val acc {r['val_acc']:.3f}")
    if "val_reward" in r:
        parts.append(f"train reward {r['train_reward']:.3f}")
        parts.append(f"val reward {r['val_reward']:.4f}")
    else:
        parts.append(f"val loss {r['val_loss']:.3f}")
    return " | ".join(parts) + (" (best)" if r["best"] else "") + f" [{r['seconds']}s]"
