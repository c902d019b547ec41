"""``interpnet``: entry point dispatching to the sub-commands."""

from __future__ import annotations

import argparse
import errno
import sys
from collections.abc import Sequence

from interpnet import __version__
from interpnet.cli import (
    compare_cmd,
    data_cmd,
    demo_cmd,
    evaluate_cmd,
    explain_cmd,
    features_cmd,
    finetune_cmd,
    report_cmd,
    train_cmd,
)
from interpnet.cli.hints import TRUST_FLAG
from interpnet.errors import DataRootNotFound, InterpnetError, UntrustedCodeError, WriteError

COMMANDS = (
    demo_cmd,
    data_cmd,
    features_cmd,
    train_cmd,
    finetune_cmd,
    explain_cmd,
    evaluate_cmd,
    compare_cmd,
    report_cmd,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="interpnet",
        description="Natural-language explanations generated from a classifier's own "
        "activations (InterpNET, arXiv 1710.09511).",
    )
    parser.add_argument("--version", action="version", version=f"interpnet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InterpnetError as err:
        # a command that reads a data root it did not get from the user says where it came
        # from and which flag replaces it (``args.data_root_hint``)
        hint = getattr(args, "data_root_hint", None)
        hint = f" ({hint})" if hint and isinstance(err, DataRootNotFound) else ""
        message = err.with_fix(TRUST_FLAG) if isinstance(err, UntrustedCodeError) else err
        print(f"interpnet: error: {message}{hint}", file=sys.stderr)
        return 2
    except OSError as err:
        # last resort for a write that failed outside interpnet's writers (a full disk, a
        # read-only or unwritable folder): one line too; any other OSError is a bug to report
        if errno.errorcode.get(err.errno or 0) not in WriteError.CAUSES:
            raise
        print(f"interpnet: error: {WriteError.of(err.filename, err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        hint = getattr(args, "interrupt_hint", None)
        print(f"\ninterpnet: interrupted{'; ' + hint if hint else ''}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
