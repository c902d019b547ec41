"""``interpnet report``: one self-contained HTML file with the runs' metrics and explanations."""

from __future__ import annotations

import argparse

from interpnet.cli.hints import add_trust_flag, stored_data_root_hint
from interpnet.report.html import build_report


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write an HTML report: metrics, figures, a gallery with per-word attribution",
        description="Write one self-contained HTML file (no network needed) for runs evaluated "
        "or explained on a split of the same data: each run's summary and training curves, the "
        "metrics side by side with human agreement, figures, and a paged gallery of the split "
        "(image, prediction, truth, explanation, two references) in which the explanations of "
        "the first images and of the first misclassified ones show each word's attribution to "
        "the parts of r(x) (integrated gradients) and, for classifiers on pixels, a heat map "
        "per word (Grad-CAM). Paging works without JavaScript; filters and ordering need it.",
    )
    p.add_argument("run_dirs", metavar="RUN_DIR", nargs="+", help="evaluated run directories")
    p.add_argument(
        "--split",
        default="test",
        choices=("train", "val", "test"),
        help="split (default: test); each run needs RUN_DIR/explanations/<split>.jsonl",
    )
    p.add_argument(
        "--out",
        metavar="FILE.html",
        help="where to write it (default: RUN_DIR/report-<split>.html of the first run)",
    )
    p.add_argument("--data-root", help="data root (default: the one the first run was trained on)")
    p.add_argument(
        "--page-size", type=int, default=48, help="images per gallery page (default: 48)"
    )
    p.add_argument(
        "--attribute",
        type=int,
        default=48,
        metavar="N",
        help="attribute the explanations of the first N images and of the first N "
        "misclassified ones (default: 48, a page of each; 0: none)",
    )
    p.add_argument(
        "--steps",
        type=int,
        default=32,
        help="integration points of integrated gradients (default: 32)",
    )
    p.add_argument(
        "--heatmap-layer",
        metavar="NAME",
        default="auto",
        help="for classifiers on pixels: the convolutional layer of the per-word heat maps, as "
        "in named_modules() (default: auto, the last Conv2d; none: no heat maps)",
    )
    p.add_argument(
        "--thumb-size", type=int, default=96, help="thumbnail size in pixels (default: 96)"
    )
    p.add_argument(
        "--cache-dir",
        help="thumbnail cache (default: the user cache folder, "
        "$INTERPNET_CACHE or ~/.cache/interpnet)",
    )
    p.add_argument("--device", default="auto", help="'auto' (CUDA when available), 'cpu' or 'cuda'")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_trust_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.data_root:
        args.data_root_hint = stored_data_root_hint(args.run_dirs[0])
    build_report(
        args.run_dirs,
        args.out,
        args.split,
        args.data_root,
        page_size=args.page_size,
        attribute=args.attribute,
        thumb_size=args.thumb_size,
        n_steps=args.steps,
        heatmap_layer=None if args.heatmap_layer == "none" else args.heatmap_layer,
        cache_dir=args.cache_dir,
        progress=not args.quiet,
        device=args.device,
        trust_code=args.trust_code,
    )
    return 0
