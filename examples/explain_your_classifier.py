"""Explain a classifier you already have.

1. Train your own CNN (nested modules, BatchNorm, a residual block) on SynthBirds in plain
   PyTorch, and save its weights as safetensors: nothing of interpnet but the data loader.
2. Load it back, keep it frozen, and train an interpnet explainer that reads two of its inner
   layers by name (plus its softmax).
3. Explain test images, and evaluate the explanations.

    python examples/explain_your_classifier.py --out runs/your-classifier

The SynthBirds data is generated into --data if it is not there (as `interpnet demo` does).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.utils.data import DataLoader, Dataset

import interpnet
from interpnet.data.images import ImagePreprocessing
from interpnet.data.layouts import open_layout
from interpnet.data.synthbirds import SynthBirdsConfig, generate_synthbirds
from interpnet.workflows.evaluate import evaluate_run


# ---- 1. your model, in plain PyTorch -----------------------------------------------------
class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


class BirdNet(nn.Module):
    def __init__(self, num_classes: int, width: int = 32):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.stage1 = nn.Sequential(ResidualBlock(width), nn.MaxPool2d(2))
        self.stage2 = nn.Sequential(
            nn.Conv2d(width, 2 * width, 3, padding=1, bias=False),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(),
            ResidualBlock(2 * width),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Sequential(
            nn.Linear(2 * width, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stage2(self.stage1(self.stem(x))))


class Birds(Dataset):
    """(image tensor, label, descriptions) items of one split: the form interpnet takes."""

    def __init__(self, root: Path, split: str, preprocess: ImagePreprocessing):
        self.examples = open_layout(root).split(split)
        self.images = preprocess.load([e.image_path for e in self.examples])
        self.preprocess = preprocess

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int):
        x = self.preprocess.to_input(self.images[i : i + 1])[0]
        return x, self.examples[i].label, self.examples[i].sentences


def train_classifier(model: nn.Module, train: Dataset, val: Dataset, epochs: int) -> float:
    """An ordinary PyTorch training loop; returns the validation accuracy."""
    loader = DataLoader(train, batch_size=32, shuffle=True, collate_fn=_collate)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    for epoch in range(epochs):
        model.train()
        for x, y, _ in loader:
            x = torch.where(torch.rand(len(x), 1, 1, 1) < 0.5, x.flip(-1), x)
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(f"classifier epoch {epoch + 1}/{epochs}: val accuracy {accuracy(model, val):.3f}")
    return accuracy(model, val)


@torch.no_grad()
def accuracy(model: nn.Module, data: Dataset) -> float:
    model.eval()
    x, y, _ = _collate([data[i] for i in range(len(data))])
    return float((model(x).argmax(1) == y).float().mean())


def _collate(items):
    xs, ys, sents = zip(*items, strict=True)
    return torch.stack(xs), torch.tensor(ys), list(sents)


# ---- 2. and 3. interpnet ------------------------------------------------------------------
def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="interpnet-demo/synthbirds", help="SynthBirds folder")
    p.add_argument("--out", default="runs/your-classifier", help="run directory to create")
    p.add_argument("--species", type=int, default=50)
    p.add_argument("--images-per-species", type=int, default=50)
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--width", type=int, default=32, help="your CNN's width")
    p.add_argument("--classifier-epochs", type=int, default=25)
    p.add_argument("--explainer-epochs", type=int, default=12)
    p.add_argument("--hidden-dim", type=int, default=256, help="explainer LSTM size")
    p.add_argument("--no-java", action="store_true", help="evaluate without METEOR/PTB")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    start = time.time()
    torch.manual_seed(0)
    data = Path(args.data)
    if not (data / "CUB_200_2011").is_dir():
        generate_synthbirds(
            data,
            SynthBirdsConfig(
                species=args.species,
                images_per_species=args.images_per_species,
                image_size=args.image_size,
            ),
            progress=not args.quiet,
        )
    preprocess = ImagePreprocessing(args.image_size)
    train, val = Birds(data, "train", preprocess), Birds(data, "val", preprocess)
    class_names = open_layout(data).class_names

    # 1. your classifier, trained and saved without interpnet
    net = BirdNet(len(class_names), args.width)
    val_acc = train_classifier(net, train, val, args.classifier_epochs)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    weights = out.parent / f"{out.name}-birdnet.safetensors"
    save_file(net.state_dict(), weights)

    # 2. an explainer for the frozen classifier, reading two inner layers by name
    net = BirdNet(len(class_names), args.width)
    net.load_state_dict(load_file(weights))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    conditioning = interpnet.Conditioning(
        "custom", layers=["stage2.3", "head.1"], include_softmax=True
    )
    model = interpnet.fit(
        net,
        train,
        val,
        out,
        conditioning=conditioning,
        class_names=class_names,
        input_spec={"kind": "image", "preprocessing": preprocess.to_dict()},
        explainer_epochs=args.explainer_epochs,
        explainer_batch_size=64,
        hidden_dim=args.hidden_dim,
        fusion_dim=args.hidden_dim,
        embed_dim=args.hidden_dim // 2,
        patience=3,
        progress=not args.quiet,
    )
    frozen = all(torch.equal(before[k], v) for k, v in net.state_dict().items())

    # 3. explain test images (files, preprocessed as the run records), then evaluate
    test = open_layout(data).split("test")
    for record in interpnet.explain_files(model, [e.image_path for e in test[:: len(test) // 5]]):
        print(
            f"{Path(record['key']).name}: {record['class_name']} "
            f"(p={record['probability']:.2f}): {record['explanation']}"
        )
    metrics = evaluate_run(
        out, data_root=str(data), model=model, use_java=not args.no_java, progress=not args.quiet
    )
    summary = {
        "classifier_val_accuracy": val_acc,
        "classifier_frozen": frozen,
        "test_accuracy": metrics["accuracy"],
        "fidelity": metrics["explanations"]["fidelity"],
        "std_CIDEr-D": metrics["explanations"]["standard"]["CIDEr-D"],
        "seconds": round(time.time() - start, 1),
    }
    print(summary)
    return summary


if __name__ == "__main__":
    main()
