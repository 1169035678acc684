"""The dashboard's load test (``python -m peacesim.dashboard.loadtest``): options a trainer types
wrong are refused in one line before any server or browser starts."""

from __future__ import annotations

import pytest

from peacesim.dashboard import loadtest


class FakeServer:
    """Stands for the dashboard's server process where no browser is driven."""

    pid = 0

    def terminate(self):
        pass

    def wait(self, timeout=None):
        return 0


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
    async def run(url, sessions, steps, pid, play):
        return {"sessions": sessions, "own_model_each": True}

    monkeypatch.setattr(loadtest, "start_server", lambda port: FakeServer())
    monkeypatch.setattr(loadtest, "_run", run)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n", encoding="utf-8")
    assert loadtest.main(["--sessions", "1", "--steps", "1", "--out", str(blocker / "load.json")]) == 1
    out = capsys.readouterr()
    assert '"own_model_each": true' in out.out  # the figures are not lost
    assert out.err.startswith(f"error: --out {blocker / 'load.json'}: cannot write the figures")
    assert out.err.count("\n") == 1 and blocker.read_text(encoding="utf-8") == "not a folder\n"


@pytest.mark.parametrize("second, dropped, says", [
    ("Month 4 / 240", 1, "; its connection to the server was dropped and re-opened once during the test; a second "
                         "click showed 'Month 4 / 240' (the model had stepped month 3 but the page was never told)"),
    ("Month 3 / 240", 0, "; its connection to the server was never dropped; a second click showed 'Month 3 / 240' "
                         "(the first click never stepped the model)"),
    (None, 2, "; its connection to the server was dropped and re-opened twice during the test; the page asked to be "
              "refreshed (its session was not restored after a reconnection); a second click was not answered either "
              f"within {loadtest.PROBE_WAIT_S} s"),
])
def test_a_step_the_page_never_shows_is_one_line_naming_the_month(second, dropped, says, capsys, monkeypatch):
    """A tab whose click on Step is not answered stops the test with one line saying which month
    it waited for, what its page showed, whether its connection to the server was dropped, and
    what a second click showed; it ended in Playwright's traceback, and said nothing of why."""
    import asyncio

    from playwright.async_api import TimeoutError as PageTimeout

    state = {"shown": "Month 2 / 240", "clicks": 0}

    class Socket:
        def on(self, event, handler):
            if event == "close":
                for _ in range(dropped):
                    handler(self)

    class Element:
        async def wait_for(self, timeout=None):
            pass

        async def count(self):
            return int(second is None)  # the page that answers nothing asks to be refreshed

        async def inner_text(self):
            return state["shown"]

        async def click(self, timeout=None):
            state["clicks"] += 1
            if state["clicks"] <= 2:
                state["shown"] = f"Month {state['clicks']} / 240"
            elif state["clicks"] == 4 and second is not None:  # the second click on month 3
                state["shown"] = second

    class Page:
        def on(self, event, handler):
            if event == "websocket":
                handler(Socket())

        async def goto(self, url, **kwargs):
            pass

        def locator(self, selector):
            return Element()

        def get_by_role(self, role, **kwargs):
            return Element()

        async def wait_for_function(self, expression, timeout=None):
            if "Month 3 " in expression or ("!==" in expression and second is None):  # not answered
                raise PageTimeout("Timeout exceeded")

    class Browser:
        async def new_page(self, **kwargs):
            return Page()

    with pytest.raises(loadtest.TabStuck) as err:
        asyncio.run(loadtest._session(Browser(), "http://x/", 5, asyncio.Event(), [], 1, [], {}))
    assert str(err.value) == (f"a tab clicked Step for month 3 and its page still showed 'Month 2 / 240' "
                              f"{loadtest.STEP_WAIT_S} s later (the click was not answered){says}")

    async def run(url, sessions, steps, pid, play):
        raise loadtest.TabStuck("a tab clicked Step for month 3 and its page still showed 'Month 2 / 240'")

    monkeypatch.setattr(loadtest, "start_server", lambda port: FakeServer())
    monkeypatch.setattr(loadtest, "_run", run)
    capsys.readouterr()  # the tab's own progress lines above
    assert loadtest.main(["--sessions", "1", "--steps", "5"]) == 1
    err = capsys.readouterr().err
    assert err == "error: a tab clicked Step for month 3 and its page still showed 'Month 2 / 240'\n"


def test_a_click_the_busy_browsers_do_not_take_while_the_tabs_play_is_one_line():
    """With 30 tabs playing, a browser took a click on ❚❚ later than Playwright's own 30 s, and the
    load test ended in Playwright's traceback."""
    import asyncio

    from playwright.async_api import TimeoutError as PageTimeout

    state = {"month": 0, "waits": []}

    class Element:
        def __init__(self, name=None):
            self.name = name

        async def wait_for(self, timeout=None):
            pass

        async def inner_text(self):
            return f"Month {state['month']} / 240"

        async def click(self, timeout=None):
            state["waits"].append(timeout)
            if self.name == "Step":
                state["month"] += 1
            elif self.name == "❚❚":
                raise PageTimeout("Timeout exceeded")

    class Page:
        def on(self, event, handler):
            pass

        async def goto(self, url, **kwargs):
            pass

        def locator(self, selector):
            return Element()

        def get_by_role(self, role, name=None, **kwargs):
            return Element(name)

        async def wait_for_function(self, expression, timeout=None):
            pass

    class Browser:
        async def new_page(self, **kwargs):
            return Page()

    with pytest.raises(loadtest.TabStuck) as err:
        asyncio.run(loadtest._session(Browser(), "http://x/", 2, asyncio.Event(), [], 1, [], {"play": 0.01}))
    assert str(err.value) == (f"a tab's browser did not take its click on ❚❚ within {loadtest.STEP_WAIT_S} s while "
                              "the tabs played (the browsers, not the server, were saturated)")
    assert state["waits"] == [loadtest.STEP_WAIT_S * 1000] * 4  # two steps, ▶ and ❚❚: none at Playwright's 30 s
