"""Phase 3 (discriminative): the explainer trained for its rewards by policy gradient
(REINFORCE with the other samples' mean reward as each one's baseline), beside a kept
teacher-forced loss."""

from __future__ import annotations

import contextlib
import time
from dataclasses import replace
from typing import Any

import torch
from torch import nn

from interpnet.decoding import Decoding, sample
from interpnet.decoding.rerank import RewardContext
from interpnet.devices import mixed_precision
from interpnet.errors import ConfigError
from interpnet.scorers.rewards import MODEL_REWARDS, WeightedReward
from interpnet.text import detokenize
from interpnet.training.crossfit import out_of_fold_softmax
from interpnet.training.decisions import CrossFitDecisions, DropoutDecisions, SwapDecisions
from interpnet.training.losses import policy_gradient_loss
from interpnet.training.phases.base import Phase, TrainingContext
from interpnet.training.phases.classifier import ClassifierPhase
from interpnet.training.phases.explainer import explainer_optimizer
from interpnet.training.rewards import build_reward, reward_scorers
from interpnet.training.state import TrainingState


class PolicyGradientPhase(Phase):
    """``args.num_samples`` sampled explanations per image, rewarded by ``args.rewards``
    (after the decision perturbations the options ask for), validated by the mean reward of
    greedy explanations of the validation images."""

    name = "discriminative"

    def __init__(self, ctx: TrainingContext, classifier_phase: ClassifierPhase) -> None:
        super().__init__(ctx)
        self.classifier_phase = classifier_phase  # its recipe retrains the cross-fit copies
        self.reward: WeightedReward | None = None
        self.decisions: list[DropoutDecisions | CrossFitDecisions | SwapDecisions] = []

    def enabled(self) -> bool:
        return self.ctx.args.discriminative_epochs > 0

    def max_epochs(self) -> int:
        return self.ctx.args.discriminative_epochs

    def initial_lr(self) -> float:
        return self.ctx.args.lr_discriminative

    def learner(self) -> nn.Module:
        return self.ctx.model.explainer

    def optimizer(self, lr: float) -> torch.optim.Optimizer:
        return explainer_optimizer(self, lr)

    def score(self, record: dict[str, Any]) -> list[float]:
        return [record["val_reward"]]

    # ---- set-up ---------------------------------------------------------------------------
    def setup(self, state: TrainingState) -> None:
        ctx, args, model = self.ctx, self.ctx.args, self.ctx.model
        ctx.checkpointer.load_best(model)  # the explainer phase's best model is the start
        ctx.read_pairs()
        if args.dropout_decisions and not any(
            isinstance(m, nn.Dropout) and m.p > 0 for m in model.classifier.modules()
        ):  # the checks come before the reward scorers and cross-fit copies are trained
            raise ConfigError(
                "dropout_decisions needs a classifier with dropout (the built-in MLP's "
                "default recipe has it; the paper's recipe has none)"
            )
        example = ctx.data["train"].batch(torch.arange(1), ctx.device)
        decision_mask = model.decision_mask(example).to(ctx.device)
        if args.swap_fraction > 0 and not decision_mask.any():
            raise ConfigError(
                f"swap_fraction needs decision parts in r(x); {model.conditioning.name} "
                "reads none (it reads the input only, or a label)"
            )
        self.reward = self._build_reward()
        self.decisions = []
        if args.dropout_decisions:
            self.decisions.append(DropoutDecisions(model, ctx.data["train"], ctx.device))
        if args.cross_fit_folds:
            self.decisions.append(self._cross_fit(example))
        if args.swap_fraction > 0:
            self.decisions.append(SwapDecisions(decision_mask, args.swap_fraction))
        if state.best is None:
            state.best = [self.validation_reward()["val_reward"]]
            ctx.log(f"discriminative phase: validation reward before it {state.best[0]:.4f}")

    def _build_reward(self) -> WeightedReward:
        """The weighted reward: reward models trained on the training references (cached in
        the run directory), CIDEr-D with the training references' document frequencies."""
        ctx = self.ctx
        train, r = ctx.data["train"], ctx.pairs["train"].r
        scorers = None
        if set(ctx.args.rewards) & set(MODEL_REWARDS):
            # rank 0 trains and caches them in the run directory; the other ranks load them
            for main in (True, False):
                if ctx.dist.is_main == main:
                    scorers = reward_scorers(ctx.model, train, ctx.run, ctx.log, r)
                ctx.dist.barrier()
        return build_reward(ctx.args.rewards, scorers, train.sentences, train.labels.tolist(), r)

    def _cross_fit(self, example: torch.Tensor) -> CrossFitDecisions:
        """Out-of-fold softmax of every training image: ``cross_fit_folds`` fresh copies of
        the classifier, each trained on the other folds with the learning rates the classifier
        phase used up to its best epoch (the run's log)."""
        ctx, args = self.ctx, self.ctx.args
        epochs = [r for r in ctx.run.read_log() if r.get("phase") == "classifier" and "lr" in r]
        best = [r["epoch"] for r in epochs if r.get("best")]
        if not best:
            raise ConfigError(
                "cross_fit_folds needs a classifier trained in this run's classifier phase: "
                "it retrains copies of it with that phase's recipe"
            )
        lrs = [r["lr"] for r in epochs if r["epoch"] <= best[-1]]
        softmax_mask = ctx.model.part_mask(example, lambda name: name == "softmax")
        if not softmax_mask.any():
            raise ConfigError(
                f"cross_fit_folds needs the softmax in r(x); {ctx.model.conditioning.name} "
                "reads none"
            )
        train, start = ctx.data["train"], time.time()
        probs, _ = out_of_fold_softmax(
            ctx.model.classifier,
            train,
            args.cross_fit_folds,
            lrs,
            self.classifier_phase.make_optimizer,
            self.classifier_phase.train_epoch,
            args.seed,
            ctx.device,
        )
        top1, predicted = probs.max(-1)
        acc = (predicted.cpu() == train.labels).float().mean()
        ctx.log(
            f"cross-fit decisions: {args.cross_fit_folds} folds x {len(lrs)} epochs, "
            f"out-of-fold accuracy {acc:.3f}, mean top-1 probability {top1.mean():.2f} "
            f"[{time.time() - start:.0f}s]"
        )
        return CrossFitDecisions(probs, softmax_mask.to(ctx.device))

    def context(self, name: str, idx: torch.Tensor, k: int) -> RewardContext:
        """What the rewards know of images ``idx`` of split ``name``, each explained ``k``
        times."""
        pairs, at = self.ctx.pairs[name], idx.to(self.ctx.device)
        return RewardContext(
            rows=torch.arange(len(idx)).repeat_interleave(k),
            r=pairs.r[at],
            predicted=pairs.predicted[at],
            true=pairs.labels[at],
            references=[self.ctx.data[name].sentences[i] for i in idx.tolist()],
            items=idx if name == "train" else None,
        )

    # ---- an epoch -------------------------------------------------------------------------
    def epoch(self, optimizer: torch.optim.Optimizer, epoch: int) -> dict[str, Any]:
        ctx, args, model = self.ctx, self.ctx.args, self.ctx.model
        model.explainer.eval()  # no dropout: samples and their log-probabilities agree
        forward, k = ctx.forward, args.num_samples
        gen = torch.Generator(device=ctx.device).manual_seed(args.seed * 7919 + epoch)
        swap_gen = torch.Generator().manual_seed(args.seed * 7919 + epoch + 1)
        total = reward_sum = 0.0
        seen = mine = 0
        bar = ctx.batches(
            len(ctx.data["train"]),
            args.discriminative_batch_size,
            self.name,
            epoch,
            f"discriminative epoch {epoch}",
            classes=ctx.data["train"].labels if args.class_groups else None,
        )
        for idx in bar:
            batch = self.context("train", idx, k)
            for decisions in self.decisions:
                batch = decisions(batch, idx, swap_gen)
            labels = None
            if model.explainer.uses_label:  # gve: the true class; decision_label: the decision
                labels = batch.predicted if model.conditioning.decision_label else batch.true
            # Each rank samples and scores only its share of the batch; the uniform numbers
            # the samples are drawn with are drawn for the whole batch on every rank, so the
            # samples are those one process would draw (the rewards see the whole batch's
            # images: retrieval's compares them).
            pos, own, weight = ctx.dist.shard(idx)
            at = pos.to(ctx.device)
            rows = (pos[:, None] * k + torch.arange(k)).flatten()
            draws = torch.rand(len(idx) * k, args.max_length, generator=gen, device=ctx.device)
            mine_labels = None if labels is None else labels[at]
            rep = None if labels is None else mine_labels.repeat_interleave(k)
            with torch.no_grad(), mixed_precision(ctx.device):
                cond = model.explainer.condition(batch.r[at], mine_labels)
                ids, _ = sample(
                    model.explainer,
                    cond,
                    model.vocab.bos_id,
                    model.vocab.eos_id,
                    k,
                    args.max_length,
                    uniforms=draws[rows.to(ctx.device)],
                    no_repeat_ngram=0,  # REINFORCE: draws from the model itself, never blocked
                )
            sentences = [detokenize(model.vocab.decode(row.tolist())) for row in ids]
            rewards = self.reward(sentences, replace(batch, rows=pos.repeat_interleave(k)))
            r = batch.r[at].repeat_interleave(k, dim=0)
            optimizer.zero_grad()
            # Two backward passes: DDP syncs the gradients summed over both (no_sync first).
            sync_later = forward.no_sync() if ctx.dist.enabled and args.xe_weight > 0 else None
            with sync_later or contextlib.nullcontext():
                with mixed_precision(ctx.device):
                    logp = model.sentence_logprob(ids, r, rep, forward)
                    loss = policy_gradient_loss(logp, rewards, k)
                (loss * weight).backward()
            if args.xe_weight > 0:
                refs = ctx.pairs["train"].reference_batch(model, own, epoch, ctx.device)
                with mixed_precision(ctx.device):
                    xe = model.explainer_loss(*refs, explainer=forward)
                (args.xe_weight * xe * weight).backward()
                loss = loss + args.xe_weight * xe
            optimizer.step()
            if weight:
                total += loss.item() * len(own)
                reward_sum += float(rewards.sum())
                mine += len(own)
            seen += len(idx)
            bar.set_postfix(reward=f"{reward_sum / (max(mine, 1) * k):.3f}")  # this rank's
        total, reward_sum = ctx.dist.sum([total, reward_sum], ctx.device)
        return {
            "train_loss": total / seen,
            "train_reward": reward_sum / (seen * k),
            **self.validation_reward(),
            "lr": optimizer.param_groups[0]["lr"],
        }

    @torch.no_grad()
    def validation_reward(self) -> dict[str, float]:
        """Mean reward (and each part) of greedy explanations of the validation images."""
        ctx, model, reward = self.ctx, self.ctx.model, self.reward
        model.explainer.eval()
        sums = dict.fromkeys(reward.rewards, 0.0)
        n = len(ctx.data["val"])
        # unblocked, as before n-gram blocking: the choice of the best epoch is unchanged
        greedy = Decoding(max_length=ctx.args.max_length, no_repeat_ngram=0)
        for idx in ctx.dist.part(n).split(256):
            batch = self.context("val", idx, 1)
            labels = batch.predicted if model.explainer.uses_label else None
            tokens = model.decode(batch.r, labels, greedy)
            parts = reward.parts([detokenize(t) for t in tokens], batch)
            for name, value in parts.items():
                sums[name] += float(value.sum())
        totals = ctx.dist.sum(list(sums.values()), ctx.device)
        out = {f"val_{name}": v / n for name, v in zip(sums, totals, strict=True)}
        out["val_reward"] = sum(w * out[f"val_{name}"] for name, (_, w) in reward.rewards.items())
        return out
