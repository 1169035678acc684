"""Text in peacesim's figures is drawn as written.

Names and titles come from users' files (a party called "the $$ group", a strategy titled "a $5m
fund for $2m a year"), and matplotlib reads text between two ``$`` as mathematical notation: it
drew such a name in italics without its spaces, or failed on it with a traceback after the whole
run. Figures made inside :func:`as_written` take their text literally (matplotlib's
``text.parse_math``, read when each text is made), and the setting is put back afterwards, so a
notebook's own figures keep their notation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)


def as_written(fn: F) -> F:
    """``fn`` with the text it puts in figures taken literally (no mathematical notation)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context({"text.parse_math": False}):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
