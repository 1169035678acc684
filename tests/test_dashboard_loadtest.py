"""The dashboard's load test (``python -m peacesim.dashboard.loadtest``): options a trainer types
wrong are refused in one line before any server or browser starts."""

from __future__ import annotations

import pytest

from peacesim.dashboard import loadtest


@pytest.fixture
def no_server(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a server was started for options that cannot run")
    monkeypatch.setattr(loadtest, "start_server", refuse)


@pytest.mark.parametrize("argv, needle", [
    (["--sessions", "0"], "--sessions '0' is not allowed; expected a whole number of tabs >= 1"),
    (["--sessions", "abc"], "--sessions 'abc' is not allowed"),
    (["--steps", "0"], "--steps '0' is not allowed; expected a whole number of steps >= 1"),
    (["--steps", "-1"], "--steps '-1' is not allowed"),
    (["--steps", "2.5"], "--steps '2.5' is not allowed"),
    (["--timeout", "0"], "--timeout '0' is not allowed; expected a number of seconds > 0"),
    (["--timeout", "nan"], "--timeout 'nan' is not allowed"),
    (["--play", "-5"], "--play '-5' is not allowed; expected a number of seconds >= 0"),
])
def test_an_option_that_cannot_run_is_one_line_and_exit_2(argv, needle, capsys, no_server):
    assert loadtest.main(argv) == 2
    err = capsys.readouterr().err
    assert err == f"error: {needle}" + err.split(needle, 1)[1] and err.count("\n") == 1, err


def test_an_out_that_is_a_folder_is_refused_before_the_test(tmp_path, capsys, no_server):
    assert loadtest.main(["--sessions", "1", "--steps", "1", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --out '{tmp_path}' is not allowed") and err.count("\n") == 1


def test_figures_that_cannot_be_written_are_one_line_and_still_printed(tmp_path, capsys, monkeypatch):
    class Server:
        pid = 0

        def terminate(self):
            pass

        def wait(self, timeout=None):
            return 0

    async def run(url, sessions, steps, pid, play):
        return {"sessions": sessions, "own_model_each": True}

    monkeypatch.setattr(loadtest, "start_server", lambda port: Server())
    monkeypatch.setattr(loadtest, "_run", run)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n", encoding="utf-8")
    assert loadtest.main(["--sessions", "1", "--steps", "1", "--out", str(blocker / "load.json")]) == 1
    out = capsys.readouterr()
    assert '"own_model_each": true' in out.out  # the figures are not lost
    assert out.err.startswith(f"error: --out {blocker / 'load.json'}: cannot write the figures")
    assert out.err.count("\n") == 1 and blocker.read_text(encoding="utf-8") == "not a folder\n"
