"""The command line, run for real: ``python -m peacesim`` and the installed ``peacesim`` script.

Every run writes only into pytest's temporary folders. Runs shared by several tests are made once
per module.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import peacesim
from peacesim import cli
from peacesim.output import OUTPUT_FILES, to_jsonable, write_run
from peacesim.params import REGISTRY
from peacesim.scenario import list_scenarios, load_scenario
from peacesim.simulate import run_scenario

SCRIPT = Path(sys.executable).parent / "peacesim"
COMPARED = ("series.csv", "episodes.csv", "events.csv", "events.json", "outcome.json", "narrative.txt")


def run_module(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "peacesim", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def run_script(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def strict_json(path: Path):
    """Parse JSON, refusing the NaN and Infinity that Python would otherwise accept."""

    def refuse(token):
        raise ValueError(f"{path.name}: non-standard JSON constant {token}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[Path, subprocess.CompletedProcess]]:
    """Four runs of the reference scenario: seed 7 twice (module and script), seed 8, seed 7 without figure."""
    base = tmp_path_factory.mktemp("cli_runs")
    out = {}
    out["a"] = base / "a", ok(run_module("run", "reference", "--seed", "7", "--out", str(base / "a")))
    out["b"] = base / "b", ok(run_script("run", "reference", "--seed", "7", "--out", str(base / "b"), "--no-figure"))
    out["c"] = base / "c", ok(run_module("run", "reference", "--seed", "8", "--out", str(base / "c"), "--no-figure"))
    return out


@pytest.fixture(scope="module")
def api_result():
    return run_scenario("reference", seed=7)


def test_console_script_is_installed():
    assert SCRIPT.is_file(), f"{SCRIPT} missing: is the package installed in this environment?"


def test_run_writes_all_files(runs):
    folder, _ = runs["a"]
    # the run's files, and the marker that says the folder is one run's results of peacesim's
    assert sorted(p.name for p in folder.iterdir()) == sorted([*OUTPUT_FILES, ".peacesim"])
    assert json.loads((folder / ".peacesim").read_text()) == {"peacesim": "run results", "format": 1,
                                                               "files": sorted(OUTPUT_FILES)}
    for name in OUTPUT_FILES:
        assert (folder / name).stat().st_size > 0, name
    assert (folder / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # no staging folder left beside the results
    assert sorted(p.name for p in folder.parent.iterdir()) == ["a", "b", "c"]


def test_no_figure_skips_only_the_figure(runs):
    folder, _ = runs["b"]
    assert sorted(p.name for p in folder.iterdir()) == sorted((set(OUTPUT_FILES) - {"timeline.png"}) | {".peacesim"})


def test_outcome_json_matches_the_python_api(runs, api_result):
    doc = strict_json(runs["a"][0] / "outcome.json")
    assert doc["peacesim_version"] == peacesim.__version__
    assert doc["scenario"] == "reference"
    assert doc["seed"] == 7
    assert doc["months"] == REGISTRY["months"].default == len(api_result.series)
    assert doc["parties"] == ["the government", "the armed group", "the splinter faction"]
    assert doc["outcome"] == to_jsonable(api_result.outcome)
    assert doc["params"] == to_jsonable(api_result.params)
    assert set(doc["params"]) == set(REGISTRY)
    assert doc["inputs"] == {"scenario": "reference", "overrides": []}


def test_tables_round_trip(runs, api_result):
    folder = runs["a"][0]
    series = pd.read_csv(folder / "series.csv", float_precision="round_trip")
    expected = api_result.series
    assert list(series.columns) == list(expected.columns)
    assert series["phase"].tolist() == expected["phase"].astype(str).tolist()
    numeric = [c for c in expected.columns if c != "phase"]
    np.testing.assert_array_equal(series[numeric].to_numpy(float), expected[numeric].to_numpy(float))

    episodes = pd.read_csv(folder / "episodes.csv", float_precision="round_trip")
    assert list(episodes.columns) == list(api_result.episodes.columns)
    assert len(episodes) == len(api_result.episodes) == doc_n_agreements(folder)

    events_csv = pd.read_csv(folder / "events.csv", keep_default_na=False, float_precision="round_trip")
    events_json = strict_json(folder / "events.json")
    assert len(events_csv) == len(events_json) == len(api_result.events) > 0
    for row, ev, (month, kind, actors, values) in zip(
        events_csv.itertuples(index=False), events_json, api_result.events.itertuples(index=False), strict=True
    ):
        assert row.month == ev["month"] == month
        assert row.kind == ev["kind"] == kind
        assert row.actors == ";".join(ev["actors"]) == actors
        assert json.loads(row.values) == ev["values"] == to_jsonable(values)


def doc_n_agreements(folder: Path) -> int:
    return strict_json(folder / "outcome.json")["outcome"]["n_agreements"]


def test_narrative_file_has_every_event(runs, api_result):
    lines = (runs["a"][0] / "narrative.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(api_result.events)
    assert all(line.startswith("Month ") for line in lines)


def test_same_seed_gives_identical_files(runs):
    a, b = runs["a"][0], runs["b"][0]
    for name in COMPARED:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_different_seeds_differ(runs):
    a, c = runs["a"][0], runs["c"][0]
    assert (a / "series.csv").read_bytes() != (c / "series.csv").read_bytes()
    assert (a / "events.csv").read_bytes() != (c / "events.csv").read_bytes()
    assert strict_json(c / "outcome.json")["seed"] == 8


def test_run_prints_summary_events_and_files(runs, api_result):
    folder, proc = runs["a"]
    from peacesim.narrative import render, summary

    out = proc.stdout
    assert out.startswith(summary(api_result))
    key = render(api_result.events)
    shown: list[str] = []
    for line in out.splitlines():  # long lines are wrapped with a deeper indent
        if line.startswith("  Month "):
            shown.append(line.strip())
        elif line.startswith("      ") and shown:
            shown[-1] += " " + line.strip()
    assert len(key) > cli.KEY_EVENT_LINES, "pick a seed with more key events than are printed"
    assert shown == key[: cli.KEY_EVENT_LINES]
    assert (f"... {len(key) - cli.KEY_EVENT_LINES} more key events; all {len(api_result.events)} events are in "
            f"{folder / 'narrative.txt'}") in out
    for name in OUTPUT_FILES:
        assert str(folder / name) in out
    assert proc.stderr == ""


def test_quiet_prints_nothing(tmp_path):
    proc = ok(run_module("run", "reference", "--out", str(tmp_path / "q"), "--quiet", "--no-figure",
                         "--months", "24"))
    assert proc.stdout == "" and proc.stderr == ""
    assert (tmp_path / "q" / "outcome.json").is_file()


def test_default_out_folder_months_and_set(tmp_path):
    ok(run_module("run", "reference", "--seed", "3", "--months", "36", "--no-figure", "--quiet",
                  "--set", "handover_quality=0.9", "--set", "mediator.skill=0.8", cwd=tmp_path))
    folder = tmp_path / "results" / "reference-seed3"
    doc = strict_json(folder / "outcome.json")
    assert doc["seed"] == 3 and doc["months"] == 36
    assert doc["params"]["months"] == 36
    assert doc["params"]["handover_quality"] == 0.9
    assert doc["inputs"]["overrides"] == ["handover_quality=0.9", "mediator.skill=0.8"]
    assert len(pd.read_csv(folder / "series.csv", float_precision="round_trip")) == 36
    # the same run from Python gives the same outcome
    api = run_scenario("reference", seed=3, months=36, overrides=["handover_quality=0.9", "mediator.skill=0.8"])
    assert doc["outcome"] == to_jsonable(api.outcome)


def test_scenario_given_as_a_path(tmp_path):
    src = load_scenario("reference").path
    copy = tmp_path / "my case.toml"
    copy.write_text(Path(src).read_text(encoding="utf-8"), encoding="utf-8")
    ok(run_module("run", str(copy), "--months", "24", "--no-figure", "--quiet", cwd=tmp_path))
    doc = strict_json(tmp_path / "results" / "my_case-seed1" / "outcome.json")
    assert doc["scenario"] == "my case" and doc["seed"] == 1


def test_rerun_into_same_folder_replaces_files(tmp_path):
    out = tmp_path / "same"
    ok(run_module("run", "reference", "--seed", "1", "--months", "24", "--out", str(out), "--quiet"))
    assert (out / "timeline.png").is_file()
    (out / "notes.txt").write_text("mine")
    ok(run_module("run", "reference", "--seed", "2", "--months", "24", "--out", str(out), "--quiet", "--no-figure"))
    assert strict_json(out / "outcome.json")["seed"] == 2
    assert not (out / "timeline.png").exists(), "a figure from the previous run was left beside the new files"
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["same"]


def test_scenarios_lists_every_shipped_file():
    proc = ok(run_module("scenarios"))
    lines = proc.stdout.splitlines()
    files = list_scenarios()
    assert len(files) >= 6
    assert len(lines) == len(files)
    for line, path in zip(lines, files, strict=True):
        name, title = line.split(maxsplit=1)
        assert name == path.stem
        assert title == load_scenario(path).title


def test_params_lists_the_registry():
    proc = ok(run_module("params"))
    names = {line.split()[0] for line in proc.stdout.splitlines() if line and line[0].isalpha()}
    assert set(REGISTRY) <= names
    assert "mediator.skill" in names
    row = next(line for line in proc.stdout.splitlines() if line.startswith("handover_quality "))
    p = REGISTRY["handover_quality"]
    assert f"{p.default:g}" in row and p.unit in row and p.meaning.split()[0] in row


def test_params_group_filters():
    proc = ok(run_module("params", "--group", "rotation"))
    names = {line.split()[0] for line in proc.stdout.splitlines() if line and line[0].isalpha()} - {"name"}
    assert names == {n for n, p in REGISTRY.items() if p.group == "rotation"}


def test_show_describes_a_scenario():
    proc = ok(run_module("show", "reference"))
    scen = load_scenario("reference")
    assert proc.stdout.startswith(scen.title)
    assert "Learning points:" in proc.stdout and "Sources:" in proc.stdout
    for kind, n in scen.counts().items():
        assert any(line.split()[:2] == [kind, str(n)] for line in proc.stdout.splitlines()), kind


@pytest.mark.parametrize("args", [[], ["run"], ["scenarios"], ["params"], ["show"]], ids=lambda a: " ".join(a) or "top")
def test_help_everywhere(args):
    proc = ok(run_module(*args, "--help"))
    assert proc.stdout.startswith("usage: peacesim")


def test_script_help_and_version():
    assert ok(run_script("--help")).stdout.startswith("usage: peacesim")
    assert ok(run_script("--version")).stdout.strip() == f"peacesim {peacesim.__version__}"


def test_missing_subcommand_is_a_usage_error():
    proc = run_module()
    assert proc.returncode == 2
    assert "usage: peacesim" in proc.stderr and "Traceback" not in proc.stderr


# ---------------------------------------------------------------------------------------------
# In-process: failures that are bugs keep their traceback; writing is all-or-nothing.
# ---------------------------------------------------------------------------------------------
def test_model_bug_is_not_swallowed(monkeypatch, tmp_path):
    import peacesim.simulate

    def broken(*args, **kwargs):
        raise RuntimeError("model bug")

    monkeypatch.setattr(peacesim.simulate, "run_scenario", broken)
    with pytest.raises(RuntimeError, match="model bug"):
        cli.main(["run", "reference", "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


def test_failed_write_leaves_nothing(monkeypatch, tmp_path):
    import peacesim.plotting

    result = run_scenario("reference", seed=1, months=24)

    def broken(result, path):
        Path(path).write_bytes(b"half a figure")
        raise RuntimeError("plotting bug")

    monkeypatch.setattr(peacesim.plotting, "save_timeline", broken)
    with pytest.raises(RuntimeError, match="plotting bug"):
        write_run(result, tmp_path / "new" / "run")
    assert not (tmp_path / "new").exists(), "folders created for the results were left behind"

    # into an existing folder: previous files untouched
    old = tmp_path / "old"
    written = write_run(result, old, figure=False)
    before = {p.name: p.read_bytes() for p in old.iterdir()}
    other = run_scenario("reference", seed=2, months=24)
    with pytest.raises(RuntimeError, match="plotting bug"):
        write_run(other, old)
    assert {p.name: p.read_bytes() for p in old.iterdir()} == before
    assert set(written) | {".peacesim"} == set(before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old"]  # and no staging folder


def test_write_run_returns_paths(tmp_path):
    result = run_scenario("reference", seed=1, months=24)
    files = write_run(result, tmp_path / "r", figure=False)
    assert list(files) == [n for n in OUTPUT_FILES if n != "timeline.png"]
    assert all(p.parent == tmp_path / "r" and p.is_file() for p in files.values())


def test_to_jsonable_converts_numpy_and_nan():
    raw = {"a": np.float64("nan"), "b": np.int64(3), "c": np.bool_(True), "d": [np.float32(0.5), float("inf")],
           "e": np.arange(2), "f": {"z", "y"}, 1: None}
    plain = to_jsonable(raw)
    assert plain == {"a": None, "b": 3, "c": True, "d": [0.5, None], "e": [0, 1], "f": ["y", "z"], "1": None}
    assert type(plain["b"]) is int and type(plain["c"]) is bool
    json.dumps(plain, allow_nan=False)
    with pytest.raises(TypeError, match="object"):
        to_jsonable(object())



@pytest.mark.parametrize("args", [["validate", "--seed"], ["sweep", "x.toml", "--executor", "foo"], ["run"],
                                  ["run", "reference", "--bogus"], ["nosuch"]])
def test_an_option_the_parser_refuses_is_one_line_too(args):
    from peacesim.cli import main

    with pytest.raises(SystemExit) as exc, contextlib.redirect_stderr(io.StringIO()) as err:
        main(args)
    lines = err.getvalue().splitlines()
    assert exc.value.code == 2 and len(lines) == 1 and lines[0].startswith("peacesim")
    assert ": error: " in lines[0] and lines[0].endswith("--help')")


@pytest.mark.parametrize("args,message", [(["validate", "--only", ""], "--only '' is not allowed"),
                                          (["compare", "--list", "foo"], "--list takes no comparison")])
def test_options_that_were_silently_ignored_are_refused(args, message):
    from peacesim.cli import main

    with contextlib.redirect_stderr(io.StringIO()) as err:
        assert main(args) == 2
    assert message in err.getvalue() and len(err.getvalue().splitlines()) == 1


def test_a_scenario_file_s_own_seed_is_used_unless_seed_is_given(tmp_path, capsys):
    """A dashboard session's file carries its seed: ``peacesim run FILE`` re-runs the session."""
    text = (peacesim.scenario.scenario_dir() / "reference.toml").read_text(encoding="utf-8")
    path = tmp_path / "s.toml"
    path.write_text(text.replace("[scenario]\n", "[scenario]\nseed = 7\n", 1), encoding="utf-8")
    assert load_scenario(path).seed == 7 and load_scenario("reference").seed is None
    for args, seed in (([], 7), (["--seed", "3"], 3)):
        out = tmp_path / f"out{seed}"
        assert cli.main(["run", str(path), "--out", str(out), "--quiet", *args]) == 0
        assert strict_json(out / "outcome.json")["seed"] == seed
    a = run_scenario("reference", seed=7)
    assert pd.read_csv(tmp_path / "out7" / "series.csv").equals(pd.read_csv(io.StringIO(a.series.to_csv(index=False))))
    capsys.readouterr()
    for bad, expected in (('"7"', "(written without quotes: seed = 7)"), ("-1", "expected a whole number >= 0"),
                          ("true", "expected a whole number >= 0"), ("2.5", "expected a whole number >= 0")):
        path.write_text(text.replace("[scenario]\n", f"[scenario]\nseed = {bad}\n", 1), encoding="utf-8")
        assert cli.main(["run", str(path), "--out", str(tmp_path / "never"), "--quiet"]) == 2
        [line] = capsys.readouterr().err.strip().splitlines()
        assert "s.toml: scenario.seed = " in line and expected in line, line
        assert not (tmp_path / "never").exists()


def test_plot_on_a_run_folder_says_what_the_folder_holds(tmp_path, capsys):
    out = tmp_path / "one"
    assert cli.main(["run", "reference", "--months", "24", "--out", str(out), "--quiet", "--no-figure"]) == 0
    capsys.readouterr()
    assert cli.main(["plot", str(out)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "holds one run's results ('peacesim run'" in line and "written by 'peacesim sweep'" in line


def test_a_run_into_an_earlier_runs_folder_is_all_or_nothing(tmp_path, monkeypatch):
    """A file that cannot be replaced (a results CSV open in a spreadsheet on Windows, say) leaves the
    folder holding the earlier run whole, never files of two runs."""
    import peacesim.output as output
    from peacesim import run_scenario
    from peacesim.errors import InputError, StorageError

    out = tmp_path / "run"
    output.write_run(run_scenario("reference", seed=1, months=24), out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = os.replace

    def replace(src, dst):
        if Path(dst) == out / "events.json" and Path(src).parent.name != output._ASIDE:
            raise PermissionError(13, "Permission denied")  # the new events.json cannot go in
        return real(src, dst)

    monkeypatch.setattr(output.os, "replace", replace)
    with pytest.raises(StorageError, match="events.json: cannot write the results"):
        output.write_run(run_scenario("reference", seed=2, months=24), out, figure=False)
    monkeypatch.undo()
    # the earlier run, figure included (beside the lock the swap took)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name != ".peacesim.lock"} == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging folder left
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    for bad, what in (("outcome.json", "a folder"), ("series.csv", "a link")):
        (out / bad).unlink()
        if what == "a folder":
            (out / bad).mkdir()  # a folder where a run's file would go is not replaced
        else:
            (out / bad).symlink_to(notes)  # nor is a link (nor written through)
        with pytest.raises(InputError, match=f"{bad}: is not a file peacesim wrote \\({what}\\)"):
            output.write_run(run_scenario("reference", seed=2, months=24), out)
        assert (out / bad).is_dir() if what == "a folder" else (out / bad).is_symlink()
        (out / bad).rmdir() if what == "a folder" else (out / bad).unlink()
        (out / bad).write_bytes(before[bad])
    assert notes.read_text() == "mine"


def test_staging_folders_of_runs_killed_outright_are_removed_by_the_next_run(tmp_path):
    import peacesim.output as output
    from peacesim import run_scenario

    out = tmp_path / ("c" * 240)  # a legal name whose staging folder's name must still be legal
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    stale = tmp_path / f"{output._staging_prefix(out)}{dead}-0123abcd"
    stale.mkdir()
    (stale / "series.csv").write_text("month\n")
    mine = tmp_path / f"{output._staging_prefix(out)}{dead}-4567cdef"
    mine.mkdir()
    (mine / "notes.txt").write_text("not a run's file")
    output.write_run(run_scenario("reference", seed=1, months=24), out, figure=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([out.name, mine.name])


def test_when_the_earlier_run_cannot_be_put_back_what_is_left_of_it_is_kept_and_named(tmp_path, monkeypatch):
    import peacesim.output as output
    from peacesim import run_scenario
    from peacesim.errors import StorageError

    out = tmp_path / "run"
    output.write_run(run_scenario("reference", seed=1, months=24), out, figure=False)
    before = (out / "series.csv").read_bytes()
    real = os.replace

    def replace(src, dst):
        if Path(dst).name == "events.json" or Path(src).parent.name == output._ASIDE and Path(dst).name == "series.csv":
            raise PermissionError(13, "Permission denied")  # the new events.json, then putting series.csv back
        return real(src, dst)

    monkeypatch.setattr(output.os, "replace", replace)
    with pytest.raises(StorageError) as failed:
        output.write_run(run_scenario("reference", seed=2, months=24), out, figure=False)
    monkeypatch.undo()
    message = str(failed.value)
    assert "the previous run's files could not all be put back: what was not is in" in message
    kept = Path(message.rsplit(" is in ", 1)[1])
    assert kept.is_dir() and (kept / "series.csv").read_bytes() == before


def test_a_run_into_a_folder_another_run_is_writing_into_is_refused_in_one_line(tmp_path):
    from results_helpers import held_lock

    from peacesim import run_scenario
    from peacesim.output import write_run

    out = tmp_path / "run"
    write_run(run_scenario("reference", seed=1, months=24), out, figure=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with held_lock(out, "run"):
        r = subprocess.run([sys.executable, "-m", "peacesim", "run", "reference", "--seed", "2", "--months", "24",
                            "--no-figure", "--quiet", "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.count("\n") == 1
    assert "another peacesim run" in r.stderr and "is using this folder" in r.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name != ".peacesim.lock"} == {
        k: v for k, v in before.items() if k != ".peacesim.lock"}


def test_a_session_file_s_rerun_has_its_own_default_folder(tmp_path, monkeypatch):
    """``peacesim run peacesim-session.toml`` and ``peacesim run reference --seed 7`` do not share
    results/reference-seed7: the second would replace the first's files."""
    from peacesim.dashboard.session import ClassroomModel, replay_toml

    model = ClassroomModel("reference", rng=7, months=36)
    for _ in range(12):
        model.step()
    model.intervene("cut_funding", actor="the mediation NGO", months=6)
    (tmp_path / "peacesim-session.toml").write_text(replay_toml(model), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "peacesim-session.toml", "--quiet", "--no-figure"]) == 0
    assert cli.main(["run", "reference", "--seed", "7", "--months", "36", "--quiet", "--no-figure"]) == 0
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["reference-seed7", "reference-session-seed7"]
    session = strict_json(tmp_path / "results" / "reference-session-seed7" / "outcome.json")
    plain = strict_json(tmp_path / "results" / "reference-seed7" / "outcome.json")
    assert session["seed"] == plain["seed"] == 7
    assert session["outcome"]["interventions"] == 1 and plain["outcome"]["interventions"] == 0


@pytest.mark.parametrize("quiet", [True, False])
def test_characters_the_figures_font_lacks_are_one_note_and_none_with_quiet(tmp_path, quiet):
    """A name in a script the figure's font lacks (Burmese) printed matplotlib's two-line warning,
    with its source path, for every character, also with --quiet."""
    import subprocess
    import sys

    from peacesim.scenario import resolve_scenario

    text = resolve_scenario("reference").read_text(encoding="utf-8")
    scen = tmp_path / "burmese.toml"
    scen.write_text(text.replace('name = "the armed group"', 'name = "တပ်မတော် (Tatmadaw)"'), encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "peacesim", "run", str(scen), "--months", "24", "--out",
                        str(tmp_path / "out"), *(["--quiet"] if quiet else [])], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "timeline.png").exists()
    if quiet:
        assert r.stderr == "" and r.stdout == ""
    else:
        assert r.stderr.splitlines() == [
            "peacesim: note: the figures' font cannot draw some characters of the names or titles ('တ', "
            "\\N{MYANMAR LETTER TA}, and maybe others); they are drawn as empty boxes"]


@pytest.mark.parametrize("seed", ["92233720368547759", "-3", "x", "1.5"])
def test_validate_refuses_a_seed_whose_patterns_seeds_would_not_fit(seed, tmp_path, capsys):
    """Pattern k's runs derive from the master seed 100 * N + k: a larger N was taken, and every
    pattern then read 'does not hold' with the reason only inside the report."""
    assert cli.main(["validate", "--quick", "--only", "1", "--seed", seed, "--out", str(tmp_path / "v")]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert f"--seed: '{seed}' is not allowed; expected a whole number from 0 to 92233720368547757" in line
    assert not (tmp_path / "v").exists()


def test_a_terminal_that_shows_only_ascii_gets_escapes_not_a_traceback(tmp_path):
    """Under LANG=C a scenario's 'ö' or a table's '·' stopped 'peacesim show' and 'peacesim
    interventions' with UnicodeEncodeError, and 'peacesim run' after writing its files."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "PYTHONUTF8", "PYTHONIOENCODING"))}
    env.update(LC_ALL="C", PYTHONUTF8="0", PYTHONCOERCECLOCALE="0")
    for args in (["show", "contact_group"], ["interventions"]):
        done = subprocess.run([sys.executable, "-m", "peacesim", *args], capture_output=True, env=env, cwd=tmp_path)
        assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr
    shown = subprocess.run([sys.executable, "-m", "peacesim", "show", "contact_group"], capture_output=True,
                           env=env, cwd=tmp_path).stdout
    assert b"B\\xf6hmelt" in shown  # the character escaped, the rest as it is


def test_output_that_cannot_be_written_names_standard_output(monkeypatch, capsys):
    """'peacesim show reference > full-disk/file' said 'error: ?: No space left on device'."""
    import errno
    import io

    class Full(io.RawIOBase):
        def writable(self):
            return True

        def write(self, b):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BufferedWriter(Full()), encoding="utf-8"))  # as a real one
    assert cli.main(["show", "reference"]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line == f"peacesim: error: standard output: cannot write: {os.strerror(errno.ENOSPC)}"


def test_a_note_met_twice_in_one_command_is_said_once(tmp_path, capsys):
    """The scenario is cast more than once in a run (checked, then built): its note about a lead
    left out was printed twice."""
    args = ["run", "reference", "--months", "12", "--no-figure", "--out", str(tmp_path / "o"),
            "--set", "mediator[1].lead=false", "--set", "mediator[3].lead=true", "--set", "mediators=2"]
    assert cli.main(args) == 0
    err = capsys.readouterr().err
    assert err.count("its designated lead, 'the regional organisation', is not among them") == 1
    assert err.count("mediator[3].lead has no effect") == 1


@pytest.mark.parametrize("args,command", [(["run", "reference", "extra"], "peacesim run"),
                                          (["sweep", "x.toml", "--bogus"], "peacesim sweep"),
                                          (["bogus-command"], "peacesim")])
def test_a_refused_argument_points_to_its_command_s_help(args, command):
    """'peacesim run reference extra' pointed to 'peacesim --help', which does not list run's options."""
    with pytest.raises(SystemExit), contextlib.redirect_stderr(io.StringIO()) as err:
        cli.main(args)
    assert err.getvalue().strip().endswith(f"(see '{command} --help')")


def test_out_naming_a_link_that_leads_nowhere_says_so(tmp_path, capsys):
    """'--out dang' with dang a link to a missing folder said 'cannot create the folder: File exists'."""
    (tmp_path / "dang").symlink_to(tmp_path / "nowhere")
    assert cli.main(["run", "reference", "--months", "12", "--no-figure", "--out", str(tmp_path / "dang")]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "a link that leads to no folder" in line and "nowhere" in line
    assert not (tmp_path / "nowhere").exists()


def test_the_key_events_printed_say_what_outlasts_the_run(tmp_path, capsys):
    """'peacesim run reference --seed 2 --months 12' printed 'it stands idle for 15 months' of a gap
    that began in month 6, as narrative.txt no longer did."""
    assert cli.main(["run", "reference", "--seed", "2", "--months", "12", "--no-figure", "--out", str(tmp_path / "o")]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "stands idle for 15 months, past the end of the run" in printed


def test_quiet_says_no_notes(tmp_path, capsys):
    """--quiet prints nothing on success: notes included, as the note on glyphs already was."""
    args = ["run", "reference", "--months", "12", "--no-figure", "--quiet", "--out", str(tmp_path / "o"),
            "--set", "mediator.bias=0.5"]
    assert cli.main(args) == 0
    assert capsys.readouterr().err == ""


def test_counts_in_the_commands_lines_are_in_words(tmp_path, capsys):
    """'1 design points', '7280 runs', '1 runs done' and 'up to 3 waves of 1 points'."""
    assert cli.main(["experiments"]) == 0
    out = capsys.readouterr().out
    assert "1,820 points x 4 replicates = 7,280 runs" in out and "= 3,840 runs)" in out
    exp = tmp_path / "one.toml"
    exp.write_text('[experiment]\ntitle = "one"\nscenario = "reference"\nreplicates = 1\nmaster_seed = 1\n\n'
                   '[parameters]\nmonths = 12\n', encoding="utf-8")
    assert cli.main(["sweep", str(exp), "--out", str(tmp_path / "o"), "--executor", "serial", "--quiet",
                     "--no-figures"]) == 0
    out = capsys.readouterr().out
    assert "one: 1 design point x 1 replicate = 1 run (serial)" in out and "1 run done in" in out


def test_workers_with_the_serial_executor_is_refused(tmp_path, capsys):
    """'--executor serial --workers 4' ran one run at a time without a word."""
    assert cli.main(["sweep", "staff_rotation", "--executor", "serial", "--workers", "4", "--out",
                     str(tmp_path / "o")]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "--workers 4 is not used with --executor serial" in line and not (tmp_path / "o").exists()


def test_ctrl_c_while_the_command_starts_is_one_line(tmp_path):
    """Ctrl-C pressed while the command's modules load ends it as it does later: one line, 130."""
    code = ("import sys\n"
            "class Interrupt:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'peacesim.cli':\n"
            "            raise KeyboardInterrupt\n"
            "sys.meta_path.insert(0, Interrupt())\n"
            "from peacesim.__main__ import command\n"
            "sys.exit(command())\n")
    done = subprocess.run([sys.executable, "-c", code, "scenarios"], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)
    assert done.returncode == 130
    assert done.stderr == "peacesim: interrupted\n" and done.stdout == ""


def test_outcome_json_holds_the_actors_and_interventions_that_made_the_run(tmp_path):
    """An actor's override and an intervention given from Python are in outcome.json (the
    model-wide parameters alone did not tell this run from the scenario's own)."""
    from peacesim.output import write_run

    given = [{"month": 5, "kind": "rotate", "actor": "the UN envoy"}]
    r = peacesim.run_scenario("reference", seed=3, months=24, overrides={"party[1].strength": 0.9},
                              interventions=given)
    plain = peacesim.run_scenario("reference", seed=3, months=24)
    assert r.params == plain.params and r.actors != plain.actors
    doc = strict_json(write_run(r, tmp_path / "out", figure=False)["outcome.json"])
    assert doc["actors"]["party"][0] == {**plain.actors["party"][0], "strength": 0.9}
    assert doc["interventions"] == to_jsonable(r.interventions) and doc["interventions"][0]["kind"] == "rotate"
    assert set(doc["actors"]) == set(plain.actors)
