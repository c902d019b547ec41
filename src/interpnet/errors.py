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


class WriteError(InterpnetError, OSError):
    """Writing a file failed: a full disk, a read-only file system, no permission. Also an
    ``OSError`` (with the cause's ``errno``) for library users."""

    CAUSES = {  # errno name: (the cause in words, the fix)
        "ENOSPC": ("no space left on device", "free space or write elsewhere"),
        "EDQUOT": ("no space left on device", "free space or write elsewhere"),
        "EROFS": ("read-only file system", "write elsewhere"),
        "EACCES": ("permission denied", "make it writable or write elsewhere"),
        "EPERM": ("permission denied", "make it writable or write elsewhere"),
    }

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.errno = code

    def __str__(self) -> str:
        return str(self.args[0])

    @classmethod
    def of(cls, path: object, err: OSError) -> "WriteError":
        """The error of writing ``path`` that failed with ``err``: its path, cause and fix."""
        import errno as codes

        name = codes.errorcode.get(err.errno or 0, "")
        cause, fix = cls.CAUSES.get(name, (None, "check the path or write elsewhere"))
        cause = cause or (err.strerror or str(err) or type(err).__name__).lower()
        where = f"{path}: " if path is not None else ""
        return cls(f"{where}cannot write ({cause}); {fix}", err.errno)
