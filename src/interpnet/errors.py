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


class UntrustedCodeError(CheckpointError):
    """A file someone else may have written names code to import and run (a
    ``package.module:factory`` classifier) and the caller has not consented to run it."""

    def __init__(self, source: str, target: str):
        self.source, self.target = str(source), target
        super().__init__(self.with_fix("trust_code=True"))

    def with_fix(self, fix: str) -> str:
        """The message, with ``fix`` as the way to consent (the CLI names its flag)."""
        module = self.target.partition(":")[0]
        return (
            f"{self.source} names the classifier factory {self.target!r}: building it imports "
            f"and runs {module!r}; nothing was imported. If you trust where this came from, "
            f"load it with {fix}"
        )
