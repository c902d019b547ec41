"""The model a :class:`~interpnet.training.Trainer` trains, built from a classifier and data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from interpnet.data.splits import SplitData, as_split_data
from interpnet.model import Conditioning, ExplainerConfig, InterpNet
from interpnet.text import Vocabulary
from interpnet.training.args import TrainingArgs


def build_model(
    classifier: nn.Module,
    train_data: Sequence | SplitData,
    args: TrainingArgs | None = None,
    conditioning: Conditioning | None = None,
    explainer: ExplainerConfig | None = None,
    class_names: list[str] | None = None,
    input_spec: dict[str, Any] | None = None,
    vocab: Vocabulary | None = None,
) -> InterpNet:
    """An :class:`InterpNet` for ``classifier``: an explainer (``explainer``'s kind and sizes)
    reading the layers ``conditioning`` names (default InterpNET_2), over the vocabulary of
    ``train_data``'s references (the words seen at least ``args.min_count`` times; or
    ``vocab``), its initial weights drawn after seeding with ``args.seed``."""
    args = args or TrainingArgs()
    train = as_split_data(train_data, "train", progress=False)
    torch.manual_seed(args.seed)
    if vocab is None:
        vocab = Vocabulary.build((t for ts in train.tokens() for t in ts), args.min_count)
    sizes = (explainer or ExplainerConfig()).to_dict()
    kind, own = sizes.pop("kind"), sizes.pop("options")
    return InterpNet.build(
        classifier,
        vocab,
        conditioning or Conditioning("interpnet"),
        train.batch(torch.arange(min(2, len(train)))),
        class_names,
        input_spec,
        explainer=kind,
        **sizes,
        **own,
    )
