"""Exceptions raised by interpnet for bad user input (shown as one line by the CLI)."""


class InterpnetError(Exception):
    """A user-facing error: the message names the file or value at fault and the fix."""


class DataError(InterpnetError):
    """A data set on disk is missing, incomplete or malformed."""


class DataRootNotFound(DataError):
    """A data root that is not a folder."""


class CheckpointError(InterpnetError):
    """A run directory or checkpoint is missing, corrupt or incompatible."""


class ConfigError(InterpnetError, ValueError):
    """An invalid option or model configuration (also a ``ValueError`` for library users)."""
