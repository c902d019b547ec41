"""Two-phase training (classifier, then explainer) into a resumable run directory."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm import tqdm

from interpnet.data.splits import SplitData
from interpnet.errors import CheckpointError, InterpnetError
from interpnet.model import Conditioning, InterpNet
from interpnet.storage import load_tensors, read_json, save_tensors, write_json
from interpnet.text import Vocabulary
from interpnet.training.config import TrainConfig
from interpnet.training.data import (
    TRAIN_CONFIG,
    build_run_classifier,
    example_batch,
    load_run_data,
    run_config,
)
from interpnet.training.optim_state import flatten_optimizer, unflatten_optimizer

STATE_DIR, LOG_FILE = "state", "train_log.jsonl"
EpochCallback = Callable[[str, int, dict[str, Any]], None]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InterpnetError(
            f"device {name!r} requested but CUDA is not available; use --device cpu"
        )
    return torch.device(name)


def _generator(seed: int, phase: str, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch * 2 + (phase == "explainer"))


class Trainer:
    """Trains an InterpNet with the paper's recipe and writes a run directory:

    ``train_config.json``, ``interpnet.json`` + ``vocab.json`` + ``model.safetensors`` (the best
    weights), ``train_log.jsonl`` (one line per epoch) and ``state/`` (the last epoch's weights,
    optimizer and RNG, for :meth:`fit` with ``resume=True``).
    """

    def __init__(
        self,
        config: TrainConfig,
        run_dir: str | Path,
        progress: bool = True,
        log: Callable[[str], None] = print,
        on_epoch_end: EpochCallback | None = None,
    ):
        self.config = config
        self.run_dir = Path(run_dir)
        self.progress = progress
        self.log = log
        self.on_epoch_end = on_epoch_end
        self.device = resolve_device(config.device)

    @classmethod
    def from_run_dir(cls, run_dir: str | Path, **kwargs: Any) -> Trainer:
        """A trainer that continues the run saved in ``run_dir``."""
        if not (Path(run_dir) / TRAIN_CONFIG).is_file():
            raise CheckpointError(
                f"{run_dir}: no {TRAIN_CONFIG} here, so nothing to resume; "
                "check the path or start a new run"
            )
        return cls(run_config(run_dir), run_dir, **kwargs)

    # ---- set-up ---------------------------------------------------------------------------
    def _prepare(self, resume: bool) -> dict[str, Any]:
        cfg = self.config
        if not resume and (self.run_dir / TRAIN_CONFIG).exists():
            raise InterpnetError(
                f"{self.run_dir}: already holds a run; resume it with "
                f"`interpnet train --resume {self.run_dir}` or choose a new --out"
            )
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if not resume:
            write_json(self.run_dir / TRAIN_CONFIG, cfg.to_dict())
        torch.manual_seed(cfg.seed)
        self.data, class_names, input_spec = load_run_data(cfg, ("train", "val"), self.progress)
        train = self.data["train"]
        if len(train) == 0 or len(self.data["val"]) == 0:
            raise InterpnetError(f"{cfg.data_root}: the train and val splits must not be empty")
        self.train_tokens = train.tokens()
        if resume:
            vocab = Vocabulary.load(self.run_dir / "vocab.json")
        else:
            vocab = Vocabulary.build((t for ts in self.train_tokens for t in ts), cfg.min_count)
        classifier = build_run_classifier(cfg, input_spec, len(class_names))
        conditioning = Conditioning(
            cfg.variant, cfg.num_hidden, cfg.layers, cfg.include_input, cfg.include_softmax
        )
        self.model = InterpNet.build(
            classifier,
            vocab,
            conditioning,
            example_batch(train),
            class_names,
            input_spec,
            embed_dim=cfg.embed_dim,
            hidden_dim=cfg.hidden_dim,
            fusion_dim=cfg.fusion_dim,
            dropout=cfg.dropout,
            label_embed_dim=cfg.label_embed_dim,
        ).to(self.device)
        if resume and (self.run_dir / STATE_DIR / "trainer.json").is_file():
            return read_json(self.run_dir / STATE_DIR / "trainer.json", "trainer state")
        return {
            "phase": "classifier",
            "epoch": 0,
            "best": None,
            "bad_epochs": 0,
            "lr": cfg.lr_classifier,
        }

    # ---- checkpoints ----------------------------------------------------------------------
    def _save_state(self, state: dict[str, Any], optimizer: torch.optim.Optimizer | None) -> None:
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        tensors["rng"] = torch.get_rng_state()
        groups: list[dict] = []
        if optimizer is not None:
            opt_tensors, groups = flatten_optimizer(optimizer.state_dict())
            tensors.update(opt_tensors)
        save_tensors(self.run_dir / STATE_DIR / "last.safetensors", tensors)
        write_json(self.run_dir / STATE_DIR / "trainer.json", {**state, "param_groups": groups})

    def _restore_state(self, state: dict[str, Any], optimizer: torch.optim.Optimizer) -> None:
        tensors = load_tensors(self.run_dir / STATE_DIR / "last.safetensors", "training state")
        model_state = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
        try:
            self.model.load_state_dict(model_state)
            if state.get("param_groups"):
                optimizer.load_state_dict(unflatten_optimizer(tensors, state["param_groups"]))
        except (RuntimeError, ValueError, KeyError) as err:
            raise CheckpointError(
                f"{self.run_dir / STATE_DIR}: training state does not match "
                f"this run ({str(err).splitlines()[0]})"
            ) from None
        torch.set_rng_state(tensors["rng"])

    def _load_best(self) -> None:
        best = load_tensors(self.run_dir / "model.safetensors", "best weights")
        self.model.load_state_dict(best)

    def _log_epoch(self, record: dict[str, Any]) -> None:
        with open(self.run_dir / LOG_FILE, "a") as f:
            f.write(json.dumps(record) + "\n")

    # ---- the two phases -------------------------------------------------------------------
    def fit(self, resume: bool = False) -> InterpNet:
        """Run (or continue) both phases; returns the model with the best weights loaded."""
        state = self._prepare(resume)
        if state["phase"] == "classifier":
            self._run_phase(state, "classifier")
            state = {
                "phase": "explainer",
                "epoch": 0,
                "best": None,
                "bad_epochs": 0,
                "lr": self.config.lr_explainer,
            }
            self._save_state(state, None)
        if state["phase"] == "explainer":
            self._run_phase(state, "explainer")
            state = {**state, "phase": "done"}
            self._save_state(state, None)
        self._load_best()
        self.model.eval()
        return self.model

    def _run_phase(self, state: dict[str, Any], phase: str) -> None:
        cfg = self.config
        if phase == "classifier":
            params, max_epochs = self.model.classifier.parameters(), cfg.classifier_epochs
        else:
            self._load_best()  # the explainer reads the best classifier
            params, max_epochs = self.model.explainer.parameters(), cfg.explainer_epochs
            self._cache_r()
        optimizer = torch.optim.Adam(params, lr=state["lr"], weight_decay=cfg.weight_decay)
        if state["epoch"] > 0:
            self._restore_state(state, optimizer)
        else:
            # Each phase starts from its own seed, so the classifier phase does not depend on
            # the explainer's variant or size: runs of different variants share one classifier.
            torch.manual_seed(cfg.seed * 2 + (phase == "explainer"))
        while state["epoch"] < max_epochs and state["bad_epochs"] < cfg.patience:
            start = time.time()
            epoch = state["epoch"] + 1
            if phase == "classifier":
                record = self._classifier_epoch(optimizer, epoch)
                score = [record["val_acc"], -record["val_loss"]]
            else:
                record = self._explainer_epoch(optimizer, epoch)
                score = [-record["val_loss"]]
            improved = state["best"] is None or score > state["best"]
            if improved:
                state["best"], state["bad_epochs"] = score, 0
                self.model.save_pretrained(self.run_dir)
            else:
                state["bad_epochs"] += 1
                for group in optimizer.param_groups:
                    group["lr"] *= 0.5
            state["lr"], state["epoch"] = optimizer.param_groups[0]["lr"], epoch
            record.update(
                phase=phase,
                epoch=epoch,
                best=improved,
                lr=record["lr"],
                seconds=round(time.time() - start, 2),
            )
            self._log_epoch(record)
            self._save_state(state, optimizer)
            self.log(self._describe(record))
            if self.on_epoch_end is not None:
                self.on_epoch_end(phase, epoch, record)

    @staticmethod
    def _describe(r: dict[str, Any]) -> str:
        parts = [f"{r['phase']} epoch {r['epoch']}", f"train loss {r['train_loss']:.3f}"]
        if "val_acc" in r:
            parts.append(f"val acc {r['val_acc']:.3f}")
        parts.append(f"val loss {r['val_loss']:.3f}")
        return " | ".join(parts) + (" (best)" if r["best"] else "") + f" [{r['seconds']}s]"

    def _batches(self, n: int, batch_size: int, phase: str, epoch: int, desc: str):
        order = torch.randperm(n, generator=_generator(self.config.seed, phase, epoch))
        chunks = order.split(batch_size)
        return tqdm(chunks, desc=desc, unit="batch", leave=False, disable=not self.progress)

    def _classifier_epoch(self, optimizer: torch.optim.Optimizer, epoch: int) -> dict[str, Any]:
        train, clf = self.data["train"], self.model.classifier
        clf.train()
        total, correct, seen = 0.0, 0, 0
        bar = self._batches(
            len(train), self.config.batch_size, "classifier", epoch, f"classifier epoch {epoch}"
        )
        for idx in bar:
            x, y = train.batch(idx, self.device), train.labels[idx].to(self.device)
            if self.config.augment and x.dim() == 4:
                flip = (torch.rand(len(idx)) < 0.5).to(self.device)
                x = torch.where(flip[:, None, None, None], x.flip(-1), x)
            logits = clf(x)
            loss = F.cross_entropy(logits, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
            correct += int((logits.argmax(1) == y).sum())
            seen += len(idx)
            bar.set_postfix(loss=f"{total / seen:.3f}", acc=f"{correct / seen:.3f}")
        val_loss, val_acc = self._classifier_eval(self.data["val"])
        return {
            "train_loss": total / seen,
            "train_acc": correct / seen,
            "val_loss": val_loss,
            "val_acc": val_acc,
            "lr": optimizer.param_groups[0]["lr"],
        }

    @torch.no_grad()
    def _classifier_eval(self, split: SplitData) -> tuple[float, float]:
        clf = self.model.classifier
        clf.eval()
        loss, correct = 0.0, 0
        for idx in torch.arange(len(split)).split(256):
            logits = clf(split.batch(idx, self.device))
            y = split.labels[idx].to(self.device)
            loss += F.cross_entropy(logits, y, reduction="sum").item()
            correct += int((logits.argmax(1) == y).sum())
        return loss / len(split), correct / len(split)

    # ---- explainer ------------------------------------------------------------------------
    @torch.no_grad()
    def _cache_r(self) -> None:
        """r(x) for train and val, computed once: the classifier is frozen in this phase."""
        self.model.classifier.eval()
        self.pairs = {}
        for name, split in self.data.items():
            r = torch.cat(
                [
                    self.model.introspect(split.batch(idx, self.device))[1]
                    for idx in torch.arange(len(split)).split(256)
                ]
            )
            tokens = self.train_tokens if name == "train" else split.tokens()
            rows, encoded = [], []
            for i, sents in enumerate(tokens):
                for sent in sents:
                    rows.append(i)
                    encoded.append(self.model.vocab.encode(sent, self.config.max_length))
            self.pairs[name] = (
                r,
                split.labels.to(self.device),
                torch.tensor(rows),
                self.model.vocab.pad_batch(encoded),
            )

    def _pair_batch(self, name: str, idx: torch.Tensor):
        r, labels, rows, tokens = self.pairs[name]
        ex = rows[idx].to(self.device)
        tok = tokens[idx]
        tok = tok[:, : int((tok != 0).sum(1).max())].to(self.device)
        label = labels[ex] if self.model.explainer.uses_label else None
        return tok, r[ex], label

    def _explainer_epoch(self, optimizer: torch.optim.Optimizer, epoch: int) -> dict[str, Any]:
        self.model.explainer.train()
        n = len(self.pairs["train"][2])
        total, seen = 0.0, 0
        bar = self._batches(
            n, self.config.explainer_batch_size, "explainer", epoch, f"explainer epoch {epoch}"
        )
        for idx in bar:
            loss = self.model.explainer_loss(*self._pair_batch("train", idx))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
            seen += len(idx)
            bar.set_postfix(loss=f"{total / seen:.3f}")
        return {
            "train_loss": total / seen,
            "val_loss": self._explainer_eval(),
            "lr": optimizer.param_groups[0]["lr"],
        }

    @torch.no_grad()
    def _explainer_eval(self) -> float:
        self.model.explainer.eval()
        n = len(self.pairs["val"][2])
        total = 0.0
        for idx in torch.arange(n).split(512):
            total += self.model.explainer_loss(*self._pair_batch("val", idx)).item() * len(idx)
        return total / n
