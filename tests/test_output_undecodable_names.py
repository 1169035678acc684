"""A scenario file whose name is not UTF-8 (a byte such as 0xff): its results are written, the name
shown with the byte as an escape, never a crash (peacesim.output, peacesim.plotting)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import peacesim
from peacesim.cli import main
from peacesim.output import escape_undecodable, to_jsonable, write_run

REFERENCE = Path(peacesim.__file__).parent.parent / "scenarios" / "reference.toml"
NAME = os.fsdecode(b"bad\xff.toml")  # 'bad\udcff.toml', as Python reads such a name


@pytest.fixture()
def scenario(tmp_path):
    path = tmp_path / NAME
    try:
        shutil.copyfile(REFERENCE, path)
    except (OSError, UnicodeError):
        pytest.skip("this file system does not take a file name that is not UTF-8")
    return path


def test_escape_undecodable():
    assert escape_undecodable(NAME) == "bad\\xff.toml"
    assert escape_undecodable("café.toml") == "café.toml"
    assert escape_undecodable("x\ud800") == "x\\ud800"
    assert to_jsonable({NAME: [Path(NAME)]}) == {"bad\\xff.toml": ["bad\\xff.toml"]}


def test_a_run_of_such_a_file_is_written_with_the_byte_shown(scenario, tmp_path):
    result = peacesim.run_scenario(scenario, seed=1, months=12)
    files = write_run(result, tmp_path / "out", inputs={"scenario": str(scenario)})
    assert set(files) >= {"outcome.json", "narrative.txt", "timeline.png"}
    doc = json.loads(files["outcome.json"].read_text(encoding="utf-8"))
    assert doc["scenario"] == "bad\\xff"
    assert doc["inputs"]["scenario"].endswith("bad\\xff.toml")


def test_peacesim_run_of_such_a_file(scenario, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", NAME, "--months", "12", "--out", "o3", "--quiet"]) == 0
    doc = json.loads((tmp_path / "o3" / "outcome.json").read_text(encoding="utf-8"))
    assert doc["inputs"]["scenario"] == "bad\\xff.toml"
    assert (tmp_path / "o3" / "timeline.png").stat().st_size > 0


def test_reports_and_tables_of_sweeps_and_comparisons_escape_a_name_that_is_not_utf8(tmp_path):
    """'peacesim sweep tin\\xffy.toml' and 'peacesim compare c\\xff.toml' stopped with a traceback
    after their runs, writing report.md (fsutil.atomic_write) and the comparison's files."""
    from peacesim import fsutil
    from peacesim.comparison import _stage

    name = os.fsdecode(b"tin\xffy.toml")  # as Python reads such a file name
    fsutil.atomic_write(tmp_path / "report.md", f"# {name}\n")
    assert (tmp_path / "report.md").read_bytes() == b"# tin\\xffy.toml\n"
    _stage(tmp_path / "staged.md", f"# {name}\n")
    assert (tmp_path / "staged.md").read_bytes() == b"# tin\\xffy.toml\n"
