"""The user cache folder: work interpnet can reuse across runs (report thumbnails, human
agreement), and one way to read or else compute a cached JSON value."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from interpnet.errors import WriteError
from interpnet.storage import write_json


def user_cache_dir(sub: str = "") -> Path:
    """``$INTERPNET_CACHE``, else ``$XDG_CACHE_HOME/interpnet``, else ``~/.cache/interpnet``;
    with ``sub``, that folder below it. Not created here."""
    root = os.environ.get("INTERPNET_CACHE")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = str(Path(xdg) / "interpnet")
    return Path(root) / sub if sub else Path(root)


def cached_json(
    path: Path,
    compute: Callable[[], Any],
    valid: Callable[[Any], bool],
    on_hit: Callable[[], None] | None = None,
) -> Any:
    """The JSON value cached at ``path`` when it is there and ``valid``, else ``compute()``,
    cached there. A damaged cache file is computed again; an unwritable cache only costs
    time."""
    if path.is_file():
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
            if valid(value):
                if on_hit is not None:
                    on_hit()
                return value
        except (ValueError, UnicodeDecodeError):
            pass
    value = compute()
    with contextlib.suppress(WriteError):  # a full disk or read-only cache: not cached
        write_json(path, value)
    return value
