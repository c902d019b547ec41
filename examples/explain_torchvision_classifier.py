"""Explain a torchvision classifier you trained yourself.

1. Train a torchvision ResNet-18 on an image folder in plain PyTorch (torchvision's
   ImageFolder and transforms; no interpnet) and save it the usual way:
   ``torch.save(model.state_dict(), "resnet18-birds.pth")``.
2. From the command line: train an explainer for the frozen ResNet that reads ``layer3`` and
   ``layer4`` (and its softmax), explain images, evaluate, and write the HTML report.
3. From Python: load the run, and explain images and a batch of tensors.

    pip install -e ".[vision]"        # torch, torchvision and timm, versions that match
    python examples/explain_torchvision_classifier.py --out runs/resnet18-birds

The SynthBirds data is generated into --data if it is not there (as `interpnet demo` does). The
ResNet starts from random weights (nothing is downloaded); start from ImageNet weights already on
your disk with ``model.load_state_dict(torch.load(path, weights_only=True))`` to do better.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torchvision
from torch import nn
from torch.utils.data import DataLoader, Subset
from torchvision import transforms

import interpnet
from interpnet.cli.main import main as interpnet_cli
from interpnet.data.layouts import open_layout
from interpnet.data.synthbirds import SynthBirdsConfig, generate_synthbirds

IMAGENET = dict(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))


# ---- 1. your classifier, in plain PyTorch and torchvision --------------------------------
def image_folder(data: Path, split: str, size: int, train: bool) -> Subset:
    """The ``split`` images of the data's image folder (class = sub-folder), as tensors."""
    steps = [transforms.Resize(256 * size // 224), transforms.CenterCrop(size)]
    steps += [transforms.RandomHorizontalFlip()] if train else []
    steps += [transforms.ToTensor(), transforms.Normalize(**IMAGENET)]
    folder = torchvision.datasets.ImageFolder(
        data / "CUB_200_2011" / "images", transforms.Compose(steps)
    )
    chosen = {str(e.image_path) for e in open_layout(data).split(split)}
    return Subset(folder, [i for i, (path, _) in enumerate(folder.samples) if path in chosen])


def train_resnet(data: Path, size: int, epochs: int, num_classes: int) -> nn.Module:
    model = torchvision.models.resnet18(weights=None, num_classes=num_classes)
    loader = DataLoader(image_folder(data, "train", size, True), batch_size=32, shuffle=True)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    val = DataLoader(image_folder(data, "val", size, False), batch_size=64)
    for epoch in range(epochs):
        model.train()
        for x, y in loader:
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            right = sum(int((model(x).argmax(1) == y).sum()) for x, y in val)
        print(f"resnet18 epoch {epoch + 1}/{epochs}: val accuracy {right / len(val.dataset):.3f}")
    return model


# ---- 2. and 3. interpnet ------------------------------------------------------------------
def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="interpnet-demo/synthbirds", help="SynthBirds folder")
    p.add_argument("--out", default="runs/resnet18-birds", help="run directory to create")
    p.add_argument("--image-size", type=int, default=96, help="the ResNet's input size")
    p.add_argument("--classifier-epochs", type=int, default=4)
    p.add_argument("--explainer-epochs", type=int, default=8)
    p.add_argument("--hidden-dim", type=int, default=256, help="explainer LSTM size")
    p.add_argument("--attribute", type=int, default=8, help="report: images with attribution")
    p.add_argument("--no-java", action="store_true", help="evaluate without METEOR/PTB")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    start = time.time()
    torch.manual_seed(0)
    data, out = Path(args.data), Path(args.out)
    if not (data / "CUB_200_2011").is_dir():
        generate_synthbirds(data, SynthBirdsConfig(), progress=not args.quiet)
    layout = open_layout(data)
    classes = layout.class_names
    folder_classes = image_folder(data, "train", args.image_size, False).dataset.classes
    assert folder_classes == classes, "ImageFolder's class order must be the data set's"

    # 1. train and save as users do
    resnet = train_resnet(data, args.image_size, args.classifier_epochs, len(classes))
    out.parent.mkdir(parents=True, exist_ok=True)
    weights = out.parent / f"{out.name}-resnet18.pth"
    torch.save(resnet.state_dict(), weights)

    # 2. the command line: explainer for the frozen ResNet, explain, evaluate, report
    quiet = ["--quiet"] if args.quiet else []
    h = args.hidden_dim
    commands = [
        ["train", "--data-root", str(data), "--out", str(out), "--classifier",
         "torchvision/resnet18", "--classifier-weights", str(weights), "--freeze-classifier",
         "--variant", "custom", "--layers", "layer3", "layer4", "--include-softmax",
         "--image-size", str(args.image_size), "--explainer-epochs", str(args.explainer_epochs),
         "--hidden-dim", str(h), "--fusion-dim", str(h), "--embed-dim", str(h // 2), *quiet],
        ["evaluate", str(out), "--no-human", *(["--no-java"] if args.no_java else []), *quiet],
        ["report", str(out), "--attribute", str(args.attribute), *quiet],
    ]  # fmt: skip
    for command in commands:
        print("$ interpnet " + " ".join(command))
        if interpnet_cli(command) != 0:
            raise SystemExit(f"interpnet {command[0]} failed")

    # 3. Python: the run rebuilds the torchvision model and loads its weights by itself
    model = interpnet.InterpNet.from_pretrained(out)
    test = layout.split("test")
    paths = [e.image_path for e in test[:: max(1, len(test) // 5)]]
    for record in interpnet.explain_files(model, paths, progress=False):
        print(
            f"{Path(record['key']).name}: {record['class_name']} "
            f"(p={record['probability']:.2f}): {record['explanation']}"
        )
    frozen = torch.load(weights, weights_only=True)
    same = all(torch.equal(v, model.classifier.state_dict()[k]) for k, v in frozen.items())
    metrics = interpnet.RunDirectory(out).read_metrics("test")
    summary = {
        "classifier_frozen": same,
        "test_accuracy": metrics["accuracy"],
        "fidelity": metrics["explanations"]["fidelity"],
        "distinct_share": metrics["explanations"]["specificity"]["distinct_share"],
        "report": str(out / "report-test.html"),
        "seconds": round(time.time() - start, 1),
    }
    print(summary)
    return summary


if __name__ == "__main__":
    main()
