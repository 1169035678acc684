"""Values in messages, written as the user typed them: TOML words, cut to a readable length.

Error messages quote the bad value. Python's ``repr`` would write ``True``, ``None`` or
``datetime.date(2024, 1, 1)``, which is not what anybody typed in a TOML file; and a value of a
hundred kilobytes would bury the message. :func:`words` writes ``true``, ``2024-01-01``,
``'text'``, ``[1, 2]`` and ``{ a = 1 }`` instead, and cuts long values.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from typing import Any

__all__ = ["words", "cut", "counted", "times", "checked", "unseen", "control", "LIMIT", "INVISIBLE", "REORDERING"]

#: Longest quoted value in a message, in characters.
LIMIT = 60

_NUMBER = re.compile(r"[+-]?(\d[\d_]*(\.\d*)?([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|nan)", re.I)
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def counted(n: int, word: str, plural: str | None = None, *, zero: str | None = None) -> str:
    """'1 run', '7,280 runs'; ``plural`` for an irregular one, ``zero`` in place of 0 ('no runs')."""
    count = zero if (n == 0 and zero is not None) else f"{n:,}"
    return f"{count} {word if n == 1 else (plural or word + 's')}"


def times(n: int) -> str:
    """'never', 'once', 'twice', '3 times'."""
    return {0: "never", 1: "once", 2: "twice"}.get(n, f"{n:,} times")


def cut(text: str, limit: int = LIMIT) -> str:
    """``text`` or, when longer than ``limit``, its start with how long it really is."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters)"


#: Characters that change how text around them is shown without being seen themselves: the
#: directional embeddings, overrides and isolates (which can show text in another order than it is
#: stored), and the zero-width space, word joiner and byte-order mark (which make two names that
#: look the same differ).
REORDERING = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
INVISIBLE = REORDERING | frozenset("\u200b\u200e\u200f\u061c\u2060\ufeff")


def control(c: str) -> bool:
    """A control character (C0, DEL or C1: escape sequences, line breaks, carriage returns) or a
    line or paragraph separator."""
    o = ord(c)
    return o < 32 or 127 <= o < 160 or o in (0x2028, 0x2029)


def unseen(text: str) -> str | None:
    """The first character of ``text`` that a terminal or page would not show as itself (a control
    character or one of :data:`INVISIBLE`), or None."""
    return next((c for c in text if control(c) or c in INVISIBLE), None)


def _string(s: str) -> str:
    # A TOML literal string ('...') unless it holds a quote, a control character or an invisible
    # one; then a basic string with escapes, as TOML writes them.
    if "'" not in s and unseen(s) is None:
        return f"'{s}'"
    out = []
    for c in s:
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif control(c) or c in INVISIBLE:
            out.append(f"\\u{ord(c):04X}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def _toml(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = ", ".join(f"{k if isinstance(k, str) and _BARE_KEY.fullmatch(k) else _string(str(k))} = {_toml(v)}"
                          for k, v in value.items())
        return "{ " + items + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if hasattr(value, "item"):  # numpy scalars
        try:
            return _toml(value.item())
        except (TypeError, ValueError):
            pass
    return str(value)


def words(value: Any, limit: int = LIMIT, *, typed: bool = False) -> str:
    """``value`` as it would be written in a TOML file, cut to ``limit`` characters.

    With ``typed``, ``value`` is text typed on the command line (``--set x=1.50``, ``--months 5``):
    a number is shown as typed, without quotes, and other text in quotes.
    """
    if typed and isinstance(value, str) and _NUMBER.fullmatch(value.strip() or "x"):
        return cut(value.strip(), limit)
    if isinstance(value, str) and len(value) > limit:
        return f"{_string(value[:limit])}... ({len(value):,} characters)"
    return cut(_toml(value), limit)


def checked(spec, value: Any, *, where: str) -> Any:
    """:func:`peacesim.params.coerce`, with a refusal that quotes the value as typed (``where``
    starting with ``--`` says it was typed on the command line)."""
    from .errors import InputError
    from .params import coerce

    try:
        return coerce(spec, value, where=where)
    except InputError:
        shown = words(value, typed=where.startswith("--"))
        raise InputError(f"{where}: {spec.name} = {shown} is not allowed; expected {spec.allowed()}") from None
