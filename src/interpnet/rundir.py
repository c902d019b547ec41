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

import json
from pathlib import Path
from typing import Any

from interpnet.errors import CheckpointError
from interpnet.storage import atomic_write_bytes, read_json, write_json

MODEL_CONFIG = "interpnet.json"
VOCAB = "vocab.json"
WEIGHTS = "model.safetensors"
TRAIN_CONFIG = "train_config.json"
TRAINING_ARGS = "training_args.json"
LOG = "train_log.jsonl"
STATE = "state"
EXPLANATIONS = "explanations"
SCORERS = "scorers"


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
        """The trainer's saved state, or None when no epoch has finished yet."""
        if not self.state_file.is_file():
            return None
        return read_json(self.state_file, "trainer state")

    def write_state(self, obj: dict[str, Any]) -> None:
        write_json(self.state_file, obj)

    def append_log(self, record: dict[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.log, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

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
