"""``python -m peacesim``: the same as the ``peacesim`` command."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
