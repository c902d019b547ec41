"""torchvision and timm, the model libraries interpnet builds classifiers and backbones from by
name: imported with a one-line error when missing or broken, and names checked against their
registries (a name outside them could download weights or read files)."""

from __future__ import annotations

import importlib
from types import ModuleType

from interpnet.errors import ConfigError, InterpnetError


def import_library(library: str, needed_by: str) -> ModuleType:
    """``torchvision`` or ``timm``, for ``needed_by`` (e.g. "classifier timm/resnet18")."""
    try:
        return importlib.import_module(library)
    except Exception as err:  # noqa: BLE001 - a broken install fails in many ways
        raise InterpnetError(
            f"{needed_by} needs a working {library} ({type(err).__name__}: "
            f"{str(err)[:120]}); install torch, torchvision and timm together so that their "
            "versions match (pip install 'interpnet[vision]')"
        ) from None


def check_registered(library: str, module: ModuleType, arch: str) -> None:
    """Refuse ``arch`` unless ``library`` (the imported ``module``) registers it: for
    torchvision its classification models only (detection and segmentation builders download
    their backbone's ImageNet weights by default), for timm its model names (no ``hf-hub:`` or
    ``local-dir:`` sources, which load files)."""
    if library == "torchvision":
        if arch not in module.models.list_models(module=module.models):
            raise ConfigError(
                f"torchvision has no classification model {arch!r}; see "
                "torchvision.models.list_models(module=torchvision.models)"
            )
    elif ":" in arch or not module.is_model(arch):
        raise ConfigError(f"timm has no model {arch!r}; see timm.list_models()")
