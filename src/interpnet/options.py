"""Options written once: a dataclass field with its default, its help text and its choices
(:func:`option`), from which the CLI's flags and ``--help``, and config files, are generated
(as transformers' ``HfArgumentParser`` does from its dataclasses)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

MISSING: Any = dataclasses.MISSING


def option(
    default: Any = MISSING,
    *,
    help: str,  # noqa: A002 - the name argparse and HfArgumentParser use
    choices: Sequence[str] | None = None,
    factory: Callable[[], Any] | None = None,
    flag: str | None = None,
    metavar: str | None = None,
) -> Any:
    """A dataclass field: ``default`` (or ``factory`` for a list or dict), ``help`` (one
    sentence, as ``--help`` shows it; the default is appended unless the text gives it) and
    the ``choices`` a CLI flag accepts; ``flag``: the flag's name when it is not the field's
    (``--`` + the name with dashes), ``metavar`` its placeholder in ``--help``."""
    metadata = {
        "help": help,
        "choices": tuple(choices) if choices is not None else None,
        "flag": flag,
        "metavar": metavar,
    }
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def help_of(f: dataclasses.Field) -> str:
    """The help text of a field made with :func:`option` ("" for any other field)."""
    return f.metadata.get("help", "")


def choices_of(f: dataclasses.Field) -> tuple[str, ...] | None:
    return f.metadata.get("choices")


def flag_of(f: dataclasses.Field) -> str:
    """The CLI flag of a field: ``--`` and its ``flag`` name, or its name with dashes."""
    return "--" + (f.metadata.get("flag") or f.name.replace("_", "-"))
