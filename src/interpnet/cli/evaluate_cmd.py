"""``interpnet evaluate``: caption metrics (both protocols), human agreement and faithfulness."""

from __future__ import annotations

import argparse

from interpnet.cli.explain_cmd import add_decoding_flags, decoding_from_args
from interpnet.cli.hints import add_trust_flag, stored_data_root_hint
from interpnet.report.table import evaluation_table
from interpnet.workflows.evaluate import evaluate_run, metrics_path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score explanations: caption metrics, human agreement, faithfulness",
        description="Decode a split (or read --explanations) and write metrics.json: the "
        "MS-COCO toolkit's metrics (standard protocol: PTB tokens, BLEU-1..4, corpus METEOR "
        "1.5, ROUGE-L, CIDEr-D), the InterpNET paper's protocol (mean sentence METEOR, BLEU-4 "
        "with punctuation, plain CIDEr), human agreement (each reference against the other "
        "nine), classification accuracy, specificity (distinct share, copies of training "
        "references, distinct-n), and, judged by models trained on the validation references "
        "(a sentence classifier; an image-text retrieval model on pretrained backbone "
        "features): class relevance, introspection fidelity, self-retrieval among 100 images "
        "and the counterfactual move rate; on SynthBirds attribute precision/recall; for "
        "classifiers on pixels, the intervention test and grounding of per-word maps. METEOR "
        "and the PTB tokenizer need Java.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="run directory to evaluate")
    p.add_argument(
        "--split",
        default="test",
        choices=("train", "val", "test"),
        help="split to evaluate (default: test)",
    )
    p.add_argument("--data-root", help="data root (default: the one the run was trained on)")
    p.add_argument(
        "--explanations",
        metavar="FILE.jsonl",
        help="score these explanations (lines with key, label, explanation) instead of decoding",
    )
    p.add_argument(
        "--no-human", action="store_true", help="skip human agreement (the slowest part)"
    )
    p.add_argument(
        "--no-lookup",
        action="store_true",
        help="skip the lookup-table reference point (each predicted class answered by its most "
        "central training reference, scored like the explanations)",
    )
    p.add_argument(
        "--no-java",
        action="store_true",
        help="do not start Java: no METEOR, Python tokenizer (not comparable)",
    )
    p.add_argument(
        "--judge-features",
        metavar="DIR",
        help="feature-cache folder for the judges' backbone features, to share among runs "
        "of one data set (default: the run's feature cache when it used the judges' backbone, "
        "else RUN_DIR/scorers/features)",
    )
    p.add_argument(
        "--no-retrieval",
        action="store_true",
        help="skip self-retrieval (it extracts backbone features of the images once)",
    )
    p.add_argument(
        "--evidence-images",
        type=int,
        default=200,
        metavar="N",
        help="for a classifier on pixels: check the per-word maps (attention, integrated "
        "gradients, Grad-CAM) on N images spread over the split: the intervention test "
        "(remove the cells the words point at, and as many random cells: how much the "
        "decision weakens) and, on data with part annotations (SynthBirds; CUB with "
        "parts/part_locs.txt), grounding (do the words that name a part point at it?); "
        "0: skip (default: 200)",
    )
    p.add_argument("--device", default="auto", help="'auto' (CUDA when available), 'cpu' or 'cuda'")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_trust_flag(p)
    add_decoding_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.data_root:
        args.data_root_hint = stored_data_root_hint(args.run_dir)
    metrics = evaluate_run(
        args.run_dir,
        args.split,
        args.data_root,
        args.explanations,
        trust_code=args.trust_code,
        human=not args.no_human,
        use_java=not args.no_java,
        progress=not args.quiet,
        decoding=decoding_from_args(args),
        retrieval=not args.no_retrieval,
        lookup=not args.no_lookup,
        judge_cache=args.judge_features,
        device=args.device,
        evidence_images=args.evidence_images,
    )
    print(evaluation_table(metrics))
    print(f"\nwrote {metrics_path(args.run_dir, args.split)} ({metrics['seconds']}s)")
    return 0
