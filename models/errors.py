"""Errors a user can act on.

Every layer raises these with a one-line message that names the file or the
service and the reason; ``desktop.messages`` turns anything else into a bug
report. The exit code travels with the error so the CLI needs no table.
"""

from __future__ import annotations

from pathlib import Path


class SightlineError(Exception):
    """A failure the user can understand; ``str(err)`` is the line they see."""

    exit_code = 1


class InputError(SightlineError):
    """Bad input from the user: a file we cannot read, a bad argument."""

    exit_code = 2

    @classmethod
    def for_file(cls, path: str | Path, reason: str) -> InputError:
        return cls(f"{path}: {reason}")


class ModelError(SightlineError):
    """No usable model: missing, invalid, unreachable or unable to do what was asked."""

    exit_code = 3

    @classmethod
    def for_file(cls, path: str | Path, reason: str) -> ModelError:
        return cls(f"{path}: {reason}")


class ServerBusyError(ModelError):
    """The server is up but has no room for this request now (429, 503, a full queue).

    Worth retrying later with fewer requests in flight; ``retry_after`` is
    the server's own word on when, if it gave one.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ContextOverflowError(InputError):
    """The conversation does not fit in the model's context window."""


class StorageError(SightlineError):
    """The history or a file could not be written (disk full, read-only)."""

    exit_code = 1
