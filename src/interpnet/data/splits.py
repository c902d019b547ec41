"""In-memory splits for training: inputs, labels and reference sentences.

A :class:`SplitData` is also a sequence of ``(input, label, sentences)`` items, the form the
:class:`~interpnet.training.Trainer` takes; :func:`as_split_data` turns any such sequence (a
list, a ``torch.utils.data.Dataset``) into one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from interpnet.data.cub import Example
from interpnet.data.images import ImagePreprocessing, to_float
from interpnet.data.layouts import Layout, open_layout, split_examples
from interpnet.devices import to_device
from interpnet.errors import DataError
from interpnet.text import tokenize


@dataclass
class SplitData:
    """One split held in memory. ``inputs`` are uint8 images (N, 3, S, S), turned into model
    inputs by ``preprocess`` (or scaled to [0, 1] without one), or float inputs used as given."""

    name: str
    inputs: torch.Tensor
    labels: torch.Tensor
    sentences: list[list[str]]  # raw reference sentences per example
    keys: list[str]  # image paths relative to the image folder (or item numbers)
    preprocess: ImagePreprocessing | None = None
    _tokens: list[list[list[str]]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, list[str]]:
        return self.batch(torch.tensor([i]))[0], int(self.labels[i]), self.sentences[i]

    def batch(self, index: torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
        """Model-ready inputs for the examples at ``index``."""
        x = to_device(self.inputs[index], device)
        if x.dtype == torch.float16:  # features kept in half precision (with a feature map)
            return x.float()
        if x.dtype != torch.uint8:
            return x
        return self.preprocess.to_input(x) if self.preprocess is not None else to_float(x)

    def tokens(self) -> list[list[list[str]]]:
        """The references tokenised, per example (computed once: building a model's vocabulary
        and training its explainer both read them)."""
        if self._tokens is None:
            self._tokens = [[tokenize(s) for s in sents] for sents in self.sentences]
        return self._tokens


def _sentences(value: Any, where: str) -> list[str]:
    sents = [value] if isinstance(value, str) else list(value)
    sents = [s.strip() for s in sents if isinstance(s, str) and s.strip()]
    if not sents:
        raise DataError(f"{where}: no reference sentence; each item needs at least one")
    return sents


def as_split_data(
    data: Sequence | SplitData, name: str = "data", progress: bool = False
) -> SplitData:
    """Any sequence of ``(input, label, sentences)`` items as a :class:`SplitData`.

    ``input`` is a tensor (or array) the classifier takes, one item without the batch
    dimension, used as given (as float32); ``label`` an int class index; ``sentences`` one
    reference string or a list of them. A ``torch.utils.data.Dataset`` with ``__len__`` works;
    it is read once into memory.
    """
    if isinstance(data, SplitData):
        return data
    try:
        n = len(data)
    except TypeError:
        raise DataError(
            f"{name} data must be a sized sequence of (input, label, sentences)"
        ) from None
    if n == 0:
        raise DataError(f"{name} data is empty")
    inputs, labels, sentences = [], [], []
    for i in tqdm(range(n), desc=f"reading {name} data", disable=not progress, leave=False):
        item = data[i]
        if not isinstance(item, tuple | list) or len(item) != 3:
            raise DataError(
                f"{name} data item {i}: expected (input, label, sentences), got "
                f"{type(item).__name__}"
                + (f" of length {len(item)}" if isinstance(item, tuple | list) else "")
            )
        x, label, sents = item
        inputs.append(torch.as_tensor(x, dtype=torch.float32))
        labels.append(int(label))
        sentences.append(_sentences(sents, f"{name} data item {i}"))
    shapes = {tuple(x.shape) for x in inputs}
    if len(shapes) != 1:
        raise DataError(f"{name} data: inputs differ in shape ({sorted(shapes)[:3]}); resize them")
    return SplitData(
        name, torch.stack(inputs), torch.tensor(labels), sentences, [str(i) for i in range(n)]
    )


def load_splits(
    layout: Layout | str | Path,
    names: tuple[str, ...],
    preprocess: ImagePreprocessing | int,
    skip_missing: bool = False,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> tuple[dict[str, SplitData], list[str]]:
    """Load splits of a data set (a layout, or a data root whose layout is detected) into
    memory as images. ``preprocess`` is an :class:`ImagePreprocessing` (or an image size).
    Returns the splits by name and the class names."""
    if isinstance(preprocess, int):
        preprocess = ImagePreprocessing(preprocess)
    if isinstance(layout, str | Path):
        layout = open_layout(layout)
    out = {}
    for name in names:
        examples = split_examples(layout, name, skip_missing, log)
        images = preprocess.load([e.image_path for e in examples], progress)
        out[name] = split_data(name, examples, images, preprocess)
    return out, layout.class_names


def split_data(
    name: str,
    examples: list[Example],
    inputs: torch.Tensor,
    preprocess: ImagePreprocessing | None = None,
) -> SplitData:
    """A SplitData from loaded examples and their inputs (images or features), in order."""
    labels = torch.tensor([e.label for e in examples], dtype=torch.long)
    return SplitData(
        name,
        inputs,
        labels,
        [e.sentences for e in examples],
        [e.rel_path for e in examples],
        preprocess,
    )
