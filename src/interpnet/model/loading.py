"""Load a user's classifier by name and remember how to rebuild it.

Three kinds of names:

- ``torchvision/<arch>``: a torchvision architecture (``torchvision.models.get_model``);
- ``timm/<name>``: a timm architecture (``timm.create_model(name, pretrained=False)``);
- ``package.module:factory``: any importable callable that returns an ``nn.Module`` (your own
  model code), called with the keyword arguments you give.

The first two build from their library's registry of known constructors and never download:
the weights come from a file you give (:mod:`interpnet.model.checkpoints`). The third imports
and runs code. The returned module carries ``interpnet_spec``, which an
:class:`~interpnet.InterpNet` saves in its config, so a run directory rebuilds the classifier
by itself; a run directory that names a factory is rebuilt only with the loader's consent
(``trust_code=True``, as transformers' ``trust_remote_code``): run directories are shared, and
opening one must not run code its author chose.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from typing import Any

from torch import nn

from interpnet.errors import ConfigError, UntrustedCodeError
from interpnet.libraries import check_registered, import_library
from interpnet.model.checkpoints import load_weights
from interpnet.rundir import RunDirectory
from interpnet.storage import read_json

SPEC_ATTR = "interpnet_spec"
LIBRARIES = ("torchvision", "timm")  # name prefixes built from a library's model registry
_SPEC_KEYS = {"torchvision": "arch", "timm": "name"}  # where an interpnet_spec keeps the name
# keyword arguments with which a known constructor reads a file or the network (weights,
# weights_backbone, pretrained, pretrained_backbone, pretrained_cfg_overlay, checkpoint_path,
# cache_dir, ...): refused, so a name (or a run directory's record of one) never downloads or
# unpickles anything
_LOADING_KWARGS = re.compile(
    r"weights|pretrain|checkpoint|cache|hub|url|download|file|_path$|_dir$|^progress$"
)


def library_of(name: str) -> str | None:
    """``"torchvision"`` or ``"timm"`` for a library model name, else ``None`` (a factory)."""
    prefix, sep, _ = name.partition("/")
    return prefix if sep and prefix in LIBRARIES else None


def runs_code(name: str) -> bool:
    """Whether building the classifier ``name`` imports and runs code of its author's choice
    (a ``package.module:factory``), rather than a library's known constructor."""
    return library_of(name) is None


def require_trust(name: str, trust_code: bool, source: str | Path) -> None:
    """Refuse to build ``name``, read from ``source`` (a file someone else may have written),
    when it runs code and the caller has not consented (``trust_code``)."""
    if runs_code(name) and not trust_code:
        raise UntrustedCodeError(str(source), name)


def _check_kwargs(name: str, kwargs: dict[str, Any]) -> None:
    refused = sorted(k for k in kwargs if _LOADING_KWARGS.search(k.lower()))
    if refused:
        raise ConfigError(
            f"classifier {name}: keyword argument(s) {refused} would load weights from the "
            "network or a file; interpnet builds the architecture alone: give the weights as a "
            "file instead"
        )


def _library_model(name: str, kwargs: dict[str, Any]) -> nn.Module:
    library, arch = name.split("/", 1)
    _check_kwargs(name, kwargs)
    module = import_library(library, f"classifier {name}")
    check_registered(library, module, arch)
    if library == "torchvision":
        return module.models.get_model(arch, weights=None, **kwargs)
    return module.create_model(arch, pretrained=False, **kwargs)


def _factory(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise ConfigError(
            f"classifier {target!r}: expected 'torchvision/<arch>', 'timm/<name>' or "
            "'package.module:factory'"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ConfigError(
            f"classifier {target!r}: cannot import {module_name!r} ({err}); is it installed or "
            "on PYTHONPATH?"
        ) from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"classifier {target!r}: {module_name!r} has no {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ConfigError(f"classifier {target!r}: {attr!r} is not callable")
    return obj


def accepts(factory: Any, name: str) -> bool:
    """Whether ``factory`` takes a keyword argument ``name``."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def check_classifier_name(name: str) -> None:
    """Raise the error :func:`load_classifier` would for a bad name, without building it."""
    library = library_of(name)
    if library is None:
        _factory(name)
    else:
        import_library(library, f"classifier {name}")


def factory_accepts(name: str, keyword: str) -> bool:
    """Whether the classifier ``name`` is built with a ``keyword`` argument (torchvision and
    timm models take ``num_classes``; a factory does if its signature says so)."""
    if library_of(name) is not None:
        return keyword == "num_classes"
    return accepts(_factory(name), keyword)


def _spec(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    library = library_of(name)
    if library is None:
        return {"type": "factory", "target": name, "kwargs": kwargs}
    return {"type": library, _SPEC_KEYS[library]: name.split("/", 1)[1], "kwargs": kwargs}


def load_classifier(name: str, weights: str | Path | None = None, **kwargs: Any) -> nn.Module:
    """Build the classifier ``name`` with ``kwargs`` and load ``weights`` into it, if given (a
    ``.safetensors``, ``.pt``, ``.pth`` or ``.bin`` file: see
    :mod:`interpnet.model.checkpoints`). The module remembers how it was built
    (``interpnet_spec``). A ``package.module:factory`` name imports and runs that code: name
    only code you trust."""
    model = _build(name, kwargs)
    if weights is not None:
        load_weights(model, weights)
    return model


def _build(name: str, kwargs: dict[str, Any]) -> nn.Module:
    if library_of(name) is not None:
        model = _library_model(name, kwargs)
    else:
        model = _factory(name)(**kwargs)
        if not isinstance(model, nn.Module):
            raise ConfigError(
                f"classifier {name!r} returned {type(model).__name__}, not a torch.nn.Module"
            )
    setattr(model, SPEC_ATTR, _spec(name, kwargs))
    return model


def spec_name(spec: dict[str, Any]) -> str:
    """The classifier name an ``interpnet_spec`` records (as :func:`load_classifier` takes)."""
    kind = spec.get("type")
    if kind in _SPEC_KEYS:
        return f"{kind}/{spec[_SPEC_KEYS[kind]]}"
    if kind == "factory":
        return str(spec["target"])
    raise ValueError(f"classifier type {kind!r} is not built by name")


def rebuild_classifier(
    spec: dict[str, Any], trust_code: bool = False, source: str | Path = "the model config"
) -> nn.Module:
    """The classifier described by an ``interpnet_spec`` read from ``source`` (weights are
    loaded separately). A factory is imported only with ``trust_code``."""
    name = spec_name(spec)
    kwargs = spec.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise ValueError(f"classifier kwargs must be an object, got {type(kwargs).__name__}")
    require_trust(name, trust_code, source)
    return _build(name, kwargs)


def check_run_trust(run_dir: str | Path, trust_code: bool) -> None:
    """Refuse a run directory whose model config (``interpnet.json``) or training config
    (``train_config.json``) names a ``package.module:factory`` classifier, unless
    ``trust_code``: checked before anything of the run is built. Reads JSON only."""
    run = RunDirectory(run_dir)
    if run.model_config.is_file():
        spec = _field(read_json(run.model_config, "model config"), "classifier")
        if isinstance(spec, dict) and spec.get("type") == "factory":
            require_trust(str(spec.get("target")), trust_code, run.model_config)
    if run.train_config.is_file():
        name = _field(read_json(run.train_config, "training config"), "classifier")
        if isinstance(name, str) and name:
            require_trust(name, trust_code, run.train_config)


def _field(config: Any, key: str) -> Any:
    return config.get(key) if isinstance(config, dict) else None
