"""Human agreement depends only on a split's references: computed once, then cached.

The cache file's name is a hash of everything the numbers depend on: the references (in
order), the tokenizer, whether METEOR ran, the version of interpnet's metric code
(:data:`METRICS_VERSION`, raised whenever a caption metric changes) and of pycocoevalcap.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from interpnet.cache import cached_json, user_cache_dir
from interpnet.metrics.captions import Tokenizer, human_agreement
from interpnet.metrics.meteor import Meteor

METRICS_VERSION = 1


def _toolkit_version() -> str:
    try:
        return metadata.version("pycocoevalcap")
    except metadata.PackageNotFoundError:
        return "none"


def human_agreement_key(refs: list[list[str]], tokenizer_name: str, meteor: bool) -> str:
    blob = json.dumps([METRICS_VERSION, _toolkit_version(), tokenizer_name, meteor, refs])
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]


def cached_human_agreement(
    refs: list[list[str]],
    meteor: Meteor | None,
    tokenizer: Tokenizer,
    tokenizer_name: str,
    folder: str | Path | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """:func:`~interpnet.metrics.captions.human_agreement`, read from ``folder`` (default: the
    user cache folder's ``human-agreement/``) when it was computed before for the same
    references and metric versions, else computed and cached."""
    folder = Path(folder) if folder is not None else user_cache_dir("human-agreement")
    path = folder / f"{human_agreement_key(refs, tokenizer_name, meteor is not None)}.json"
    return cached_json(
        path,
        lambda: human_agreement(refs, meteor, tokenizer),
        lambda v: isinstance(v, dict) and {"standard", "paper"} <= set(v),
        lambda: log(f"human agreement read from the cache ({path})"),
    )
