"""Atomic, pickle-free storage: safetensors for tensors, JSON for everything else."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from interpnet.errors import CheckpointError, WriteError


def _file_mode() -> int:
    """The mode of an ordinary new file: 0o666 less the process umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextmanager
def writing(path: str | Path) -> Iterator[None]:
    """Turn an ``OSError`` raised in the block (a full disk, a read-only file system, no
    permission) into a one-line :class:`WriteError` naming ``path``, the cause and the fix.
    Every writer of interpnet writes inside one."""
    try:
        yield
    except WriteError:
        raise
    except OSError as err:
        raise WriteError.of(path, err) from err


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file + rename, so a crash or a full disk never
    leaves a half-written file in place of a good one (a failed write raises
    :class:`WriteError` and leaves ``path`` as it was). The file gets the permissions of any
    file the user writes (the umask), not the temporary file's private 0600."""
    path = Path(path)
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
                os.fchmod(f.fileno(), _file_mode())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def write_json(path: str | Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode())


def read_json(path: str | Path, what: str = "file") -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path}: {what} not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path}: corrupt {what} ({err}); restore or recreate it") from None


def save_tensors(
    path: str | Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None
) -> None:
    """Save tensors (and string ``metadata``) as safetensors, atomically (copies, so shared
    storage is fine)."""
    clean = {k: v.detach().cpu().clone().contiguous() for k, v in tensors.items()}
    atomic_write_bytes(path, st_save(clean, metadata))


def tensor_metadata(path: str | Path) -> dict[str, str] | None:
    """The metadata of a safetensors file (its header only is read), or None when the file is
    missing or unreadable."""
    try:
        with safe_open(str(path), framework="pt") as f:
            return f.metadata()
    except (SafetensorError, OSError, ValueError):
        return None


def load_tensors(path: str | Path, what: str = "weights") -> dict[str, torch.Tensor]:
    path = Path(path)
    try:
        return st_load(path.read_bytes())
    except FileNotFoundError:
        raise CheckpointError(f"{path}: {what} not found") from None
    except (SafetensorError, ValueError, RuntimeError) as err:
        raise CheckpointError(
            f"{path}: corrupt {what} ({err}); retrain or restore the file"
        ) from None


# torch.load(weights_only=True) is a restricted unpickler from torch 2.6 on; before, a crafted
# file could run code through it (CVE-2025-32434)
SAFE_TORCH_LOAD = (2, 6)


def load_torch_file(path: str | Path, what: str = "weights") -> Any:
    """The content of a ``torch.save`` file, read with ``torch.load(weights_only=True)``: tensors
    and plain containers (and ``argparse.Namespace``, which training scripts save beside the
    weights), never any other object, so the file cannot run code. Raises
    :class:`CheckpointError` naming ``path`` for a file it refuses or cannot read."""
    import argparse
    import pickle
    import re

    path = Path(path)
    if torch.torch_version.TorchVersion(torch.__version__) < SAFE_TORCH_LOAD:
        raise CheckpointError(
            f"{path}: torch {torch.__version__} cannot read {what} saved with torch.save without "
            "risk of running code; upgrade torch to 2.6 or later, or convert the file to "
            ".safetensors"
        )
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: {what} not found") from None
    except pickle.UnpicklingError as err:
        found = re.search(r"(?:GLOBAL|Unsupported class) ([\w.]+)", str(err))
        if found is None:  # not an object the restricted loader refused: a broken file
            raise CheckpointError(
                f"{path}: not a readable torch.save file (cannot unpickle it); check the file"
            ) from None
        raise CheckpointError(
            f"{path}: holds pickled Python objects ({found.group(1)}), not only tensors; "
            "interpnet reads checkpoints without running pickled code: save the weights alone "
            "with torch.save(model.state_dict(), path)"
        ) from None
    except Exception as err:  # noqa: BLE001 - a truncated or foreign file fails in many ways
        if "TorchScript" in str(err):
            raise CheckpointError(
                f"{path}: a TorchScript archive, not a state dict; save the weights with "
                "torch.save(model.state_dict(), path)"
            ) from None
        first = str(err).splitlines()[0][:160] if str(err) else type(err).__name__
        raise CheckpointError(f"{path}: not a readable torch.save file ({first})") from None
