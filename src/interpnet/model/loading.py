"""Load a user's classifier by name and remember how to rebuild it.

Two kinds of names:

- ``torchvision/<arch>``: a torchvision architecture (``torchvision.models.get_model``), built
  without downloading anything; its weights come from a file you give.
- ``package.module:factory``: any importable callable that returns an ``nn.Module`` (your own
  model code), called with the keyword arguments you give.

The returned module carries ``interpnet_spec``, which an :class:`~interpnet.InterpNet` saves in
its config, so a run directory rebuilds the classifier by itself (its weights are in the run's
``model.safetensors``). A factory must still be importable where the run is loaded.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

from torch import nn

from interpnet.errors import CheckpointError, ConfigError, InterpnetError
from interpnet.storage import load_tensors

SPEC_ATTR = "interpnet_spec"


def _torchvision_model(arch: str, kwargs: dict[str, Any]) -> nn.Module:
    check_classifier_name(f"torchvision/{arch}")
    import torchvision

    try:
        return torchvision.models.get_model(arch, weights=None, **kwargs)
    except ValueError as err:
        raise ConfigError(f"torchvision has no model {arch!r} ({err})") from None


def _factory(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise ConfigError(
            f"classifier {target!r}: expected 'torchvision/<arch>' or 'package.module:factory'"
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
    if name.startswith("torchvision/"):
        try:
            import torchvision  # noqa: F401
        except Exception as err:  # noqa: BLE001 - a broken install fails in many ways
            raise InterpnetError(
                f"classifier {name} needs a working torchvision ({type(err).__name__}: "
                f"{str(err)[:120]}); install the torchvision release that matches your torch"
            ) from None
    else:
        _factory(name)


def factory_accepts(name: str, keyword: str) -> bool:
    """Whether the classifier ``name`` is built with a ``keyword`` argument (torchvision models
    take ``num_classes``; a factory does if its signature says so)."""
    if name.startswith("torchvision/"):
        return keyword == "num_classes"
    return accepts(_factory(name), keyword)


def load_classifier(name: str, weights: str | Path | None = None, **kwargs: Any) -> nn.Module:
    """Build the classifier ``name`` with ``kwargs`` and load ``weights`` (a ``.safetensors``
    state dict) into it, if given. The module remembers how it was built (``interpnet_spec``).
    """
    if name.startswith("torchvision/"):
        spec = {"type": "torchvision", "arch": name.split("/", 1)[1], "kwargs": kwargs}
        model = _torchvision_model(spec["arch"], kwargs)
    else:
        spec = {"type": "factory", "target": name, "kwargs": kwargs}
        model = _factory(name)(**kwargs)
        if not isinstance(model, nn.Module):
            raise ConfigError(
                f"classifier {name!r} returned {type(model).__name__}, not a torch.nn.Module"
            )
    if weights is not None:
        load_weights(model, weights)
    setattr(model, SPEC_ATTR, spec)
    return model


def load_weights(model: nn.Module, path: str | Path) -> None:
    """Load a safetensors state dict into ``model`` (all keys must match)."""
    path = Path(path)
    if path.suffix != ".safetensors":
        raise CheckpointError(
            f"{path}: classifier weights must be a .safetensors file (interpnet never "
            "unpickles); convert with safetensors.torch.save_file(model.state_dict(), ...)"
        )
    state = load_tensors(path, "classifier weights")
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        first = str(err).splitlines()[1:2] or [str(err)[:200]]
        raise CheckpointError(
            f"{path}: weights do not fit the classifier ({first[0].strip()})"
        ) from None


def rebuild_classifier(spec: dict[str, Any]) -> nn.Module:
    """The classifier described by an ``interpnet_spec`` (weights are loaded separately)."""
    if spec["type"] == "torchvision":
        return load_classifier(f"torchvision/{spec['arch']}", **spec.get("kwargs", {}))
    return load_classifier(spec["target"], **spec.get("kwargs", {}))
