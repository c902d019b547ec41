"""Two-phase training (classifier, then explainer) of any classifier into a run directory."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from interpnet import distributed
from interpnet.data.splits import SplitData, as_split_data
from interpnet.decoding import Decoding, sample
from interpnet.decoding.rerank import RewardContext
from interpnet.devices import mixed_precision, resolve_device
from interpnet.errors import CheckpointError, ConfigError, InterpnetError
from interpnet.metrics.faithfulness import choose_donors
from interpnet.model import Conditioning, ExplainerConfig, InterpNet
from interpnet.rundir import TRAINING_ARGS, RunDirectory
from interpnet.scorers.rewards import MODEL_REWARDS
from interpnet.storage import load_tensors
from interpnet.text import Vocabulary, detokenize
from interpnet.training.args import TrainingArgs
from interpnet.training.batching import class_groups, length_buckets
from interpnet.training.crossfit import out_of_fold_softmax
from interpnet.training.losses import policy_gradient_loss
from interpnet.training.optim_state import adam, flatten_optimizer, unflatten_optimizer
from interpnet.training.rewards import build_reward, reward_scorers

EpochCallback = Callable[[str, int, dict[str, Any]], None]
PHASES = ("classifier", "explainer", "discriminative")


def _generator(seed: int, phase: str, epoch: int) -> torch.Generator:
    if phase == "discriminative":
        return torch.Generator().manual_seed(seed * 1_000_003 + 500_000 + epoch)
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch * 2 + (phase == "explainer"))


def _logged_epochs(state: dict[str, Any]) -> dict[str, int]:
    """{phase: last epoch the saved state covers}: all of the phases before the state's, its
    finished epochs, none of the phases after it."""
    order = PHASES.index(state["phase"]) if state["phase"] in PHASES else len(PHASES)
    return {
        phase: 10**9 if i < order else state["epoch"] if i == order else 0
        for i, phase in enumerate(PHASES)
    }


def _quiet(_: str) -> None:
    pass


def _fresh_state(phase: str, lr: float) -> dict[str, Any]:
    return {"phase": phase, "epoch": 0, "best": None, "bad_epochs": 0, "lr": lr}


class Trainer:
    """Trains an explainer for ``classifier`` (and, unless ``args.train_classifier`` is False,
    the classifier first) and writes a resumable run directory.

    ``train_data`` / ``val_data``: any sequence of ``(input, label, sentences)`` items (a list,
    a ``torch.utils.data.Dataset``, or a :class:`~interpnet.data.splits.SplitData`), where
    ``input`` is what the classifier takes for one item. ``conditioning`` names the layers the
    explainer reads (default: InterpNET_2 for interpnet's classifiers; give
    ``Conditioning("custom", layers=[...])`` for your own).

    The run directory is created with the options, vocabulary and initial model before the
    first epoch, so an interruption at any point can be resumed with ``fit(resume=True)``
    (given the same classifier and data).

    Under ``torchrun`` (or in a process group the caller initialised) every phase trains with
    ``DistributedDataParallel``: each rank takes its share of every global batch (the batch
    sizes are global), validation is summed over the ranks, and rank 0 alone writes the run
    directory, logs, shows progress and calls ``on_epoch_end``; the run directory must be on a
    file system every rank reads. Without dropout (and BatchNorm, whose statistics each rank
    takes on its own share on the CPU) N processes train the model one process trains, up to
    float rounding; with dropout each rank draws its own masks.
    """

    def __init__(
        self,
        classifier: nn.Module,
        train_data: Sequence | SplitData,
        val_data: Sequence | SplitData,
        run_dir: str | Path | RunDirectory,
        conditioning: Conditioning | None = None,
        args: TrainingArgs | None = None,
        explainer: ExplainerConfig | None = None,
        class_names: list[str] | None = None,
        input_spec: dict[str, Any] | None = None,
        progress: bool = True,
        log: Callable[[str], None] = print,
        on_epoch_end: EpochCallback | None = None,
    ):
        self.classifier = classifier
        self.train_data, self.val_data = train_data, val_data
        self.run = run_dir if isinstance(run_dir, RunDirectory) else RunDirectory(run_dir)
        self.conditioning = conditioning or Conditioning("interpnet")
        self.args = args or TrainingArgs()
        self.explainer_config = explainer or ExplainerConfig()
        self.class_names = class_names
        self.input_spec = input_spec
        self.on_epoch_end = on_epoch_end
        device = resolve_device(self.args.device)
        self.dist = distributed.join(device)
        self.device = self.dist.local_device(device)
        self.progress = progress and self.dist.is_main
        self.log = log if self.dist.is_main else _quiet

    @property
    def run_dir(self) -> Path:
        return self.run.path

    # ---- set-up ---------------------------------------------------------------------------
    def _prepare(self, resume: bool) -> dict[str, Any]:
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
        elif run.holds_run():
            raise InterpnetError(
                f"{run.path}: already holds a run; resume it, or choose a new run directory"
            )
        args = self.args
        if self.conditioning.variant == "gve" and not (
            args.discriminative_epochs > 0 and "class-true" in args.rewards
        ):
            raise ConfigError(
                "the gve variant is gve-label trained with the true-class reward: set "
                "discriminative_epochs > 0 and rewards={'class-true': 1.0}"
            )
        self.data = {
            "train": as_split_data(self.train_data, "train", self.progress),
            "val": as_split_data(self.val_data, "val", self.progress),
        }
        self.train_tokens = self.data["train"].tokens()
        torch.manual_seed(args.seed)
        if resume and run.vocab.is_file():
            vocab = Vocabulary.load(run.vocab)
        else:
            vocab = Vocabulary.build((t for ts in self.train_tokens for t in ts), args.min_count)
        self.model = InterpNet.build(
            self.classifier,
            vocab,
            self.conditioning,
            self.data["train"].batch(torch.arange(min(2, len(self.data["train"])))),
            self.class_names,
            self.input_spec,
            **self.explainer_config.to_dict(),
        ).to(self.device)
        self._check_labels()
        state = run.read_state() if resume else None
        self.dist.barrier()  # every rank has read the run as it was before rank 0 writes
        if self.dist.is_main and (not resume or not run.has_model()):
            run.write(TRAINING_ARGS, args.to_dict())
            self.model.save_pretrained(run.path)  # config, vocabulary, initial weights
        if state is None:
            first = "classifier" if args.train_classifier else "explainer"
            lr = args.lr_classifier if first == "classifier" else args.lr_explainer
            state = _fresh_state(first, lr)
        if resume and self.dist.is_main:  # a fresh run has no log yet
            run.truncate_log(_logged_epochs(state))
        self.dist.barrier()
        return state

    def _check_labels(self) -> None:
        num_classes = self.model.num_classes
        for name, split in self.data.items():
            labels = split.labels
            if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
                raise InterpnetError(
                    f"{name} data has labels outside 0..{num_classes - 1} (the classifier has "
                    f"{num_classes} outputs); check the labels or the classifier"
                )

    # ---- checkpoints ----------------------------------------------------------------------
    def _save_state(self, state: dict[str, Any], optimizer: torch.optim.Optimizer | None) -> None:
        if not self.dist.is_main:
            return
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        tensors["rng"] = torch.get_rng_state()
        groups: list[dict] = []
        if optimizer is not None:
            opt_tensors, groups = flatten_optimizer(optimizer.state_dict())
            tensors.update(opt_tensors)
        self.run.save_state(tensors, {**state, "param_groups": groups})

    def _restore_state(self, state: dict[str, Any], optimizer: torch.optim.Optimizer) -> None:
        tensors = load_tensors(self.run.state_weights, "training state")
        model_state = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
        try:
            self.model.load_state_dict(model_state)
            if state.get("param_groups"):
                optimizer.load_state_dict(unflatten_optimizer(tensors, state["param_groups"]))
        except (RuntimeError, ValueError, KeyError) as err:
            raise CheckpointError(
                f"{self.run.state_dir}: training state does not match "
                f"this run ({str(err).splitlines()[0]})"
            ) from None
        torch.set_rng_state(tensors["rng"])

    def _load_best(self, prefix: str = "") -> None:
        """Load the best weights (only those whose names start with ``prefix``)."""
        self.dist.barrier()  # rank 0 has written them
        best = load_tensors(self.run.weights, "best weights")
        if prefix:
            best = {k: v for k, v in best.items() if k.startswith(prefix)}
            self.model.load_state_dict(best, strict=False)
        else:
            self.model.load_state_dict(best)

    # ---- the two phases -------------------------------------------------------------------
    def fit(self, resume: bool = False) -> InterpNet:
        """Run (or continue) the phases; returns the model with the best weights loaded."""
        state = self._prepare(resume)
        if state["phase"] == "classifier":
            self._run_phase(state, "classifier")
            state = _fresh_state("explainer", self.args.lr_explainer)
            self._save_state(state, None)
        if state["phase"] == "explainer":
            self._run_phase(state, "explainer")
            if self.args.discriminative_epochs > 0:
                state = _fresh_state("discriminative", self.args.lr_discriminative)
            else:
                state = {**state, "phase": "done"}
            self._save_state(state, None)
        if state["phase"] == "discriminative":
            self._run_phase(state, "discriminative")
            state = {**state, "phase": "done"}
            self._save_state(state, None)
        self._load_best()
        self.model.eval()
        return self.model

    def _optimizer(self, phase: str, lr: float) -> torch.optim.Optimizer:
        if phase in ("explainer", "discriminative"):
            return adam(torch.optim.Adam, self.model.explainer.parameters(), lr=lr)
        return self._classifier_optimizer(self.model.classifier, lr)

    def _classifier_optimizer(self, classifier: nn.Module, lr: float) -> torch.optim.Optimizer:
        opt = torch.optim.AdamW if self.args.optimizer == "adamw" else torch.optim.Adam
        return adam(opt, classifier.parameters(), lr=lr, weight_decay=self.args.weight_decay)

    def _run_phase(self, state: dict[str, Any], phase: str) -> None:
        args = self.args
        if phase == "explainer":
            # The explainer reads the best classifier; its own weights start from their
            # (seeded) initial values, also when a resumed run finds later ones on disk.
            self._load_best(prefix="classifier.")
            self._cache_r()
        if phase == "discriminative":
            self._load_best()  # the explainer phase's best model is the starting point
            self._cache_r()
            if self.args.dropout_decisions and not any(
                isinstance(m, nn.Dropout) and m.p > 0 for m in self.model.classifier.modules()
            ):  # the checks come before the reward scorers and cross-fit copies are trained
                raise ConfigError(
                    "dropout_decisions needs a classifier with dropout (the built-in MLP's "
                    "default recipe has it; the paper's recipe has none)"
                )
            example = self.data["train"].batch(torch.arange(1), self.device)
            self.decision_mask = self.model.decision_mask(example).to(self.device)
            if self.args.swap_fraction > 0 and not self.decision_mask.any():
                raise ConfigError(
                    f"swap_fraction needs decision parts in r(x); {self.conditioning.name} "
                    "reads none (it reads the input only, or a label)"
                )
            self._setup_rewards()
            if self.args.cross_fit_folds:
                self._setup_cross_fit(example)
            if state["best"] is None:
                state["best"] = [self._validation_reward()["val_reward"]]
                self.log(
                    f"discriminative phase: validation reward before it {state['best'][0]:.4f}"
                )
        max_epochs = {
            "classifier": args.classifier_epochs,
            "explainer": args.explainer_epochs,
            "discriminative": args.discriminative_epochs,
        }[phase]
        optimizer = self._optimizer(phase, state["lr"])
        # the module each rank runs: in DistributedDataParallel when there is a process group
        learner = self.model.classifier if phase == "classifier" else self.model.explainer
        self.forward = self.dist.wrap(learner, self.device)
        if state["epoch"] > 0:
            self._restore_state(state, optimizer)
        else:
            # Each phase starts from its own seed, so the classifier phase does not depend on
            # the explainer's variant or size: runs of different variants share one classifier.
            torch.manual_seed(args.seed * 2 + (phase == "explainer"))
        while state["epoch"] < max_epochs and state["bad_epochs"] < args.patience:
            start = time.time()
            epoch = state["epoch"] + 1
            if phase == "classifier":
                record = self._classifier_epoch(optimizer, epoch)
                score = [record["val_acc"], -record["val_loss"]]
            elif phase == "explainer":
                record = self._explainer_epoch(optimizer, epoch)
                score = [-record["val_loss"]]
            else:
                record = self._discriminative_epoch(optimizer, epoch)
                score = [record["val_reward"]]
            improved = state["best"] is None or score > state["best"]
            if improved:
                state["best"], state["bad_epochs"] = score, 0
                if self.dist.is_main:
                    self.model.save_pretrained(self.run.path)
            else:
                state["bad_epochs"] += 1
                decay = args.lr_decay if phase == "classifier" else 0.5
                for group in optimizer.param_groups:
                    group["lr"] *= decay
            state["lr"], state["epoch"] = optimizer.param_groups[0]["lr"], epoch
            record.update(
                phase=phase,
                epoch=epoch,
                best=improved,
                lr=record["lr"],
                seconds=round(time.time() - start, 2),
            )
            if self.dist.is_main:
                # the log line first: if the state is not written after it (a full disk, an
                # interruption), resuming drops the line and trains the epoch again
                self.run.append_log(record)
            self._save_state(state, optimizer)
            if self.dist.is_main:
                self.log(self._describe(record))
                if self.on_epoch_end is not None:
                    self.on_epoch_end(phase, epoch, record)

    @staticmethod
    def _describe(r: dict[str, Any]) -> str:
        parts = [f"{r['phase']} epoch {r['epoch']}", f"train loss {r['train_loss']:.3f}"]
        if "val_acc" in r:
            parts.append(f"val acc {r['val_acc']:.3f}")
        if "val_reward" in r:
            parts.append(f"train reward {r['train_reward']:.3f}")
            parts.append(f"val reward {r['val_reward']:.4f}")
        else:
            parts.append(f"val loss {r['val_loss']:.3f}")
        return " | ".join(parts) + (" (best)" if r["best"] else "") + f" [{r['seconds']}s]"

    def _batches(
        self,
        n: int,
        batch_size: int,
        phase: str,
        epoch: int,
        desc: str,
        lengths: torch.Tensor | None = None,
        classes: torch.Tensor | None = None,
    ):
        """Shuffled batches of ``n`` items; of similar ``lengths``, or in groups of
        ``args.class_groups`` items of one of ``classes``, when given."""
        gen = _generator(self.args.seed, phase, epoch)
        order = torch.randperm(n, generator=gen)
        if lengths is not None:
            chunks = length_buckets(order, lengths, batch_size, gen)
        elif classes is not None:
            chunks = class_groups(order, classes, self.args.class_groups, batch_size)
        else:
            chunks = order.split(batch_size)
        return tqdm(chunks, desc=desc, unit="batch", leave=False, disable=not self.progress)

    def _classifier_epoch(self, optimizer: torch.optim.Optimizer, epoch: int) -> dict[str, Any]:
        loss, acc = self._classifier_train_epoch(
            self.model.classifier, self.data["train"], optimizer, epoch, self.forward
        )
        val_loss, val_acc = self._classifier_eval(self.data["val"])
        return {
            "train_loss": loss,
            "train_acc": acc,
            "val_loss": val_loss,
            "val_acc": val_acc,
            "lr": optimizer.param_groups[0]["lr"],
        }

    def _classifier_train_epoch(
        self,
        clf: nn.Module,
        train: SplitData,
        optimizer: torch.optim.Optimizer,
        epoch: int,
        forward: nn.Module | None = None,
    ) -> tuple[float, float]:
        """One epoch of the classifier recipe on ``train``: mean loss and accuracy. With
        ``forward`` (``clf`` in DDP, or ``clf`` alone in one process) each rank of the
        process group takes its share of every batch; without it ``clf`` learns from all."""
        group = self.dist if forward is not None else distributed.Distributed()
        forward = clf if forward is None else forward
        clf.train()
        total, correct, seen = 0.0, 0, 0
        bar = self._batches(
            len(train), self.args.batch_size, "classifier", epoch, f"classifier epoch {epoch}"
        )
        augment = self.args.augment and train.inputs.dim() == 4
        for idx in bar:
            flips = torch.rand(len(idx)) < 0.5 if augment else None  # for the batch: ranks agree
            pos, idx, weight = group.shard(idx)
            x, y = train.batch(idx, self.device), train.labels[idx].to(self.device)
            if flips is not None:
                flip = flips[pos].to(self.device)
                x = torch.where(flip[:, None, None, None], x.flip(-1), x)
            with mixed_precision(self.device):  # bf16 on CUDA; float32 on the CPU
                logits = forward(x)
                loss = F.cross_entropy(logits, y, label_smoothing=self.args.label_smoothing)
            optimizer.zero_grad()
            (loss * weight).backward()
            optimizer.step()
            if weight:
                total += loss.item() * len(idx)
                correct += int((logits.argmax(1) == y).sum())
                seen += len(idx)
            bar.set_postfix(loss=f"{total / max(seen, 1):.3f}", acc=f"{correct / max(seen, 1):.3f}")
        total, correct, seen = group.sum([total, correct, seen], self.device)
        return total / seen, correct / seen

    @torch.no_grad()
    def _classifier_eval(self, split: SplitData) -> tuple[float, float]:
        clf = self.model.classifier
        clf.eval()
        loss, correct = 0.0, 0
        for idx in self.dist.part(len(split)).split(256):
            with mixed_precision(self.device):
                logits = clf(split.batch(idx, self.device)).float()
            y = split.labels[idx].to(self.device)
            loss += F.cross_entropy(logits, y, reduction="sum").item()
            correct += int((logits.argmax(1) == y).sum())
        loss, correct = self.dist.sum([loss, correct], self.device)
        return loss / len(split), correct / len(split)

    # ---- explainer ------------------------------------------------------------------------
    @torch.no_grad()
    def _cache_r(self) -> None:
        """r(x) for train and val, computed once with the classifier in eval mode (BatchNorm
        statistics and dropout frozen): the classifier does not change in this phase."""
        self.pairs, self.predicted = {}, {}
        for name, split in self.data.items():
            logits, r = self.model.introspect_split(split)
            self.predicted[name] = logits.argmax(-1)
            tokens = self.train_tokens if name == "train" else split.tokens()
            rows, encoded = [], []
            for i, sents in enumerate(tokens):
                for sent in sents:
                    rows.append(i)
                    encoded.append(self.model.vocab.encode(sent, self.args.max_length))
            self.pairs[name] = (
                r,
                split.labels.to(self.device),
                torch.tensor(rows),
                self.model.vocab.pad_batch(encoded),
            )
        self.pair_lengths = (self.pairs["train"][3] != self.model.vocab.pad_id).sum(1)

    def _pair_batch(self, name: str, idx: torch.Tensor):
        r, labels, rows, tokens = self.pairs[name]
        ex = rows[idx].to(self.device)
        tok = tokens[idx]
        tok = tok[:, : int((tok != 0).sum(1).max())].to(self.device)
        label = None
        if self.model.explainer.uses_label:
            label = (self.predicted[name] if self.model.conditioning.decision_label else labels)[ex]
        return tok, r[ex], label

    def _explainer_epoch(self, optimizer: torch.optim.Optimizer, epoch: int) -> dict[str, Any]:
        self.model.explainer.train()
        forward = self.forward
        n = len(self.pairs["train"][2])
        total, seen = 0.0, 0
        lengths = self.pair_lengths if self.args.length_bucketing else None
        bar = self._batches(
            n,
            self.args.explainer_batch_size,
            "explainer",
            epoch,
            f"explainer epoch {epoch}",
            lengths,
        )
        for idx in bar:
            _, idx, weight = self.dist.shard(idx)
            with mixed_precision(self.device):
                loss = self.model.explainer_loss(*self._pair_batch("train", idx), explainer=forward)
            optimizer.zero_grad()
            (loss * weight).backward()
            optimizer.step()
            if weight:
                total += loss.item() * len(idx)
                seen += len(idx)
            bar.set_postfix(loss=f"{total / max(seen, 1):.3f}")
        total, seen = self.dist.sum([total, seen], self.device)
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
        for idx in self.dist.part(n).split(512):
            with mixed_precision(self.device):
                loss = self.model.explainer_loss(*self._pair_batch("val", idx))
            total += loss.item() * len(idx)
        return self.dist.sum([total], self.device)[0] / n

    # ---- discriminative phase -----------------------------------------------------------
    def _setup_rewards(self) -> None:
        """The weighted reward: reward models trained on the training references (cached in
        the run directory), CIDEr-D with the training references' document frequencies."""
        train = self.data["train"]
        scorers = None
        if set(self.args.rewards) & set(MODEL_REWARDS):
            # rank 0 trains and caches them in the run directory; the other ranks load them
            for main in (True, False):
                if self.dist.is_main == main:
                    scorers = reward_scorers(
                        self.model, train, self.run, self.log, self.pairs["train"][0]
                    )
                self.dist.barrier()
        self.reward = build_reward(
            self.args.rewards,
            scorers,
            train.sentences,
            train.labels.tolist(),
            self.pairs["train"][0],
        )

    def _context(self, name: str, idx: torch.Tensor, k: int) -> RewardContext:
        split = self.data[name]
        return RewardContext(
            rows=torch.arange(len(idx)).repeat_interleave(k),
            r=self.pairs[name][0][idx.to(self.device)],
            predicted=self.predicted[name][idx.to(self.device)],
            true=self.pairs[name][1][idx.to(self.device)],
            references=[split.sentences[i] for i in idx.tolist()],
            items=idx if name == "train" else None,
        )

    def _discriminative_epoch(self, optimizer: torch.optim.Optimizer, epoch: int) -> dict[str, Any]:
        args, model = self.args, self.model
        model.explainer.eval()  # no dropout: samples and their log-probabilities agree
        forward = self.forward
        k = args.num_samples
        gen = torch.Generator(device=self.device).manual_seed(args.seed * 7919 + epoch)
        swap_gen = torch.Generator().manual_seed(args.seed * 7919 + epoch + 1)
        total = reward_sum = 0.0
        seen = mine = 0
        bar = self._batches(
            len(self.data["train"]),
            args.discriminative_batch_size,
            "discriminative",
            epoch,
            f"discriminative epoch {epoch}",
            classes=self.data["train"].labels if args.class_groups else None,
        )
        for idx in bar:
            ctx = self._context("train", idx, k)
            if args.dropout_decisions:
                ctx = self._dropout_decisions(ctx, idx)
            if args.cross_fit_folds:
                ctx = self._cross_fit_decisions(ctx, idx)
            if args.swap_fraction > 0:
                ctx = self._swap_decisions(ctx, swap_gen)
            labels = None
            if model.explainer.uses_label:  # gve: the true class; decision_label: the decision
                labels = ctx.predicted if model.conditioning.decision_label else ctx.true
            # Each rank samples and scores only its share of the batch; the uniform numbers
            # the samples are drawn with are drawn for the whole batch on every rank, so the
            # samples are those one process would draw (the rewards see the whole batch's
            # images: retrieval's compares them).
            pos, own, weight = self.dist.shard(idx)
            at = pos.to(self.device)
            rows = (pos[:, None] * k + torch.arange(k)).flatten()
            draws = torch.rand(len(idx) * k, args.max_length, generator=gen, device=self.device)
            mine_labels = None if labels is None else labels[at]
            rep = None if labels is None else mine_labels.repeat_interleave(k)
            with torch.no_grad(), mixed_precision(self.device):
                cond = model.explainer.condition(ctx.r[at], mine_labels)
                ids, _ = sample(
                    model.explainer,
                    cond,
                    model.vocab.bos_id,
                    model.vocab.eos_id,
                    k,
                    args.max_length,
                    uniforms=draws[rows.to(self.device)],
                    no_repeat_ngram=0,  # REINFORCE: draws from the model itself, never blocked
                )
            sentences = [detokenize(model.vocab.decode(row.tolist())) for row in ids]
            rewards = self.reward(sentences, replace(ctx, rows=pos.repeat_interleave(k)))
            r = ctx.r[at].repeat_interleave(k, dim=0)
            optimizer.zero_grad()
            # Two backward passes: DDP syncs the gradients summed over both (no_sync first).
            sync_later = forward.no_sync() if self.dist.enabled and args.xe_weight > 0 else None
            with sync_later or contextlib.nullcontext():
                with mixed_precision(self.device):
                    logp = model.sentence_logprob(ids, r, rep, forward)
                    loss = policy_gradient_loss(logp, rewards, k)
                (loss * weight).backward()
            if args.xe_weight > 0:
                batch = self._reference_batch(own, epoch)
                with mixed_precision(self.device):
                    xe = model.explainer_loss(*batch, explainer=forward)
                (args.xe_weight * xe * weight).backward()
                loss = loss + args.xe_weight * xe
            optimizer.step()
            if weight:
                total += loss.item() * len(own)
                reward_sum += float(rewards.sum())
                mine += len(own)
            seen += len(idx)
            bar.set_postfix(reward=f"{reward_sum / (max(mine, 1) * k):.3f}")  # this rank's
        total, reward_sum = self.dist.sum([total, reward_sum], self.device)
        return {
            "train_loss": total / seen,
            "train_reward": reward_sum / (seen * k),
            **self._validation_reward(),
            "lr": optimizer.param_groups[0]["lr"],
        }

    @torch.no_grad()
    def _dropout_decisions(self, ctx: RewardContext, idx: torch.Tensor) -> RewardContext:
        """r(x) and the predicted classes of the batch read with the classifier's dropout on
        (BatchNorm statistics stay frozen): on its training images the classifier is nearly
        always right and sure (Flowers: 100% accuracy, mean top-1 probability 0.95, against
        0.59 on test images), so without it the rewards never meet a decision that differs
        from the image, which is what fidelity measures."""
        classifier = self.model.classifier
        classifier.eval()
        dropouts = [m for m in classifier.modules() if isinstance(m, nn.Dropout)]
        for m in dropouts:
            m.train()
        try:
            logits, r = self.model.introspect(self.data["train"].batch(idx, self.device))
        finally:
            classifier.eval()
        return replace(ctx, r=r, predicted=logits.argmax(-1))

    def _setup_cross_fit(self, example: torch.Tensor) -> None:
        """The out-of-fold softmax of every training image (:mod:`interpnet.training.crossfit`):
        ``cross_fit_folds`` fresh copies of the classifier, each trained on the other folds
        with the learning rates the classifier phase used up to its best epoch (the run's
        log). Only the softmax is replaced: the hidden units of separately trained copies do
        not correspond to the classifier's, so its own hidden layers stay."""
        epochs = [r for r in self.run.read_log() if r.get("phase") == "classifier" and "lr" in r]
        best = [r["epoch"] for r in epochs if r.get("best")]
        if not best:
            raise ConfigError(
                "cross_fit_folds needs a classifier trained in this run's classifier phase: "
                "it retrains copies of it with that phase's recipe"
            )
        lrs = [r["lr"] for r in epochs if r["epoch"] <= best[-1]]
        self.softmax_mask = self.model.part_mask(example, lambda name: name == "softmax")
        if not self.softmax_mask.any():
            raise ConfigError(
                f"cross_fit_folds needs the softmax in r(x); {self.conditioning.name} reads none"
            )
        self.softmax_mask = self.softmax_mask.to(self.device)
        train = self.data["train"]
        start = time.time()
        probs, _ = out_of_fold_softmax(
            self.model.classifier,
            train,
            self.args.cross_fit_folds,
            lrs,
            self._classifier_optimizer,
            self._classifier_train_epoch,
            self.args.seed,
            self.device,
        )
        self.cross_fit = (probs, probs.argmax(-1))
        top1, predicted = probs.max(-1)
        acc = (predicted.cpu() == train.labels).float().mean()
        self.log(
            f"cross-fit decisions: {self.args.cross_fit_folds} folds x {len(lrs)} epochs, "
            f"out-of-fold accuracy {acc:.3f}, mean top-1 probability {top1.mean():.2f} "
            f"[{time.time() - start:.0f}s]"
        )

    def _cross_fit_decisions(self, ctx: RewardContext, idx: torch.Tensor) -> RewardContext:
        """The batch's softmax part of r(x) and predicted classes from the out-of-fold
        classifiers (:meth:`_setup_cross_fit`): the rewards then score the explanation against
        a decision that differs from the image as often as on unseen images."""
        probs, predicted = self.cross_fit
        at = idx.to(self.device)
        r = ctx.r.clone()
        r[:, self.softmax_mask] = probs[at]
        return replace(ctx, r=r, predicted=predicted[at])

    def _swap_decisions(self, ctx: RewardContext, gen: torch.Generator) -> RewardContext:
        """Counterfactual training: for a ``swap_fraction`` of the batch, the decision parts of
        r(x) (hidden layers, softmax) come from another image of the batch that the
        classifier puts in another class, whose predicted class and references the rewards
        then use; the input features x stay. On training images the predicted class is
        almost always the true one, so without this the rewards cannot tell an explainer
        that reads the decision from one that reads the image."""
        mask = self.decision_mask
        pick = torch.rand(len(ctx.predicted), generator=gen) < self.args.swap_fraction
        donors = choose_donors(ctx.predicted, generator=gen, rows=pick.nonzero().flatten())
        r, new_pred = ctx.r.clone(), ctx.predicted.clone()
        own = ctx.classes_of_references()
        refs, ref_classes = list(ctx.references), own.clone()
        for i, j in enumerate(donors.tolist()):
            if j < 0:
                continue
            r[i] = torch.where(mask, ctx.r[j], ctx.r[i])
            new_pred[i], refs[i], ref_classes[i] = ctx.predicted[j], ctx.references[j], own[j]
        return replace(ctx, r=r, predicted=new_pred, references=refs, reference_classes=ref_classes)

    def _reference_batch(self, idx: torch.Tensor, epoch: int):
        """One reference sentence of each image of ``idx`` (a different one each epoch), for
        the kept teacher-forced loss."""
        rows = self.pairs["train"][2]
        first = torch.searchsorted(rows, idx)
        count = torch.searchsorted(rows, idx, right=True) - first
        return self._pair_batch("train", first + epoch % count)

    @torch.no_grad()
    def _validation_reward(self) -> dict[str, float]:
        """Mean reward (and each part) of greedy explanations of the validation images."""
        model = self.model
        model.explainer.eval()
        sums = dict.fromkeys(self.reward.rewards, 0.0)
        n = len(self.data["val"])
        # unblocked, as before n-gram blocking: the choice of the best epoch is unchanged
        greedy = Decoding(max_length=self.args.max_length, no_repeat_ngram=0)
        for idx in self.dist.part(n).split(256):
            ctx = self._context("val", idx, 1)
            labels = ctx.predicted if model.explainer.uses_label else None
            tokens = model.decode(ctx.r, labels, greedy)
            parts = self.reward.parts([detokenize(t) for t in tokens], ctx)
            for name, value in parts.items():
                sums[name] += float(value.sum())
        totals = self.dist.sum(list(sums.values()), self.device)
        out = {f"val_{name}": v / n for name, v in zip(sums, totals, strict=True)}
        out["val_reward"] = sum(
            w * out[f"val_{name}"] for name, (_, w) in self.reward.rewards.items()
        )
        return out
