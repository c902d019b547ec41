"""Phase 1: the classifier, trained on the labels (skipped for a frozen classifier)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from interpnet import distributed
from interpnet.data.splits import SplitData
from interpnet.devices import mixed_precision
from interpnet.training.optim_state import adam
from interpnet.training.phases.base import Phase


class ClassifierPhase(Phase):
    """Cross-entropy on the labels (label smoothing, optional horizontal flips), validated by
    accuracy then loss; the learning rate decays by ``args.lr_decay``."""

    name = "classifier"

    @property
    def lr_decay(self) -> float:  # type: ignore[override]
        return self.ctx.args.lr_decay

    def enabled(self) -> bool:
        return self.ctx.args.train_classifier

    def max_epochs(self) -> int:
        return self.ctx.args.classifier_epochs

    def initial_lr(self) -> float:
        return self.ctx.args.lr_classifier

    def learner(self) -> nn.Module:
        return self.ctx.model.classifier

    def optimizer(self, lr: float) -> torch.optim.Optimizer:
        return self.make_optimizer(self.ctx.model.classifier, lr)

    def make_optimizer(self, classifier: nn.Module, lr: float) -> torch.optim.Optimizer:
        """The recipe's optimizer for ``classifier`` (also for the cross-fit copies)."""
        args = self.ctx.args
        opt = torch.optim.AdamW if args.optimizer == "adamw" else torch.optim.Adam
        return adam(opt, classifier.parameters(), lr=lr, weight_decay=args.weight_decay)

    def epoch(self, optimizer: torch.optim.Optimizer, epoch: int) -> dict[str, Any]:
        ctx = self.ctx
        loss, acc = self.train_epoch(
            ctx.model.classifier, ctx.data["train"], optimizer, epoch, ctx.forward
        )
        val_loss, val_acc = self.evaluate(ctx.data["val"])
        return {
            "train_loss": loss,
            "train_acc": acc,
            "val_loss": val_loss,
            "val_acc": val_acc,
            "lr": optimizer.param_groups[0]["lr"],
        }

    def score(self, record: dict[str, Any]) -> list[float]:
        return [record["val_acc"], -record["val_loss"]]

    def train_epoch(
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
        ctx, args = self.ctx, self.ctx.args
        group = ctx.dist if forward is not None else distributed.Distributed()
        forward = clf if forward is None else forward
        clf.train()
        total, correct, seen = 0.0, 0, 0
        bar = ctx.batches(
            len(train), args.batch_size, self.name, epoch, f"classifier epoch {epoch}"
        )
        augment = args.augment and train.inputs.dim() == 4
        for idx in bar:
            flips = torch.rand(len(idx)) < 0.5 if augment else None  # for the batch: ranks agree
            pos, idx, weight = group.shard(idx)
            x, y = train.batch(idx, ctx.device), train.labels[idx].to(ctx.device)
            if flips is not None:
                flip = flips[pos].to(ctx.device)
                x = torch.where(flip[:, None, None, None], x.flip(-1), x)
            with mixed_precision(ctx.device):  # bf16 on CUDA; float32 on the CPU
                logits = forward(x)
                loss = F.cross_entropy(logits, y, label_smoothing=args.label_smoothing)
            optimizer.zero_grad()
            (loss * weight).backward()
            optimizer.step()
            if weight:
                total += loss.item() * len(idx)
                correct += int((logits.argmax(1) == y).sum())
                seen += len(idx)
            bar.set_postfix(loss=f"{total / max(seen, 1):.3f}", acc=f"{correct / max(seen, 1):.3f}")
        total, correct, seen = group.sum([total, correct, seen], ctx.device)
        return total / seen, correct / seen

    @torch.no_grad()
    def evaluate(self, split: SplitData) -> tuple[float, float]:
        """Mean loss and accuracy of the classifier on ``split``."""
        ctx = self.ctx
        clf = ctx.model.classifier
        clf.eval()
        loss, correct = 0.0, 0
        for idx in ctx.dist.part(len(split)).split(256):
            with mixed_precision(ctx.device):
                logits = clf(split.batch(idx, ctx.device)).float()
            y = split.labels[idx].to(ctx.device)
            loss += F.cross_entropy(logits, y, reduction="sum").item()
            correct += int((logits.argmax(1) == y).sum())
        loss, correct = ctx.dist.sum([loss, correct], ctx.device)
        return loss / len(split), correct / len(split)
