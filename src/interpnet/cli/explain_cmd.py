"""``interpnet explain``: explain image files, or a whole split, with a trained run."""

from __future__ import annotations

import argparse
from dataclasses import fields

from interpnet.cli.flags import flag_type
from interpnet.cli.hints import add_trust_flag, stored_data_root_hint
from interpnet.decoding import Decoding
from interpnet.errors import InterpnetError
from interpnet.options import choices_of, flag_of, help_of
from interpnet.workflows.explain import explain_run, split_accuracy, write_jsonl
from interpnet.workflows.run import Run


def add_decoding_flags(p: argparse.ArgumentParser) -> None:
    """One flag per :class:`Decoding` option, its help, choices and default from the option's
    declaration (:func:`interpnet.options.option`)."""
    for f in fields(Decoding):
        if not help_of(f):  # the banks: built from the run, not given on the command line
            continue
        text = f"{help_of(f)} (default: {f.default})" if f.default is not None else help_of(f)
        common = {"dest": f.name, "help": text}
        kind, _ = flag_type(Decoding, f.name)
        if kind is bool:
            p.add_argument(flag_of(f), action="store_true", **common)
        else:
            extra = {"metavar": f.metadata["metavar"]} if f.metadata.get("metavar") else {}
            p.add_argument(
                flag_of(f), type=kind, default=f.default, choices=choices_of(f), **extra, **common
            )


def decoding_from_args(args: argparse.Namespace) -> Decoding:
    return Decoding(**{f.name: getattr(args, f.name) for f in fields(Decoding) if help_of(f)})


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explain",
        help="classify inputs and explain each decision in a sentence",
        description="Load a run directory and explain image files, or a whole split of a "
        "CUB-layout data set (--split). Prints one line per input; --output also writes JSON "
        "lines (prediction, probability, explanation and, for a split, truth and references).",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="run directory written by train or demo")
    p.add_argument("inputs", metavar="INPUT", nargs="*", help="image files to explain")
    p.add_argument(
        "--split",
        choices=("train", "val", "test"),
        help="explain this split of the data set instead of image files",
    )
    p.add_argument(
        "--data-root",
        help="data root for --split, and for the training split that --rerank, the bank "
        "distractors (train-mean, class-mean, rival), --decode retrieve and --add-references "
        "read (default: the one the run was trained on)",
    )
    p.add_argument("--output", help="write the explanations to this .jsonl file")
    p.add_argument("--device", default="auto", help="'auto', 'cpu' or 'cuda' (default: auto)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_trust_flag(p)
    add_decoding_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    decoding = decoding_from_args(args)
    if not args.inputs and not args.split:
        raise InterpnetError("give image files to explain, or --split NAME")
    opened = Run(args.run_dir, args.data_root, None, args.device, args.trust_code, not args.quiet)
    opened.model  # noqa: B018 - the model first: a run that cannot load is the first error
    readers = [f"--split {args.split}"] if args.split else []
    readers += ["--rerank"] if decoding.rerank else []
    readers += [f"--distractor {decoding.distractor}"] if decoding.needs_bank else []
    if decoding.needs_references:
        readers.append("--add-references" if decoding.add_references else "--decode retrieve")
    if readers:
        what = f"{' and '.join(readers)} read{'s' if len(readers) == 1 else ''} the run's data"
        args.data_root_hint = (
            f"{what} from --data-root"
            if args.data_root
            else f"{what}; {stored_data_root_hint(args.run_dir)}"
        )
    records = explain_run(opened, args.inputs, args.split, decoding)
    for r in records:
        print(f"{r['key']}\t{r['class_name']}\t{r['probability']:.3f}\t{r['explanation']}")
    if args.split:
        print(f"accuracy on {args.split}: {split_accuracy(records):.4f} ({len(records)} images)")
    if args.output:
        write_jsonl(args.output, records)
        print(f"wrote {len(records)} explanations to {args.output}")
    return 0
