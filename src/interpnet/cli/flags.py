"""What a flag generated from an option's declaration takes: its type, read from the
dataclass annotation (``int | None`` takes an int; a list takes several values; a dict takes
NAME=WEIGHT pairs)."""

from __future__ import annotations

import argparse
import types
import typing


def flag_type(cls: type, name: str) -> tuple[type | typing.Callable, bool]:
    """(element type, is a list) of field ``name`` of the dataclass ``cls``."""
    hint = typing.get_type_hints(cls)[name]
    if typing.get_origin(hint) is dict:
        return weight_pair, True
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) is list:
        return args[0], True
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return args[0], False
    return hint, False


def weight_pair(text: str) -> tuple[str, float]:
    """NAME=WEIGHT, e.g. class-predicted=1.0."""
    name, sep, weight = text.partition("=")
    try:
        if not sep:
            raise ValueError
        return name, float(weight)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected NAME=WEIGHT, got {text!r}") from None
