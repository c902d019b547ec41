"""Phase 2: the explainer, teacher-forced on every (image, reference sentence) pair, reading
r(x) of the best classifier."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from interpnet.devices import mixed_precision
from interpnet.training.optim_state import adam
from interpnet.training.phases.base import Phase
from interpnet.training.state import TrainingState


def explainer_optimizer(phase: Phase, lr: float) -> torch.optim.Optimizer:
    """Adam over the explainer's parameters (phases 2 and 3)."""
    return adam(torch.optim.Adam, phase.ctx.model.explainer.parameters(), lr=lr)


class ExplainerPhase(Phase):
    """The word-level cross-entropy of the references, validated by the same loss on the
    validation references; the learning rate halves after an epoch that is not better."""

    name = "explainer"

    def max_epochs(self) -> int:
        return self.ctx.args.explainer_epochs

    def initial_lr(self) -> float:
        return self.ctx.args.lr_explainer

    def learner(self) -> nn.Module:
        return self.ctx.model.explainer

    def optimizer(self, lr: float) -> torch.optim.Optimizer:
        return explainer_optimizer(self, lr)

    def setup(self, state: TrainingState) -> None:
        # The explainer reads the best classifier; its own weights start from their (seeded)
        # initial values, also when a resumed run finds later ones on disk.
        self.ctx.checkpointer.load_best(self.ctx.model, prefix="classifier.")
        self.ctx.read_pairs()

    def epoch(self, optimizer: torch.optim.Optimizer, epoch: int) -> dict[str, Any]:
        ctx, args, model = self.ctx, self.ctx.args, self.ctx.model
        model.explainer.train()
        pairs = ctx.pairs["train"]
        total, seen = 0.0, 0
        lengths = pairs.lengths(model.vocab.pad_id) if args.length_bucketing else None
        bar = ctx.batches(
            len(pairs),
            args.explainer_batch_size,
            self.name,
            epoch,
            f"explainer epoch {epoch}",
            lengths,
        )
        for idx in bar:
            _, idx, weight = ctx.dist.shard(idx)
            with mixed_precision(ctx.device):
                batch = pairs.batch(model, idx, ctx.device)
                loss = model.explainer_loss(*batch, explainer=ctx.forward)
            optimizer.zero_grad()
            (loss * weight).backward()
            optimizer.step()
            if weight:
                total += loss.item() * len(idx)
                seen += len(idx)
            bar.set_postfix(loss=f"{total / max(seen, 1):.3f}")
        total, seen = ctx.dist.sum([total, seen], ctx.device)
        return {
            "train_loss": total / seen,
            "val_loss": self.evaluate(),
            "lr": optimizer.param_groups[0]["lr"],
        }

    def score(self, record: dict[str, Any]) -> list[float]:
        return [-record["val_loss"]]

    @torch.no_grad()
    def evaluate(self) -> float:
        """The teacher-forced loss on the validation references."""
        ctx, model = self.ctx, self.ctx.model
        model.explainer.eval()
        pairs = ctx.pairs["val"]
        total = 0.0
        for idx in ctx.dist.part(len(pairs)).split(512):
            with mixed_precision(ctx.device):
                loss = model.explainer_loss(*pairs.batch(model, idx, ctx.device))
            total += loss.item() * len(idx)
        return ctx.dist.sum([total], ctx.device)[0] / len(pairs)
