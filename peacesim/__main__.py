"""``python -m peacesim`` and the ``peacesim`` command (:func:`command`)."""

import sys


def command() -> int:
    """The ``peacesim`` command: :func:`peacesim.cli.main`, imported here so that Ctrl-C pressed
    while the command starts ends it with one line and status 130, as it does later."""
    try:
        from .cli import main
    except KeyboardInterrupt:
        print("peacesim: interrupted", file=sys.stderr)
        return 130
    return main()


if __name__ == "__main__":
    raise SystemExit(command())
