"""Locating Java and the jars that ship inside the ``pycocoevalcap`` wheel."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from interpnet.errors import InterpnetError

JAVA_HINT = (
    "METEOR and the PTB tokenizer need Java 8 or newer: install it (Debian/Ubuntu: "
    "apt-get install default-jre-headless; macOS: brew install openjdk)"
)


class JavaUnavailable(InterpnetError):
    """Java or the caption toolkit is missing; the message says how to install it."""


def java_executable() -> str:
    java = shutil.which("java")
    if java is None:
        raise JavaUnavailable(f"java not found on PATH. {JAVA_HINT}")
    return java


def coco_toolkit_dir() -> Path:
    """The installed ``pycocoevalcap`` folder (a namespace package: no ``__init__``)."""
    spec = importlib.util.find_spec("pycocoevalcap")
    if spec is None or not spec.submodule_search_locations:
        raise JavaUnavailable(
            "the MS-COCO caption toolkit is not installed: "
            "pip install 'interpnet[eval]' (or pip install pycocoevalcap)"
        )
    return Path(list(spec.submodule_search_locations)[0])


def toolkit_file(relative: str) -> Path:
    path = coco_toolkit_dir() / relative
    if not path.is_file():
        raise JavaUnavailable(f"{path}: missing from the pycocoevalcap install; reinstall it")
    return path
