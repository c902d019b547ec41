"""``interpnet demo``: SynthBirds -> classifier -> explainer -> test explanations, end to end."""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from pathlib import Path

from interpnet.data.synthbirds import SynthBirdsConfig, generate_synthbirds
from interpnet.devices import resolve_device
from interpnet.rundir import RunDirectory
from interpnet.storage import write_json
from interpnet.training import TrainConfig
from interpnet.training.config import PRESETS
from interpnet.workflows.explain import explain_split, format_samples, split_accuracy, write_jsonl
from interpnet.workflows.run import Run
from interpnet.workflows.train import configured_trainer

# A small configuration that runs the whole demo in a few minutes on 2 CPU cores, with the
# paper's training recipe.
DEMO_DATA = SynthBirdsConfig(species=50, images_per_species=50)
DEMO_OVERRIDES = PRESETS["demo"]


def demo_config(data_root: str | Path, **overrides) -> TrainConfig:
    """The demo's training configuration: the paper's recipe, with a smaller model."""
    return TrainConfig.preset("demo", data_root=str(data_root), **overrides)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="generate SynthBirds, train InterpNET_2, explain the test split",
        description="The whole pipeline on the embedded default data: generate SynthBirds "
        f"({DEMO_DATA.species} species x {DEMO_DATA.images_per_species} images; reused when "
        "already there), train the CNN classifier and the InterpNET_2 explainer, decode the "
        "test split, print accuracy and 10 explanations next to their references, and write "
        "everything into a new run directory.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--workdir",
        default="interpnet-demo",
        help="folder for the generated data (synthbirds/) and runs (runs/)",
    )
    p.add_argument(
        "--variant",
        default="interpnet",
        choices=("interpnet", "captioning", "output-only", "gve-label"),
        help="conditioning variant to train",
    )
    p.add_argument("--seed", type=int, default=0, help="training seed")
    p.add_argument("--device", default="auto", help="'auto', 'cpu' or 'cuda'")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    start = time.time()
    progress = not args.quiet
    workdir = Path(args.workdir)
    resolve_device(args.device)  # a bad device is an error before any data is generated
    data_root = generate_synthbirds(workdir / "synthbirds", DEMO_DATA, progress=progress)
    cfg = demo_config(data_root, variant=args.variant, seed=args.seed, device=args.device)
    run_dir = workdir / "runs" / f"{args.variant}-{time.strftime('%Y%m%d-%H%M%S')}"
    args.interrupt_hint = f"resume with: interpnet train --resume {run_dir}"
    print(f"demo configuration (defaults except): {DEMO_OVERRIDES}")
    print(f"data: SynthBirds {asdict(DEMO_DATA)} in {data_root}")
    print(f"run directory: {run_dir}")
    model = configured_trainer(cfg, run_dir, progress=progress).fit()
    test = Run(run_dir, model=model, progress=progress).split("test")
    records = explain_split(model, test, progress=progress)
    write_jsonl(RunDirectory(run_dir).explanations("test"), records)
    accuracy = split_accuracy(records)
    elapsed = time.time() - start
    write_json(
        run_dir / "demo_summary.json",
        {
            "variant": model.conditioning.name,
            "test_accuracy": accuracy,
            "test_images": len(records),
            "wall_seconds": round(elapsed, 1),
        },
    )
    print("\n" + format_samples(records, n=10))
    print(
        f"\n{model.conditioning.name} on SynthBirds: test accuracy {accuracy:.4f} "
        f"({len(records)} images), {elapsed:.0f}s in all"
    )
    print(
        f"everything is in {run_dir}: weights, vocabulary, config, training log, "
        f"explanations/test.jsonl"
    )
    return 0
