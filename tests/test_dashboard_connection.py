"""A page whose browser is too busy to read for a while keeps its connection to the dashboard.

The server pings every page and used to drop a page's connection when the answer was 20 s late.
Under load (thirty tabs on two cores) a ping waits behind the drawings sent before it, and a busy
browser read it late: the page reconnected, but what the server sent while it was away never
reached it (Solara sends it to no connection), nor did a click sent as the connection closed. The
load test's tab whose Step was never answered is one such page.

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
