"""Regenerate the golden regression files in tests/golden/.

Run after a deliberate change to the model and explain the change in the commit message:

    .venv/bin/python tests/regenerate_golden.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from golden_cases import CASES, GOLDEN_DIR, path_for, summarise  # noqa: E402


def main() -> None:
    GOLDEN_DIR.mkdir(exist_ok=True)
    for scenario, seed in CASES:
        path = path_for(scenario, seed)
        path.write_text(json.dumps(summarise(scenario, seed), indent=1, sort_keys=True) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
