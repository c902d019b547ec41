"""The user cache folder: work interpnet can reuse across runs (e.g. report thumbnails)."""

from __future__ import annotations

import os
from pathlib import Path


def user_cache_dir(sub: str = "") -> Path:
    """``$INTERPNET_CACHE``, else ``$XDG_CACHE_HOME/interpnet``, else ``~/.cache/interpnet``;
    with ``sub``, that folder below it. Not created here."""
    root = os.environ.get("INTERPNET_CACHE")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = str(Path(xdg) / "interpnet")
    return Path(root) / sub if sub else Path(root)
