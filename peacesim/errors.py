"""Errors that the command line reports as one clear line instead of a traceback."""

from __future__ import annotations

__all__ = ["InputError"]


class InputError(ValueError):
    """A user's input (scenario file, override, option) is not acceptable.

    The message is one line naming the file or option, the field, the value and what is allowed.
    """
