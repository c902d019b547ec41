"""The run directory: one object owns its file names, creation, reading and resuming.

```
RUN_DIR/
  train_config.json    how the CLI built the run (data, classifier, options): re-run or resume
  training_args.json   the optimisation options the Trainer used
  interpnet.json       model config: classifier (and how to rebuild it), conditioning, explainer
  vocab.json           the vocabulary
  model.safetensors    best weights (classifier.* and explainer.*)
  train_log.jsonl      one line per epoch
  state/               last epoch's weights, optimizer and RNG state (for resuming)
  explanations/        <split>.jsonl
  metrics.json         written by evaluate (metrics-<split>.json for other splits)
  scorers/judge/       the judges evaluate trains on the validation references (cached)
  scorers/reward/      the reward models of training and reranking (training references)
  scorers/features/    backbone features of the data's images for the judges (cached)
```
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from interpnet.errors import CheckpointError
from interpnet.storage import (
    atomic_write_bytes,
    read_json,
    save_tensors,
    tensor_metadata,
    write_json,
)

MODEL_CONFIG = "interpnet.json"
VOCAB = "vocab.json"
WEIGHTS = "model.safetensors"
TRAIN_CONFIG = "train_config.json"
TRAINING_ARGS = "training_args.json"
LOG = "train_log.jsonl"
STATE = "state"
EXPLANATIONS = "explanations"
SCORERS = "scorers"
STATE_KEY = "trainer_state"  # the trainer state's copy in the metadata of its tensors file
TOKEN = "state_token"  # in trainer.json: the digest of that copy, naming the tensors it goes with


class RunDirectory:
    """A run directory on disk (it need not exist yet)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDirectory({str(self.path)!r})"

    def __fspath__(self) -> str:
        return str(self.path)

    # ---- file names -----------------------------------------------------------------------
    @property
    def model_config(self) -> Path:
        return self.path / MODEL_CONFIG

    @property
    def vocab(self) -> Path:
        return self.path / VOCAB

    @property
    def weights(self) -> Path:
        return self.path / WEIGHTS

    @property
    def train_config(self) -> Path:
        return self.path / TRAIN_CONFIG

    @property
    def training_args(self) -> Path:
        return self.path / TRAINING_ARGS

    @property
    def log(self) -> Path:
        return self.path / LOG

    @property
    def state_dir(self) -> Path:
        return self.path / STATE

    @property
    def state_weights(self) -> Path:
        return self.path / STATE / "last.safetensors"

    @property
    def state_file(self) -> Path:
        return self.path / STATE / "trainer.json"

    def scorers(self, role: str) -> Path:
        """Folder of the cached scorers of a role (``judge`` or ``reward``)."""
        return self.path / SCORERS / role

    @property
    def scorer_features(self) -> Path:
        return self.path / SCORERS / "features"

    def explanations(self, split: str) -> Path:
        return self.path / EXPLANATIONS / f"{split}.jsonl"

    def metrics(self, split: str = "test") -> Path:
        return self.path / ("metrics.json" if split == "test" else f"metrics-{split}.json")

    # ---- what is there --------------------------------------------------------------------
    def holds_run(self) -> bool:
        """True once a Trainer created a run here (it writes its arguments first)."""
        return self.training_args.is_file()

    def has_model(self) -> bool:
        return self.model_config.is_file() and self.weights.is_file()

    def contents(self) -> list[str]:
        """The files present, relative to the directory, sorted."""
        if not self.path.is_dir():
            return []
        return sorted(str(p.relative_to(self.path)) for p in self.path.rglob("*") if p.is_file())

    def require_model(self) -> None:
        if not self.path.is_dir():
            raise CheckpointError(f"{self.path}: run directory not found; check the path")
        if not self.model_config.is_file():
            raise CheckpointError(
                f"{self.path}: no {MODEL_CONFIG}; is this a run directory, and did its "
                "training get past set-up?"
            )

    # ---- reading and writing --------------------------------------------------------------
    def read(self, name: str, what: str) -> Any:
        return read_json(self.path / name, what)

    def write(self, name: str, obj: Any) -> None:
        write_json(self.path / name, obj)

    def read_metrics(self, split: str = "test") -> dict[str, Any] | None:
        """The metrics of this run's evaluation on ``split``, or None when it has none."""
        path = self.metrics(split)
        if not path.is_file():
            return None
        m = read_json(path, "metrics file")
        ok = isinstance(m, dict) and {"run", "variant", "accuracy"} <= set(m)
        if not ok or not isinstance(m["accuracy"], int | float) or isinstance(m["accuracy"], bool):
            raise CheckpointError(
                f"{path}: not a metrics file of interpnet evaluate; evaluate the run again"
            )
        return m

    def read_state(self) -> dict[str, Any] | None:
        """The trainer's saved state, or None when no epoch has finished yet. Written last,
        ``trainer.json`` holds it unless a failed write or an interruption left it behind the
        tensors file: then the copy in that file's metadata is the state."""
        state = read_json(self.state_file, "trainer state") if self.state_file.is_file() else None
        if state is not None and not isinstance(state, dict):
            raise CheckpointError(f"{self.state_file}: corrupt trainer state (not an object)")
        copy = (tensor_metadata(self.state_weights) or {}).get(STATE_KEY)
        if copy is not None and (state is None or state.get(TOKEN) != _digest(copy)):
            try:
                state = json.loads(copy)
            except ValueError:
                state = None
            if not isinstance(state, dict):
                raise CheckpointError(f"{self.state_weights}: corrupt training state")
        return None if state is None else {k: v for k, v in state.items() if k != TOKEN}

    def write_state(self, obj: dict[str, Any]) -> None:
        write_json(self.state_file, obj)

    def save_state(self, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
        """Save the trainer's tensors (weights, optimizer, RNG) with a copy of its ``state``,
        in one atomic file, then ``state`` in ``trainer.json``: a write that fails in between
        never pairs tensors with another epoch's state."""
        copy = json.dumps(state)
        save_tensors(self.state_weights, tensors, {STATE_KEY: copy})
        write_json(self.state_file, {**state, TOKEN: _digest(copy)})

    def append_log(self, record: dict[str, Any]) -> None:
        """Add a line to the training log. The whole log is rewritten atomically (it holds a
        line per epoch, so this is cheap) rather than appended to: an append cut short by a
        full disk would leave a torn last line, and :meth:`read_log` stays strict so that a
        damaged log is reported, not silently shortened."""
        old = self.log.read_bytes() if self.log.is_file() else b""
        atomic_write_bytes(self.log, old + (json.dumps(record) + "\n").encode("utf-8"))

    def read_log(self) -> list[dict[str, Any]]:
        if not self.log.is_file():
            return []
        try:
            lines = self.log.read_text(encoding="utf-8").splitlines()
            records = [json.loads(line) for line in lines if line.strip()]
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise CheckpointError(f"{self.log}: corrupt training log ({err})") from None
        if not all(isinstance(r, dict) for r in records):
            raise CheckpointError(f"{self.log}: corrupt training log (a line is not an object)")
        return records

    def truncate_log(self, epochs: dict[str, int]) -> None:
        """Drop log lines of epochs after the saved state (``{phase: last kept epoch}``), so an
        epoch interrupted after its log line but before its state is not logged twice."""
        kept = [r for r in self.read_log() if r.get("epoch", 0) <= epochs.get(r.get("phase"), 0)]
        text = "".join(json.dumps(r) + "\n" for r in kept)
        atomic_write_bytes(self.log, text.encode("utf-8"))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
