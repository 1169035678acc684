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


def test_every_intervention_is_described_in_the_odd():
    from peacesim.interventions import INTERVENTIONS

    text = (ROOT / "docs" / "ODD.md").read_text()
    section = text[text.index("### 7.10 Interventions"):text.index("## 8. Parameters")]
    missing = [k for k in INTERVENTIONS if f"`{k}`" not in section]
    assert not missing, f"interventions not described in ODD 7.10: {missing}"


def test_every_named_constant_of_the_rules_is_in_the_odd():
    """Numbers that are modelling choices are named constants, and the ODD lists each one."""
    import ast
    import re

    text = (ROOT / "docs" / "ODD.md").read_text()
    missing = []
    for mod in ("agents", "model", "rules", "tables", "negotiation", "spoilers", "agreement", "local_mechanisms",
                "streams", "facilitation", "diplomacy"):
        tree = ast.parse((ROOT / "peacesim" / f"{mod}.py").read_text())
        for node in tree.body:
            if not isinstance(node, ast.Assign):
                continue
            names = [e.id for t in node.targets for e in (t.elts if isinstance(t, ast.Tuple) else [t])
                     if isinstance(e, ast.Name)]
            for name in names:
                if name.isupper() and not name.startswith("_") and not re.search(rf"`(?:\w+\.)?{name}`", text):
                    missing.append(f"{mod}.{name}")
    assert not missing, f"named constants not in docs/ODD.md: {missing}"


def test_the_comparison_files_layout_in_compare_md_is_a_file_that_loads(tmp_path):
    """The layout shown in COMPARE.md, copied as it is, is a comparison file peacesim takes."""
    from peacesim.comparison import load_comparison

    text = (Path(__file__).resolve().parents[1] / "docs" / "COMPARE.md").read_text(encoding="utf-8")
    section = text[text.index("## The comparison file"):]
    block = section[section.index("```toml\n") + len("```toml\n"):]
    (tmp_path / "layout.toml").write_text(block[:block.index("```")], encoding="utf-8")
    spec = load_comparison(tmp_path / "layout.toml")
    assert spec.baseline == "crowded_field" and "contact_group" in spec.keys
