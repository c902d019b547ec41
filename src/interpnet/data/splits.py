"""In-memory splits for training: inputs, labels and tokenized reference sentences."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from interpnet.data.cub import Example
from interpnet.data.images import load_images, to_float
from interpnet.data.layouts import open_layout, split_examples
from interpnet.text import tokenize


@dataclass
class SplitData:
    """One split held in memory. ``inputs`` are uint8 images (N, 3, S, S) or float features."""

    name: str
    inputs: torch.Tensor
    labels: torch.Tensor
    sentences: list[list[str]]  # raw reference sentences per example
    keys: list[str]  # image paths relative to the image folder

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def batch(self, index: torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
        """Model-ready inputs for the examples at ``index``."""
        x = self.inputs[index].to(device)
        return to_float(x) if x.dtype == torch.uint8 else x

    def tokens(self) -> list[list[list[str]]]:
        return [[tokenize(s) for s in sents] for sents in self.sentences]


def load_splits(
    root: str | Path,
    names: tuple[str, ...],
    image_size: int,
    splits: str = "auto",
    skip_missing: bool = False,
    progress: bool = True,
    dataset: str = "auto",
) -> tuple[dict[str, SplitData], list[str]]:
    """Load splits of a data root (CUB layout, SynthBirds or Oxford-102) into memory as images.

    Returns the splits by name and the class names.
    """
    layout = open_layout(root, dataset, splits)
    out = {}
    for name in names:
        examples = split_examples(layout, name, skip_missing)
        images = load_images([e.image_path for e in examples], image_size, progress)
        out[name] = split_data(name, examples, images)
    return out, layout.class_names


def split_data(name: str, examples: list[Example], inputs: torch.Tensor) -> SplitData:
    """A SplitData from loaded examples and their inputs (images or features), in order."""
    labels = torch.tensor([e.label for e in examples], dtype=torch.long)
    return SplitData(
        name, inputs, labels, [e.sentences for e in examples], [e.rel_path for e in examples]
    )
