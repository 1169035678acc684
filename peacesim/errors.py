"""Errors that the command line reports as one clear line instead of a traceback."""

from __future__ import annotations

__all__ = ["InputError", "StorageError", "ResultsWarning", "InputNote"]


class InputError(ValueError):
    """A user's input (scenario file, override, option) is not acceptable.

    The message is one line naming the file or option, the field, the value and what is allowed.
    """


class StorageError(OSError):
    """The file system refused a read or a write (read-only, no space, permission, a file where a
    folder should be), or another peacesim process is using the results folder.

    The message is one line naming the path and the cause; nothing is left half-written.
    ``errno`` is the operating system's error number when there is one. ``advised``: the message
    already says what to do (a folder in use, a lock file that is a link), so a command adds no
    advice of its own to it.
    """

    def __init__(self, message: str, errno: int | None = None, *, advised: bool = False):
        super().__init__(message)
        self.errno = errno
        self.advised = advised

    def __str__(self) -> str:
        return str(self.args[0])


class ResultsWarning(RuntimeWarning):
    """Something in a results folder was repaired (a damaged part set aside to be run again)."""


class InputNote(UserWarning):
    """The input was read, but perhaps not as meant (a shipped file's short name chosen over a file
    of that name in the current folder)."""
