"""Load test of the dashboard on this machine: N browser tabs open the page at once and step it.

    python -m peacesim.dashboard.loadtest --sessions 30 --steps 10

starts ``peacesim dashboard`` on a free local port, opens N pages in headless Chromium (Debian's
``/usr/bin/chromium``, driven by Playwright), waits until every page shows its model, then has
every page click Step ``--steps`` times at once, each waiting for its own month to appear, and
(with ``--play SECONDS``) then has every page press play for that long. It reports the time to
open, steps per second of each session (median, slowest), a step's round trip, the CPU share of the
server and of the browsers while stepping, the months each tab advanced while playing, the
server's memory (resident set) before and after and per session, and checks that every page ended
at its own month ``--steps`` (no shared model) and how many times the server dropped a page's
connection (``connections_dropped``: a click sent as it closed is lost). A tab whose
Step is not answered stops the test with one line saying what its page showed, whether its
connection was dropped, and what a second click showed. The whole run is bounded by ``--timeout``
seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from ..words import times

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s(pid: int) -> float:
    """User and system CPU time of a process so far, in seconds (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, scenario: str = "reference") -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "peacesim", "dashboard", scenario, "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5):
                return proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the dashboard did not start")


STEP_WAIT_S = 600  # seconds a tab waits for the month its click on Step asked for
PROBE_WAIT_S = 60  # seconds a stuck tab waits for the answer to a second click, which tells why


def _month_of(text: str) -> int | None:
    parts = text.split()
    return int(parts[1]) if len(parts) > 1 and parts[0] == "Month" and parts[1].isdigit() else None


async def _stuck(page, step, k: int, dropped: list) -> str:
    """Why a tab's click on Step for month ``k`` was not answered, as far as the page can tell: its
    connection to the server (dropped and re-opened: a click sent as the server closed it is lost),
    and what a second click shows (month k: the first click never reached the model; month k + 1:
    the model stepped month k but the page was never told)."""
    shown = await page.locator(".peacesim-month").inner_text()
    said = (f"a tab clicked Step for month {k} and its page still showed {shown!r} {STEP_WAIT_S} s later "
            "(the click was not answered)")
    said += (f"; its connection to the server was dropped and re-opened {times(len(dropped))} during the test"
             if dropped else "; its connection to the server was never dropped")
    try:  # Solara's own notice of a session it could not restore after a reconnection
        if await page.locator("text=Please refresh the page >> visible=true").count():
            said += "; the page asked to be refreshed (its session was not restored after a reconnection)"
    except Exception:  # noqa: BLE001 - the notice is a hint, the line above the finding
        pass
    try:
        await step.click(timeout=PROBE_WAIT_S * 1000)
        await page.wait_for_function(
            f"() => document.querySelector('.peacesim-month').innerText !== {shown!r}", timeout=PROBE_WAIT_S * 1000)
        after = await page.locator(".peacesim-month").inner_text()
    except Exception:  # noqa: BLE001 - whatever went wrong, the line above is the finding
        return said + f"; a second click was not answered either within {PROBE_WAIT_S} s"
    got = _month_of(after)
    why = ("the first click never stepped the model" if got == k else
           f"the model had stepped month {k} but the page was never told" if got == k + 1 else "")
    return said + f"; a second click showed {after!r}" + (f" ({why})" if why else "")


class TabStuck(Exception):
    """A tab's page did not show the month it stepped to."""


async def _session(browser, url: str, steps: int, opened: asyncio.Event, n_open: list, n: int, out: list,
                   marks: dict):
    page = await browser.new_page(viewport={"width": 1500, "height": 1000})
    dropped: list[float] = []  # when the page's connection to the server closed (it then re-opens)
    page.on("websocket", lambda ws: ws.on("close", lambda _ws: dropped.append(time.monotonic())))
    t0 = time.monotonic()
    await page.goto(url, timeout=600_000, wait_until="commit")
    await page.locator(".peacesim-month").wait_for(timeout=600_000)
    load = time.monotonic() - t0
    n_open.append(1)
    print(f"  {len(n_open)}/{n} tabs open after {load:.0f} s", file=sys.stderr, flush=True)
    if len(n_open) == n:
        marks["opened"] = time.monotonic()
        opened.set()
    await opened.wait()
    t1 = time.monotonic()
    step = page.get_by_role("button", name="Step", exact=True)
    done, trips = 0, []
    from playwright.async_api import TimeoutError as PageTimeout

    for k in range(1, steps + 1):
        a = time.monotonic()
        await step.click(timeout=STEP_WAIT_S * 1000)  # the wait below bounds the step, not Playwright's 30 s
        try:
            await page.wait_for_function(
                f"() => document.querySelector('.peacesim-month').innerText.startsWith('Month {k} ')",
                timeout=STEP_WAIT_S * 1000)
        except PageTimeout:
            raise TabStuck(await _stuck(page, step, k, dropped)) from None
        trips.append(time.monotonic() - a)
        done = k
    took = time.monotonic() - t1
    print(f"  a tab did {done} steps in {took:.0f} s", file=sys.stderr, flush=True)
    final = await page.locator(".peacesim-month").inner_text()
    row = {"load_s": load, "step_s": took, "steps_per_s": done / took, "final": final, "done": done, "trips": trips}
    if marks.get("play"):  # then every tab plays (the ▶ button) for the same number of seconds
        marks.setdefault("stepped", asyncio.Event())
        marks.setdefault("n_stepped", []).append(1)
        if len(marks["n_stepped"]) == n:
            marks["stepped"].set()
        await marks["stepped"].wait()
        a = time.monotonic()
        for name in ("▶", "❚❚"):
            try:  # a browser busy drawing many playing tabs may take a click late: as long as a step may
                await page.get_by_role("button", name=name, exact=True).click(timeout=STEP_WAIT_S * 1000)
            except PageTimeout:
                raise TabStuck(f"a tab's browser did not take its click on {name} within {STEP_WAIT_S} s while the "
                               "tabs played (the browsers, not the server, were saturated)") from None
            if name == "▶":
                await asyncio.sleep(marks["play"])
        await asyncio.sleep(2.0)
        played = int((await page.locator(".peacesim-month").inner_text()).split()[1]) - done
        row["played_months"] = played
        row["played_s"] = time.monotonic() - a
    row["connections_dropped"] = len(dropped)
    out.append(row)


def browser_cpu_s() -> float:
    """CPU time so far of every Chromium process on the machine (the load test's browsers)."""
    total = 0.0
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            if "chrom" in (d / "comm").read_text():
                total += cpu_s(int(d.name))
        except OSError:
            continue
    return total


async def _run(url: str, sessions: int, steps: int, server_pid: int, play: float = 0.0) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        base = rss_mb(server_pid)
        opened, n_open, out, marks = asyncio.Event(), [], [], {"play": play}
        t0 = time.monotonic()
        c0 = cpu_s(server_pid)

        async def opened_cpu():
            await opened.wait()
            marks["cpu_opened"] = cpu_s(server_pid)
            marks["browser_cpu_opened"] = browser_cpu_s()
            marks["t_opened"] = time.monotonic()
            marks["rss_opened"] = rss_mb(server_pid)

        async def stepped_cpu():
            await opened.wait()
            while len(out) + len(marks.get("n_stepped", [])) < sessions:
                await asyncio.sleep(0.05)
            marks["cpu_stepped"] = cpu_s(server_pid)
            marks["browser_cpu_stepped"] = browser_cpu_s()
            marks["t_stepped"] = time.monotonic()
        await asyncio.gather(opened_cpu(), stepped_cpu(),
                             *[_session(browser, url, steps, opened, n_open, sessions, out, marks)
                               for _ in range(sessions)])
        wall = time.monotonic() - t0
        c1 = marks["cpu_stepped"]
        after = rss_mb(server_pid)
        await browser.close()
    rates = [r["steps_per_s"] for r in out]
    trips = sorted(t for r in out for t in r["trips"])
    stepping_s = marks["t_stepped"] - marks["t_opened"]
    got = {
        "sessions": sessions, "steps": steps, "cpus": os.cpu_count(), "wall_s": round(wall, 1),
        "open_s_max": round(max(r["load_s"] for r in out), 1),
        "steps_per_s_median": round(statistics.median(rates), 3), "steps_per_s_min": round(min(rates), 3),
        "steps_per_s_all_sessions": round(sessions * steps / max(r["step_s"] for r in out), 2),
        "server_cpu_s_opening_all": round(marks["cpu_opened"] - c0, 1),
        "server_cpu_s_per_step": round((c1 - marks["cpu_opened"]) / max(1, sum(r["done"] for r in out)), 3),
        "server_rss_mb_before": round(base, 1), "server_rss_mb_opened": round(marks["rss_opened"], 1),
        "server_rss_mb_after": round(after, 1),
        "rss_mb_per_session": round((after - base) / sessions, 1),
        "own_model_each": all(r["final"].startswith(f"Month {steps} ") for r in out),
        # a page whose connection the server dropped (and the page re-opened) may have lost a click
        "connections_dropped": sum(r["connections_dropped"] for r in out),
        "step_round_trip_s_median": round(statistics.median(trips), 2),
        "step_round_trip_s_p90": round(trips[int(0.9 * (len(trips) - 1))], 2),
        "server_cpu_share_while_stepping": round((c1 - marks["cpu_opened"]) / stepping_s, 2),
        "browsers_cpu_share_while_stepping": round((marks["browser_cpu_stepped"] - marks["browser_cpu_opened"])
                                                   / stepping_s, 2),
    }
    if play:
        months = [r["played_months"] for r in out]
        got.update({"play_s": play, "played_months_per_s_median": round(statistics.median(months) / play, 3),
                    "played_months_per_s_min": round(min(months) / play, 3),
                    "played_months_all_sessions_per_s": round(sum(months) / play, 2)})
    return got


def _number(option: str, text: str, kind: type, low: float, allowed: str) -> float:
    """The value of ``option`` typed as ``text``, or ValueError with the one line that refuses it."""
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or value != value or value in (float("inf"), float("-inf")) or value < low:
        raise ValueError(f"{option} {text!r} is not allowed; expected {allowed}")
    return value


def _checked(a: argparse.Namespace) -> str:
    """Why the options cannot run ('' when they can): checked before any server or browser starts,
    so that a typo is not found after a test of many minutes (or never: no tab to wait for)."""
    try:
        a.sessions = _number("--sessions", a.sessions, int, 1, "a whole number of tabs >= 1")
        a.steps = _number("--steps", a.steps, int, 1, "a whole number of steps >= 1")
        a.timeout = _number("--timeout", a.timeout, float, 1e-9, "a number of seconds > 0")
        a.play = _number("--play", a.play, float, 0, "a number of seconds >= 0 (0: no play phase)")
    except ValueError as exc:
        return str(exc)
    if a.out is not None and (not a.out.strip() or Path(a.out).is_dir()):
        return f"--out {a.out!r} is not allowed; expected the name of a JSON file to write (not a folder)"
    return ""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m peacesim.dashboard.loadtest", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", default="30", help="browser tabs at once (default 30)")
    ap.add_argument("--steps", default="10", help="Step clicks of each tab (default 10)")
    ap.add_argument("--timeout", default="900", help="seconds for the whole test (default 900)")
    ap.add_argument("--play", default="0",
                    help="then every tab presses play for this many seconds (default 0: no play phase)")
    ap.add_argument("--out", default=None, help="write the figures as JSON to this file too")
    a = ap.parse_args(argv)
    problem = _checked(a)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if not Path(CHROMIUM).exists():
        print(f"error: {CHROMIUM} is missing; run 'make browser'", file=sys.stderr)
        return 2
    port = _free_port()
    server = start_server(port)
    try:
        got = asyncio.run(asyncio.wait_for(_run(f"http://127.0.0.1:{port}/", a.sessions, a.steps, server.pid,
                                                a.play), a.timeout))
    except TimeoutError:
        print(f"error: the load test did not finish in {a.timeout:.0f} s", file=sys.stderr)
        return 1
    except TabStuck as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    text = json.dumps(got, indent=2)
    print(text)
    if a.out:
        try:
            Path(a.out).parent.mkdir(parents=True, exist_ok=True)
            Path(a.out).write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            print(f"error: --out {a.out}: cannot write the figures ({exc.strerror or exc}); they are printed above",
                  file=sys.stderr)
            return 1
    return 0 if got["own_model_each"] else 1


if __name__ == "__main__":
    sys.exit(main())
