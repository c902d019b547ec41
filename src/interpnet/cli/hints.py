"""What the CLI adds to a library error: the flag that fixes it (library errors name none)."""

from __future__ import annotations

import argparse

from interpnet.rundir import RunDirectory


def stored_data_root_hint(run_dir: str, flag: str | None = "--data-root") -> str:
    """The fix for a data root that ``run_dir``'s training config names and that is gone
    (the data moved, or the run came from another machine): ``flag``, or editing the file."""
    config = RunDirectory(run_dir).train_config
    fix = f"give the data's folder with {flag}" if flag else "edit its data_root"
    return f"{config} names this data root: {fix}"


TRUST_FLAG = "--trust-code"


def add_trust_flag(parser: argparse.ArgumentParser) -> None:
    """``--trust-code``: consent to import the ``package.module:factory`` classifier a run
    directory names (as transformers' ``trust_remote_code``)."""
    parser.add_argument(
        TRUST_FLAG,
        action="store_true",
        help="build a classifier the run names as 'package.module:factory' by importing and "
        "calling that code; give it only for a run from a source you trust (built-in, "
        "torchvision and timm classifiers never need it)",
    )
