"""``interpnet train``: two-phase training from a config file and/or flags, or a resume."""

from __future__ import annotations

import argparse
import time
from dataclasses import fields
from pathlib import Path

from interpnet.cli.flags import flag_type, weight_pair
from interpnet.cli.hints import add_trust_flag, stored_data_root_hint
from interpnet.distributed import is_main_process
from interpnet.errors import InterpnetError
from interpnet.model.loading import require_trust
from interpnet.options import choices_of, help_of
from interpnet.training import RECIPES, TrainConfig
from interpnet.training.config import PRESETS, read_options
from interpnet.workflows.train import configured_trainer, resume_run


def add_config_flags(parser: argparse.ArgumentParser, names: tuple[str, ...] | None = None) -> None:
    """One flag per :class:`TrainConfig` option (or those in ``names``), its help and choices
    from the option's declaration (:func:`interpnet.options.option`); default None = keep the
    config's value."""
    defaults = TrainConfig()
    for f in fields(TrainConfig):
        if names is not None and f.name not in names:
            continue
        flag = "--" + f.name.replace("_", "-")
        value = getattr(defaults, f.name)
        shown = "the recipe's" if value is None and f.name in RECIPES["paper"] else repr(value)
        text = help_of(f)
        help_text = text if "(default:" in text else f"{text} (default: {shown})"
        kind, is_list = flag_type(TrainConfig, f.name)
        if kind is bool:
            parser.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        elif is_list:
            metavar = "NAME=WEIGHT" if kind is weight_pair else None
            parser.add_argument(
                flag, nargs="+", type=kind, default=None, metavar=metavar, help=help_text
            )
        else:
            parser.add_argument(
                flag, type=kind, default=None, choices=choices_of(f), help=help_text
            )


def config_from_args(args: argparse.Namespace, base: TrainConfig | None = None) -> TrainConfig:
    """``base`` (or the file named by ``--config``, or the defaults) overridden by flags."""
    if base is None:
        base = TrainConfig.preset(getattr(args, "preset", None) or "default")
        if args.config:  # the file's options over the preset's
            given = read_options(args.config)
            base = TrainConfig.from_dict({**base.to_dict(), **given}, args.config)
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
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="named starting options that --config and flags override: 'default' (interpnet's), "
        "'paper' (the InterpNET paper's recipe), 'demo' (the demo's small model) (default: "
        "'default')",
    )
    p.add_argument(
        "--config",
        help="JSON or TOML file of options: flat (keys as the flag names with underscores) or in "
        "sections [data], [classifier], [conditioning], [explainer], [training]",
    )
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
