"""``interpnet finetune``: the discriminative phase alone, on a copy of a finished run."""

from __future__ import annotations

import argparse
import time

from interpnet.cli.hints import add_trust_flag, stored_data_root_hint
from interpnet.cli.train_cmd import add_config_flags
from interpnet.distributed import is_main_process
from interpnet.workflows.train import FINE_TUNE_OPTIONS, fine_tune_run


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "finetune",
        help="train a finished run further for its rewards (policy gradient), into a new run",
        description="Copy a finished run (classifier, explainer, vocabulary) into --out and "
        "train its explainer with the discriminative phase: REINFORCE on sampled "
        "explanations for --rewards, the teacher-forced loss kept with --xe-weight, early "
        "stopping on the validation reward. --variant gve turns a gve-label run into the full "
        "GVE baseline (reward: class-true). Interrupted? interpnet train --resume OUT.",
    )
    p.add_argument("source", metavar="RUN_DIR", help="a finished run directory")
    p.add_argument("--out", required=True, help="the new run directory")
    p.add_argument(
        "--variant", choices=("gve",), help="gve: fine-tune a gve-label run into full GVE"
    )
    p.add_argument(
        "--data-root",
        help="data root, when the data has moved (default: the one the source run was trained on)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_trust_flag(p)
    add_config_flags(p, FINE_TUNE_OPTIONS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    start = time.time()
    options = {n: getattr(args, n) for n in FINE_TUNE_OPTIONS if getattr(args, n) is not None}
    if "rewards" in options:
        options["rewards"] = dict(options["rewards"])
    if args.variant:
        options["variant"] = args.variant
    args.interrupt_hint = f"resume with: interpnet train --resume {args.out}"
    if not args.data_root:
        args.data_root_hint = stored_data_root_hint(args.source)
    main_process = is_main_process()  # under torchrun, rank 0 alone shows progress
    progress = not args.quiet and main_process
    fine_tune_run(
        args.source,
        args.out,
        progress=progress,
        data_root=args.data_root,
        trust_code=args.trust_code,
        **options,
    )
    if main_process:
        print(f"fine-tuning done in {time.time() - start:.0f}s; run directory: {args.out}")
    return 0
