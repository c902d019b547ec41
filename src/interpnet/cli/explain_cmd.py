"""``interpnet explain``: explain image files, or a whole split, with a trained run."""

from __future__ import annotations

import argparse

from interpnet.cli.hints import add_trust_flag, stored_data_root_hint
from interpnet.decoding import Decoding
from interpnet.decoding.contrastive import DISTRACTORS
from interpnet.decoding.strategy import METHODS
from interpnet.errors import InterpnetError
from interpnet.training.rewards import RERANK_SCORES
from interpnet.workflows.explain import explain_run, split_accuracy, write_jsonl
from interpnet.workflows.run import Run


def add_decoding_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--decode",
        choices=METHODS,
        default=None,
        help="decoding method (default: greedy, the paper's; beam when --beam-width > 1); "
        "retrieve: the training reference of the predicted class the explainer finds most "
        "probable given r(x) (or, with --rerank, the reranker prefers)",
    )
    p.add_argument(
        "--beam-width",
        type=int,
        default=1,
        help="beams of beam / diverse-beam search; 1 = greedy decoding (default: 1)",
    )
    p.add_argument(
        "--max-length", type=int, default=30, help="longest explanation, in tokens (default: 30)"
    )
    p.add_argument(
        "--length-penalty",
        type=float,
        default=0.0,
        help="beam search: GNMT length-penalty exponent; 0 = none (default: 0)",
    )
    p.add_argument(
        "--groups", type=int, default=1, help="diverse-beam: groups of beams (default: 1)"
    )
    p.add_argument(
        "--diversity",
        type=float,
        default=0.0,
        help="diverse-beam: penalty for a word an earlier group chose at the same step "
        "(default: 0)",
    )
    p.add_argument(
        "--num-samples", type=int, default=1, help="sample: sentences per input (default: 1)"
    )
    p.add_argument(
        "--temperature", type=float, default=1.0, help="sample: temperature (default: 1)"
    )
    p.add_argument("--top-p", type=float, default=1.0, help="sample: nucleus mass (default: 1)")
    p.add_argument(
        "--rerank",
        choices=RERANK_SCORES,
        default=None,
        help="keep the candidate the run's reward models score best: the reward sentence "
        "classifier's probability of the predicted class (class), the retrieval model's of "
        "the own image among the batch's (retrieval) or among its training look-alikes of "
        "its predicted class (neighbours), or a sum (trained on the training references on "
        "first use)",
    )
    p.add_argument(
        "--rerank-weight",
        type=float,
        default=0.0,
        help="with --rerank: weight of the mean word log-probability (default: 0)",
    )
    p.add_argument("--decode-seed", type=int, default=0, help="sampling seed (default: 0)")
    p.add_argument(
        "--add-references",
        action="store_true",
        help="offer the training references of the predicted class as candidates too, "
        "beside the method's own (not with --decode retrieve, whose candidates they are)",
    )
    p.add_argument(
        "--no-repeat-ngram",
        type=int,
        default=3,
        metavar="N",
        help="never write a word that would repeat an N-word phrase of the same sentence "
        "(all methods but retrieve); 0 = off (default: 3)",
    )
    p.add_argument(
        "--contrast",
        type=float,
        default=0.5,
        help="contrastive: weight in [0, 1) of the distractor's log-probability, subtracted "
        "(default: 0.5)",
    )
    p.add_argument(
        "--plausibility",
        type=float,
        default=0.1,
        help="contrastive: only words at least this share of the likeliest word's "
        "probability (default: 0.1)",
    )
    p.add_argument(
        "--distractor",
        choices=DISTRACTORS,
        default="neighbour",
        help="contrastive: the batch's most similar other input (neighbour) or the mean of "
        "the others (mean), or, the same in any batch, the mean of the run's training images "
        "(train-mean), of those of the predicted class (class-mean) or of the most similar "
        "other class (rival) (default: neighbour)",
    )


def decoding_from_args(args: argparse.Namespace) -> Decoding:
    return Decoding(
        method=args.decode,
        beam_width=args.beam_width,
        max_length=args.max_length,
        alpha=args.length_penalty,
        groups=args.groups,
        diversity=args.diversity,
        num_samples=args.num_samples,
        temperature=args.temperature,
        top_p=args.top_p,
        rerank=args.rerank,
        rerank_weight=args.rerank_weight,
        seed=args.decode_seed,
        contrast=args.contrast,
        plausibility=args.plausibility,
        distractor=args.distractor,
        add_references=args.add_references,
        no_repeat_ngram=args.no_repeat_ngram,
    )


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
