"""An installed peacesim (built, not editable) carries the shipped scenarios, experiments and
comparisons, which live beside the package in the source tree."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_built_package_finds_its_shipped_files(tmp_path):
    lib = tmp_path / "lib"
    subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(lib)], cwd=ROOT, check=True,
                   capture_output=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert not (lib / "scenarios").exists()  # inside the package, not beside it
    probe = ("import json, peacesim.scenario as s, peacesim.experiment as e, peacesim.comparison as c; "
             "print(json.dumps([str(s.scenario_dir()), [p.name for p in s.list_scenarios()], "
             "[p.name for p in e.list_experiments()], [p.name for p in c.list_comparisons()]]))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, check=True, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(lib)})
    where, scenarios, experiments, comparisons = json.loads(out.stdout)
    assert Path(where) == lib / "peacesim" / "scenarios"
    assert scenarios == sorted(p.name for p in (ROOT / "scenarios").glob("*.toml"))
    assert experiments == sorted(p.name for p in (ROOT / "experiments").glob("*.toml"))
    assert comparisons == sorted(p.name for p in (ROOT / "experiments" / "compare").glob("*.toml"))
    assert scenarios and experiments and comparisons
