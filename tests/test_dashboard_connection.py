"""A page whose browser is too busy to read for a while keeps its connection to the dashboard, and
a page whose connection was dropped shows the run as it is once it reconnects.

The server pings every page and used to drop a page's connection when the answer was 20 s late:
a browser that stalled that long (a laptop under heavy load) lost its connection. The page
reconnects and fetches the state of the whole page again, but a click it sent as the server closed
the connection is lost, as the load test's tab whose Step was never answered (its page at the
month before, the server idle) looked. (Only the browser's page stalled, its network process
answering, the connection was kept: a stalled page alone does not drop it.)

Here the browser is stopped outright (SIGSTOP) for longer than the old allowance of 20 s for the
ping plus 20 s for the answer: the page keeps its connection and the click after it is answered.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

# test_browser skips its module (so this one too) when Chromium is missing, and fails under CI
from test_browser import browser, server, watched  # noqa: F401

from peacesim.dashboard import PING_INTERVAL_S, PING_TIMEOUT_S

FROZEN_S = 45  # longer than 20 s + 20 s, the server's defaults


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def chromium_processes() -> list[int]:
    """This test's Chromium (started by Playwright's driver, a child of this process)."""
    found = []
    for q in descendants(os.getpid()):
        try:
            if "chrom" in Path(f"/proc/{q}/comm").read_text():
                found.append(q)
        except OSError:
            continue
    return found


def test_a_page_whose_browser_stops_reading_for_45_s_keeps_its_connection(server, browser):  # noqa: F811
    assert PING_INTERVAL_S + PING_TIMEOUT_S > FROZEN_S + 60
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(120_000)
    closed: list[str] = []
    page.on("websocket", lambda ws: ws.on("close", lambda w: closed.append(w.url)))
    page.goto(server)
    page.locator(".peacesim-month").wait_for(timeout=90_000)
    step = page.get_by_role("button", name="Step", exact=True)
    step.click()
    page.wait_for_function("() => document.querySelector('.peacesim-month').innerText.startsWith('Month 1 ')")
    stopped = chromium_processes()
    assert stopped
    try:
        for q in stopped:
            os.kill(q, signal.SIGSTOP)
        time.sleep(FROZEN_S)
    finally:
        for q in stopped:
            os.kill(q, signal.SIGCONT)
    step.click()
    page.wait_for_function("() => document.querySelector('.peacesim-month').innerText.startsWith('Month 2 ')",
                           timeout=60_000)
    assert closed == [], "the server dropped the page's connection while its browser was busy"
    page.close()


def test_a_page_whose_connection_was_dropped_shows_the_run_as_it_is_once_it_reconnects(browser, tmp_path):  # noqa: F811
    """While a page's connection is closed, the server's updates go nowhere: a run that ▶ played to
    its end meanwhile must not stay, on the page, at the month shown before, with ❚❚. Solara's page
    fetches every widget's state again when it reconnects; this holds the dashboard to it (the play
    loop, the buttons and the month drawn after the drop).

    The server here drops a connection whose ping is not answered within 2 s, so that stopping the
    browser for 25 s drops it while ▶ plays the run (24 months a step, 2 s apart) to its end."""
    import socket
    import subprocess
    import sys
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = ("import peacesim.dashboard as d; d.PING_INTERVAL_S = 1.0; d.PING_TIMEOUT_S = 2.0; "
            f"d.serve('reference', port={port})")
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5):
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
                time.sleep(0.5)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(120_000)
        closed: list[str] = []
        page.on("websocket", lambda ws: ws.on("close", lambda w: closed.append(w.url)))
        page.goto(url)
        page.locator(".peacesim-month").wait_for(timeout=90_000)
        thumb = page.locator(".peacesim-slider", has_text="Months per step").locator("[role=slider]").first
        thumb.focus()
        page.keyboard.press("End")  # 24 months a step: ten steps to the horizon
        page.wait_for_function("() => [...document.querySelectorAll('.peacesim-slider-value')].some("
                               "e => e.innerText === '24')")
        pause = page.locator(".peacesim-slider", has_text="Pause between steps").locator("[role=slider]").first
        pause.focus()
        page.keyboard.press("End")  # 2 s between steps: the run ends some 20 s after ▶
        page.wait_for_function("() => [...document.querySelectorAll('.peacesim-slider-value')].some("
                               "e => e.innerText === '2000')")
        page.get_by_role("button", name="▶", exact=True).click()
        page.wait_for_function("() => document.querySelector('.peacesim-month').innerText.startsWith('Month 24 ')")
        stopped = chromium_processes()
        try:
            for q in stopped:
                os.kill(q, signal.SIGSTOP)
            time.sleep(25)  # dropped after 3 s; the run ends meanwhile, its last months sent to no connection
        finally:
            for q in stopped:
                os.kill(q, signal.SIGCONT)
        # (while the page is drawn anew, it has no month for a moment)
        page.wait_for_function("() => (document.querySelector('.peacesim-month') || {innerText: ''})"
                               ".innerText.startsWith('Month 240 ')", timeout=60_000)
        page.get_by_role("button", name="▶", exact=True).wait_for(timeout=30_000)  # not ❚❚: the run has ended
        assert closed, "the connection was not dropped: the test did not test a reconnection"
        page.get_by_role("button", name="Reset", exact=True).click()  # and the page answers
        page.wait_for_function("() => document.querySelector('.peacesim-month').innerText.startsWith('Month 0 ')")
        page.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
