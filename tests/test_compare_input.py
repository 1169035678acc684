"""``peacesim compare``: comparison files that are refused in one line before anything runs."""

from __future__ import annotations

import pytest
from test_compare import SMALL, _bad

from peacesim import InputError, cli

BAD = [
    ("an escape sequence in a title", lambda t: _bad(t, 'title = "Every mediator on its own"',
                                                      'title = "Every mediator\\u001b[2J on its own"'),
     "strategy.crowded.title = 'Every mediator\\u001B[2J on its own' is not allowed: it holds a control character "
     "(U+001B); expected text, line breaks and tabs"),
    ("a carriage return in a short name", lambda t: _bad(t, 'short = "verification"', 'short = "verification\\rX"'),
     "strategy.verified.short = 'verification\\u000DX' is not allowed: it holds a control character (U+000D)"),
    ("a bell in the question", lambda t: _bad(t, 'question = "Which', 'question = "\\u0007Which'),
     "comparison.question = '\\u0007Which strategy"),
    ("a C1 control in a description", lambda t: _bad(t, 'description = "No coordination."',
                                                      'description = "No \\u009b2J coordination."'),
     "strategy.crowded.description = 'No \\u009B2J coordination.' is not allowed: it holds a control character "
     "(U+009B)"),
    ("a title too long for the figures", lambda t: _bad(t, 'title = "Every mediator on its own"',
                                                         f'title = "{"very " * 40}long"'),
     "strategy.crowded.title = 'very very very very very very very very very very very very '... (204 characters) "
     "is too long: at most 150 characters are allowed"),
    ("two strategies with one title", lambda t: _bad(t, 'title = "Verification and long grants"',
                                                      'title = "every mediator on its OWN"'),
     "strategy.verified.title = 'every mediator on its OWN' is also the title or short name of strategy.crowded; "
     "each strategy needs names of its own"),
    ("a short name that is another's title", lambda t: _bad(t, 'short = "verification"',
                                                             'short = "The reference process"'),
     "strategy.verified.short = 'The reference process' is also the title or short name of strategy.as_is"),
    ("rank_by as a list", lambda t: _bad(t, "bootstrap = 300", 'bootstrap = 300\nrank_by = ["rmst"]'),
     "comparison.rank_by = ['rmst'] is not allowed; expected the name of one measure, as a text: agreement, "
     "months_to_agreement, durable, survival, rmst, violence"),
]


@pytest.mark.parametrize("case,mutate,expected", BAD, ids=[b[0] for b in BAD])
def test_a_bad_comparison_file_is_refused_with_one_line(tmp_path, capsys, case, mutate, expected):
    """Each was accepted (an escape sequence then cleared the terminal when the ranking was printed;
    a title of thousands of characters made figures thousands of pixels high; two strategies with
    one title could not be told apart in any table or legend) or ended in a traceback (rank_by as
    a list)."""
    path = tmp_path / "bad.toml"
    path.write_text(mutate(SMALL), encoding="utf-8")
    out = tmp_path / "out"
    rc = cli.main(["compare", str(path), "--out", str(out), "--executor", "serial", "--quiet"])
    captured = capsys.readouterr()
    assert rc == 2, captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"peacesim: error: {path}: "), captured.err
    assert expected in lines[0], lines[0]
    assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in captured.err + captured.out if c != "\n")
    assert not out.exists()  # nothing written


def test_a_title_on_several_lines_and_a_title_of_150_characters_are_accepted(tmp_path):
    from test_compare import _spec

    text = _bad(SMALL, 'title = "Every mediator on its own"', 'title = """Every mediator\n\ton its own"""')
    text = _bad(text, 'title = "Verification and long grants"', f'title = "{"v" * 150}"')
    spec = _spec(tmp_path, text)
    assert spec.strategy("crowded").title == "Every mediator on its own"
    assert spec.strategy("verified").title == "v" * 150


def test_a_change_of_one_month_is_said_in_the_singular(tmp_path):
    """'length of a project grant: 1 months (scenario: 12 months)'."""
    from test_compare import _spec

    spec = _spec(tmp_path, _bad(SMALL, "grant_length = 24", "grant_length = 1"))
    assert "length of a project grant: 1 month (scenario: 12 months)" in spec.strategy("verified").changes


def test_runs_stored_for_another_version_are_refused_with_the_sizes_they_were_run_for(tmp_path):
    """The sizes were worked out from the stored design points divided by the strategies of the
    file as it is now: runs of 3 strategies x 5 worlds, refused for a file of 2 strategies, were
    said to be '7 worlds x 8 seeds', and one world was '1 worlds'."""
    import json

    from test_compare import _spec

    from peacesim.comparison import check_stored
    from peacesim.errors import InputError

    spec = _spec(tmp_path, SMALL)
    spec.strategies = spec.strategies[:2]  # now a file of two strategies
    out = tmp_path / "out"
    (out / "runs").mkdir(parents=True)
    made = {"design": [{}] * 15, "intervention": [], "seeds": 8, "worlds": 5, "master_seed": 7, "months": 240}
    manifest = {"experiment_digest": "another", "replicates": 8, "design": [{"values": {}}] * 15,
                "experiment_text": "# peacesim compare: what the runs are made of\n" + json.dumps(made) + "\n"}
    (out / "runs" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(InputError, match=r"holds the runs of another version of this comparison \(5 worlds x 8 "
                                         r"seeds; now 5 worlds x 8 seeds\)"):
        check_stored(out, spec, spec.experiment())
    made.update(worlds=1, seeds=2)
    manifest["experiment_text"] = "# peacesim compare: what the runs are made of\n" + json.dumps(made) + "\n"
    (out / "runs" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(InputError, match=r"\(1 world x 2 seeds; now 5 worlds x 8 seeds\)"):
        check_stored(out, spec, spec.experiment())


def test_a_folder_in_the_place_of_the_report_leaves_the_earlier_tables_as_they_were(tmp_path):
    """report.md made a folder: the new tables were put in place before writing report.md failed,
    while the refusal said that the earlier tables and report were unchanged."""
    from peacesim import fsutil
    from peacesim.comparison import write_outputs

    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.csv").write_text("earlier\n", encoding="utf-8")
    (out / "report.md").mkdir()
    with pytest.raises(fsutil.StorageError, match=r"report\.md: cannot write: Is a directory"):
        write_outputs(out, {"summary.csv": "new\n", "report.md": "# new\n"})
    assert (out / "summary.csv").read_text(encoding="utf-8") == "earlier\n"
    assert sorted(p.name for p in out.iterdir()) == ["report.md", "summary.csv"]  # nothing left beside them


def test_compare_from_python_refuses_a_flag_that_is_not_true_or_false_before_removing_anything(tmp_path):
    """compare(..., fresh='no') removed the comparison's outputs, then run_experiment refused the flag."""
    from peacesim.comparison import compare, span_words

    out = tmp_path / "cmp"
    out.mkdir()
    (out / "report.md").write_text("earlier\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"^fresh = 'no' is not allowed; expected True or False$"):
        compare("crowded_field", seeds=2, worlds=1, out=out, fresh="no", executor="serial", progress=False)
    assert (out / "report.md").read_text(encoding="utf-8") == "earlier\n"
    assert span_words(1) == "1 month" and span_words(60) == "five years"
