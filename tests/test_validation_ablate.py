"""Ablations follow the scenario and master seed of the validation they belong to: their runs, the
intact row of their table and the name of the file the table is written to."""
from __future__ import annotations

import json
import re

from peacesim import analysis, cli, validation
from peacesim.validation import Ablation, Check, Estimate, write_report


def _row(text: str, number: int, label: str | None = None) -> list[str]:
    """The cells of the first table row of pattern ``number`` (whose second cell is ``label``, if given)."""
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == str(number) and (label is None or cells[1] == label):
            return cells
    raise AssertionError(f"no row for pattern {number} ({label}) in:\n{text}")


def test_ablate_runs_on_the_scenario_of_the_checks_and_its_intact_row_is_their_value(tmp_path, monkeypatch, capsys):
    """`validate --scenario X --ablate`: the ablations run on X, and the intact row of their table
    is the value of X's check in the main table (not the reference scenario's)."""
    monkeypatch.setitem(validation.ABLATIONS, 1, validation.ABLATIONS[1][:1])  # one mechanism: a short test
    out = tmp_path / "v"
    assert cli.main(["validate", "--quick", "--ablate", "--only", "1", "--scenario", "contact_group",
                     "--quiet", "--out", str(out)]) == 0
    printed = capsys.readouterr().out

    report = (out / "report-contact_group-seed1-quick.md").read_text(encoding="utf-8")
    main_value = _row(report, 1)[4]
    table = (out / "ablation-contact_group-seed1-quick.md").read_text(encoding="utf-8")
    assert "scenario contact_group, master seed 1" in table
    assert _row(table, 1, "none (intact model)")[3] == main_value
    assert _row(printed, 1, "none (intact model)")[3] == main_value
    assert "ablation-contact_group-seed1-quick.md" in printed
    # one file per scenario, seed and size: the reference scenario's name is not written to
    assert not (out / "ablation.md").exists() and not (out / "ablation-quick.md").exists()

    # the ablation's runs: X, on the check's seeds, kept apart from the reference scenario's
    folder = out / "ablation" / "p1-0" / "contact_group-seed1" / "quick" / "p1_relapse_share"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert "contact_group" in manifest["scenario"] and manifest["master_seed"] == 101
    ablated = analysis.load_results(folder)
    intact = analysis.load_results(out / "contact_group-seed1" / "quick" / "p1_relapse_share")
    assert sorted(ablated.runs["seed"]) == sorted(intact.runs["seed"])
    # nothing ran on the reference scenario
    assert not (out / "quick").exists() and not (out / "ablation" / "p1-0" / "quick").exists()


def _ablation(number: int, value: float) -> Ablation:
    check = Check(number, "t", "s", "m", Estimate(value, value - 0.1, value + 0.1), True, "positive")
    return Ablation(number, "no defection", {"defection_rate": 0.0}, check)


def test_each_scenario_seed_and_size_has_its_own_ablation_file_named_like_its_report(tmp_path):
    from peacesim.validation import write_ablation

    cases = [("reference", 1, False, 0.1), ("reference", 1, True, 0.2), ("reference", 2, True, 0.3),
             ("reference", 2, False, 0.4), ("contact_group", 1, True, 0.5), ("contact_group", 3, False, 0.6)]
    paths = []
    for scenario, seed, quick, value in cases:
        path = write_ablation([_ablation(9, value)], None, tmp_path, quick=quick, scenario=scenario, seed=seed)
        report = write_report([], tmp_path, quick=quick, scenario=scenario, seed=seed)
        assert path.parent == report.parent and path.name == "ablation" + report.name.removeprefix("report")
        paths.append(path)
    assert [p.name for p in paths] == ["ablation.md", "ablation-quick.md", "ablation-reference-seed2-quick.md",
                                       "ablation-reference-seed2.md", "ablation-contact_group-seed1-quick.md",
                                       "ablation-contact_group-seed3.md"]
    # a later seed or scenario leaves the earlier ones' tables as they were
    for (scenario, seed, _quick, value), path in zip(cases, paths):
        text = path.read_text(encoding="utf-8")
        assert f"scenario {scenario}, master seed {seed}" in text
        assert re.search(rf"\| 9 \| no defection \| .* \| \+?{value:g} \[", text), text


def test_ablation_runs_of_two_scenarios_or_seeds_are_kept_apart(tmp_path, monkeypatch):
    """Each scenario and seed has its folder under ``ablation/p<k>-<i>/`` (the reference scenario at
    master seed 1 keeps ``ablation/p<k>-<i>/<size>/``, as before)."""
    monkeypatch.setitem(validation.ABLATIONS, 9, validation.ABLATIONS[9][:1])
    for scenario, seed in [("contact_group", 1), ("reference", 2)]:
        validation.ablate(fraction=0.01, only=[9], out=tmp_path, progress=False, scenario=scenario, seed=seed)
    for sub, scenario, master in [("contact_group-seed1", "contact_group", 109), ("reference-seed2", "reference", 209)]:
        m = json.loads((tmp_path / "ablation" / "p9-0" / sub / "x0.01" / "p9_stalemate" / "manifest.json").read_text())
        assert scenario in m["scenario"] and m["master_seed"] == master


def test_the_report_and_the_ablation_table_replace_a_link_and_never_write_through_it(tmp_path):
    from peacesim import validation

    thesis = tmp_path / "thesis.md"
    thesis.write_text("my thesis")
    out = tmp_path / "validation"
    out.mkdir()
    for name in ("report-quick.md", "ablation-quick.md"):
        (out / name).symlink_to(thesis)
    report = validation.write_report([], out, quick=True)
    table = validation.write_ablation([], None, out, quick=True)
    assert thesis.read_text() == "my thesis"
    for path in (report, table):
        assert not path.is_symlink() and path.read_text().startswith("# peacesim")
    assert sorted(p.name for p in out.iterdir()) == ["ablation-quick.md", "report-quick.md"]


def test_outputs_are_named_by_the_scenario_itself_not_by_how_it_was_written(tmp_path):
    from peacesim.scenario import scenario_dir

    shipped = scenario_dir() / "reference.toml"
    for same in ("reference", shipped, str(shipped)):
        assert validation.output_name("report", quick=True, scenario=same) == "report-quick.md"
    a, b = tmp_path / "a" / "x.toml", tmp_path / "b" / "x.toml"
    copy = tmp_path / "reference.toml"  # a file named like a shipped scenario is not that scenario
    names = {validation.run_tag(p, 1) for p in (a, b, copy)}
    assert len(names) == 3 and "" not in names and all(n.endswith("-seed1") for n in names)
    assert validation.run_tag(a, 1).startswith("x-") and validation.run_tag(a, 1) == validation.run_tag(a, 1)
