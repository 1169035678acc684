"""The documentation stays true to the code."""

import subprocess
import sys
from pathlib import Path

from peacesim.params import REGISTRY

ROOT = Path(__file__).resolve().parent.parent


def test_odd_parameter_tables_match_the_registry():
    r = subprocess.run([sys.executable, str(ROOT / "docs" / "param_tables.py"), "--check"], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr


def test_every_parameter_is_named_in_the_odd_submodels():
    text = (ROOT / "docs" / "ODD.md").read_text()
    submodels = text[text.index("## 7. Submodels"):text.index("## 8. Parameters")]
    missing = [name for name in REGISTRY if f"`{name}`" not in submodels and name not in ("months",)]
    assert not missing, f"parameters not described in ODD section 7: {missing}"
