"""``interpnet train``: two-phase training from a config file and/or flags, or a resume."""

from __future__ import annotations

import argparse
import time
import types
import typing
from dataclasses import fields
from pathlib import Path

from interpnet.cli.hints import add_trust_flag, stored_data_root_hint
from interpnet.data.layouts import DATASETS
from interpnet.distributed import is_main_process
from interpnet.errors import InterpnetError
from interpnet.model.conditioning import VARIANTS
from interpnet.model.loading import require_trust
from interpnet.training import RECIPES, TrainConfig
from interpnet.training.args import OPTIMIZERS
from interpnet.workflows.train import configured_trainer, resume_run

HELP = {
    "data_root": "data root: a folder with metadata.jsonl/metadata.csv (your own images), "
    "the CUB layout (CUB_200_2011/ + text_c10/, e.g. SynthBirds) or Oxford-102",
    "dataset": "'auto' (detected from the data root), 'cub', 'synthbirds', 'flowers' or "
    "'generic' (metadata.jsonl / metadata.csv)",
    "val_fraction": "generic layout without a split column: share of each class for val",
    "test_fraction": "generic layout without a split column: share of each class for test",
    "features": "feature-cache folder: classify frozen-backbone features of the images with "
    "the paper's MLP (extracted into it first if needed) instead of training a CNN on pixels",
    "backbone": "with --features: the pretrained backbone: efficientnet-lite0, "
    "torchvision/<arch> or timm/<name> (their weights from the local cache, never downloaded)",
    "backbone_layers": "with --features: intermediate backbone modules to save too; they are "
    "exposed to the introspector as side.<name> (use --variant custom to read them)",
    "splits": "CUB layout: 'auto' (split files in <root>/splits or <root>/splits/gve, else "
    "the official split with a seeded validation part), 'official', or a folder holding "
    "train.txt/val.txt/test.txt or GVE's train_noCub.txt/val.txt/test.txt",
    "skip_missing": "drop (and count) images whose image or text file is missing",
    "image_size": "images are resized (shorter side) and centre-cropped to this size "
    "(default: 64 for the built-in CNN, 224 for torchvision models)",
    "image_resize": "shorter side before the centre crop (default: the image size; 256 for "
    "torchvision models at 224)",
    "image_mean": "3 values: normalise image inputs as (x - mean) / std (x in [0, 1]; "
    "default: none, or ImageNet's for torchvision models)",
    "image_std": "3 values, with --image-mean",
    "classifier": "your classifier instead of the built-in one: torchvision/<arch>, "
    "timm/<name> (both need the vision extra) or package.module:factory (a callable returning "
    "an nn.Module, given num_classes= when it takes it); the run records it, so "
    "explain/evaluate rebuild it (a factory only with --trust-code)",
    "classifier_weights": "weights for --classifier: a state dict in a .safetensors, .pt, .pth "
    "or .bin file (torch.save; read without unpickling code), also a training checkpoint "
    "holding one under state_dict, model_state_dict, model or ema",
    "freeze_classifier": "keep the classifier as it is (skip phase 1) and train only the "
    "explainer on its activations",
    "recipe": f"classifier-phase regularisation: one of {sorted(RECIPES)}; 'paper' is the "
    "InterpNET paper's (Adam, no regularisation), 'default' adds dropout, weight decay and "
    "label smoothing",
    "classifier_dropout": "dropout after each hidden layer of the built-in classifier's MLP",
    "classifier_input_dropout": "dropout on the input features of the built-in MLP on "
    "backbone features",
    "optimizer": f"classifier-phase optimizer, one of {OPTIMIZERS} (default: the recipe's)",
    "label_smoothing": "classifier-phase label smoothing (default: the recipe's)",
    "lr_decay": "classifier phase: multiply the learning rate by this after an epoch without "
    "improvement (the paper: 0.5; 1 = constant)",
    "augment": "flip training images left-right at random in phase 1 (the explainer "
    "phase always sees the images as they are)",
    "variant": f"what the explainer reads: one of {', '.join(VARIANTS)}",
    "num_hidden": "for --variant interpnet: how many hidden layers r(x) includes (InterpNET_k)",
    "layers": "for --variant custom: module names whose activations form r(x)",
    "include_input": "for --variant custom: add the classifier input to r(x)",
    "include_softmax": "for --variant custom: add the softmax output to r(x)",
    "decision_label": "give the explainer a learned embedding of the classifier's decision "
    "(the argmax of r(x)'s softmax) beside r(x)",
    "cnn_channels": "channels of the CNN classifier's conv blocks",
    "hidden_sizes": "sizes of the classifier's ReLU hidden layers (the paper's MLP)",
    "explainer": "the explanation model: 'lrcn' (the paper's LRCN-2f) or another registered "
    "with interpnet.register_explainer",
    "embed_dim": "explainer word-embedding size",
    "hidden_dim": "explainer LSTM size (both LSTMs)",
    "fusion_dim": "size of the linear layer fusing LSTM-1 output and r(x)",
    "dropout": "dropout on the LSTM outputs",
    "label_embed_dim": "for --variant gve-label: class-embedding size",
    "min_count": "words seen fewer times in the training sentences become <unk>",
    "max_length": "training sentences are cut to this many tokens",
    "classifier_epochs": "maximum epochs of phase 1 (classifier)",
    "explainer_epochs": "maximum epochs of phase 2 (explainer)",
    "batch_size": "classifier batch size",
    "explainer_batch_size": "explainer batch size, in (input, sentence) pairs",
    "lr_classifier": "Adam learning rate of the classifier",
    "lr_explainer": "Adam learning rate of the explainer",
    "weight_decay": "classifier-phase weight decay (default: the recipe's)",
    "patience": "end a phase after this many epochs without validation improvement "
    "(the learning rate halves after each of them)",
    "discriminative_epochs": "maximum epochs of phase 3, policy-gradient fine-tuning of the "
    "explainer on --rewards (default: none; 10 for --variant gve)",
    "rewards": "phase-3 rewards as NAME=WEIGHT: class-predicted (a reward sentence classifier's "
    "probability of the predicted class), class-true, cider (CIDEr-D), cider-class (CIDEr-D "
    "with document frequencies from the references of the image's own class), retrieval "
    "(default: none; class-true=1 for --variant gve)",
    "num_samples": "phase 3: explanations sampled per image (the others' mean reward is each "
    "one's baseline)",
    "xe_weight": "phase 3: weight of the teacher-forced loss kept beside the policy gradient",
    "lr_discriminative": "Adam learning rate of phase 3",
    "discriminative_batch_size": "phase-3 batch size, in images",
    "swap_fraction": "phase 3, counterfactual training: share of images whose r(x) gets the "
    "hidden layers and softmax of an image of another predicted class, rewarded for that class",
    "dropout_decisions": "phase 3: read the training images' r(x) with the classifier's "
    "dropout on (a new draw per batch), so its decisions are as unsure as on unseen images",
    "cross_fit_folds": "phase 3: the training images' softmax and predicted class from K copies "
    "of the classifier, each trained on the other K-1 folds (0: off)",
    "class_groups": "phase 3: batches of groups of M training images of one class, so the "
    "retrieval reward compares each explanation with images of its own class (0: off)",
    "length_bucketing": "explainer phase: batches of sentences of similar length (less padding)",
    "seed": "random seed (runs are deterministic on the CPU)",
    "device": "'auto' (CUDA when available), 'cpu' or 'cuda'",
}


_CHOICES = {
    "variant": VARIANTS,
    "recipe": tuple(RECIPES),
    "optimizer": OPTIMIZERS,
    "dataset": DATASETS,
}


def _flag_type(name: str) -> tuple[type, bool]:
    """(element type, is a list) of a TrainConfig field, from its annotation."""
    hint = typing.get_type_hints(TrainConfig)[name]
    if typing.get_origin(hint) is dict:
        return _weight_pair, True
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) is list:
        return args[0], True
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return args[0], False
    return hint, False


def _weight_pair(text: str) -> tuple[str, float]:
    """NAME=WEIGHT, e.g. class-predicted=1.0."""
    name, sep, weight = text.partition("=")
    try:
        if not sep:
            raise ValueError
        return name, float(weight)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected NAME=WEIGHT, got {text!r}") from None


def add_config_flags(parser: argparse.ArgumentParser, names: tuple[str, ...] | None = None) -> None:
    """One flag per :class:`TrainConfig` field (or those in ``names``); default None = keep
    the config's value."""
    defaults = TrainConfig()
    for f in fields(TrainConfig):
        if names is not None and f.name not in names:
            continue
        flag = "--" + f.name.replace("_", "-")
        value = getattr(defaults, f.name)
        shown = "the recipe's" if value is None and f.name in RECIPES["paper"] else repr(value)
        explained = "(default:" in HELP[f.name]
        help_text = HELP[f.name] if explained else f"{HELP[f.name]} (default: {shown})"
        kind, is_list = _flag_type(f.name)
        if kind is bool:
            parser.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        elif is_list:
            metavar = "NAME=WEIGHT" if kind is _weight_pair else None
            parser.add_argument(
                flag, nargs="+", type=kind, default=None, metavar=metavar, help=help_text
            )
        else:
            parser.add_argument(
                flag, type=kind, default=None, choices=_CHOICES.get(f.name), help=help_text
            )


def config_from_args(args: argparse.Namespace, base: TrainConfig | None = None) -> TrainConfig:
    """``base`` (or the file named by ``--config``, or the defaults) overridden by flags."""
    if base is None:
        base = TrainConfig.from_file(args.config) if args.config else TrainConfig()
    data = base.to_dict()
    for f in fields(TrainConfig):
        value = getattr(args, f.name, None)
        if value is not None:
            data[f.name] = dict(value) if isinstance(data[f.name], dict) else value
    return TrainConfig.from_dict(data)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a classifier and its explainer (two phases)",
        description="Phase 1 trains the classifier, phase 2 the explainer on every (input, "
        "reference sentence) pair, each with per-epoch validation, best-checkpoint keeping and "
        "learning-rate halving. Options come from --config (JSON or TOML, keys as the flag names "
        "with underscores), overridden by flags. The run directory holds config, vocabulary, "
        "best weights, a training log and a resumable state.",
    )
    p.add_argument("--config", help="JSON or TOML file of options")
    p.add_argument("--out", help="run directory to create (default: runs/<variant>-<time>)")
    p.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue an interrupted run in RUN_DIR with its saved config",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_trust_flag(p)
    add_config_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    main_process = is_main_process()  # under torchrun, rank 0 alone shows progress
    progress = not args.quiet and main_process
    start = time.time()
    if args.resume:
        args.interrupt_hint = f"resume with: interpnet train --resume {args.resume}"
        args.data_root_hint = stored_data_root_hint(args.resume, flag=None)
        resume_run(args.resume, progress=progress, trust_code=args.trust_code)
        run_dir = args.resume
    else:
        cfg = config_from_args(args)
        if args.config and cfg.classifier and not (args.classifier or args.trust_code):
            # a config file may come from someone else: its factory is imported with consent
            require_trust(cfg.classifier, False, args.config)
        if not cfg.data_root:
            raise InterpnetError("give --data-root, or a --config with data_root")
        run_dir = Path(args.out or f"runs/{cfg.variant}-{time.strftime('%Y%m%d-%H%M%S')}")
        args.interrupt_hint = f"resume with: interpnet train --resume {run_dir}"
        configured_trainer(cfg, run_dir, progress=progress).fit()
    if main_process:
        print(f"training done in {time.time() - start:.0f}s; run directory: {run_dir}")
    return 0
