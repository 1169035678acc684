"""What a month stepped in the dashboard costs the server (a benchmark, not a test).

One Python process serves every tab of ``peacesim dashboard``; after each month a tab steps it
redraws that tab's timeline and network. Two measurements, in one invocation:

1. **The figures.** The timeline drawn as the page draws it (:func:`peacesim.dashboard.figures.timeline_svg`)
   against the same run drawn with matplotlib (:func:`peacesim.plotting.plot_timeline`, written as
   SVG as the page used to), and the network and the spread of 100 seeds as the page draws them;
   on a reference run at month 120, interleaved repeats, medians and the spread.
2. **The page on the server.** The page rendered in this process with Solara's own test renderer
   (``solara.render``, no browser and no websocket), clicking Step ``--steps`` times: the server's
   work per month stepped (model step, page re-render, figures), and so how many months per second
   one server process could step for all tabs together. The browsers, the network and the
   websocket's serialisation are not in this figure; the load test
   (``python -m peacesim.dashboard.loadtest``) measures them with real browsers. (Pages rendered
   side by side here share one kernel context and so Mesa's update counter: a step on one redraws
   them all, which tabs of a real server, each with its own context, do not. Hence one page.)

    .venv/bin/python benchmarks/bench_dashboard.py [--repeats 7] [--steps 40]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time


def figure_costs(repeats: int) -> dict:
    import matplotlib

    from peacesim.dashboard.figures import network_svg, spread_svg, timeline_svg
    from peacesim.dashboard.session import ClassroomModel, model_kwargs, spread
    from peacesim.plotting import plot_timeline
    from peacesim.result import RunResult
    from peacesim.scenario import load_scenario

    m = ClassroomModel(**model_kwargs(load_scenario("reference"), 1))
    for _ in range(120):
        m.step()
    sp = spread(m.base_scenario, m.overrides)

    def mpl_timeline():
        fig = plot_timeline(RunResult.from_model(m), title="reference, seed 1")
        buf = io.BytesIO()
        with matplotlib.rc_context({"svg.fonttype": "none"}):
            fig.savefig(buf, format="svg")
        fig.clear()

    cases = {
        "timeline, matplotlib (SVG)": mpl_timeline,
        "timeline, direct SVG": lambda: timeline_svg(RunResult.from_model(m), title="reference, seed 1"),
        "network, direct SVG": lambda: network_svg(m.network(), title="The actors"),
        "spread of 100 seeds, direct SVG": lambda: spread_svg(sp, RunResult.from_model(m)),
    }
    for f in cases.values():  # warm up imports and caches
        f()
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(repeats):  # interleaved, so that a noisy moment hits every case
        for k, f in cases.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    return times


def page_costs(pages: int, steps: int) -> dict:
    import ipyvuetify as v
    import solara
    import solara.widgets

    from peacesim.dashboard import app

    t0 = time.perf_counter()
    rendered = [solara.render(app.Page(), handle_error=False) for _ in range(pages)]
    open_s = time.perf_counter() - t0
    buttons = [rc.find(v.Btn, children=["Step"]).widget for _, rc in rendered]
    per_step = []
    c0, w0 = time.process_time(), time.perf_counter()
    for _ in range(steps):
        for b in buttons:
            t = time.perf_counter()
            b.click()
            per_step.append(time.perf_counter() - t)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    months = [w.unsafe_innerHTML for _, rc in rendered for w in rc.find(solara.widgets.HTML).widgets
              if "peacesim-month" in w.attributes.get("class", "")]
    for _, rc in rendered:
        rc.close()
    return {"open_s": open_s, "per_step": per_step, "cpu": cpu, "wall": wall, "n": pages * steps,
            "own_models": len(months) == pages and all(x == f"Month {steps} / 240" for x in months)}


def _stats(xs: list[float]) -> str:
    return f"{statistics.median(xs) * 1e3:8.1f} ms  ({min(xs) * 1e3:.1f} to {max(xs) * 1e3:.1f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--pages", type=int, default=1, help="pages side by side (they share one context: see above)")
    ap.add_argument("--steps", type=int, default=40)
    a = ap.parse_args()
    print(f"load average at the start: {os.getloadavg()[0]:.2f}")
    times = figure_costs(a.repeats)
    print(f"\n1. one figure, {a.repeats} interleaved repeats: median (min to max)")
    for k, xs in times.items():
        print(f"  {k:34s} {_stats(xs)}")
    mpl, direct = times["timeline, matplotlib (SVG)"], times["timeline, direct SVG"]
    ratios = [x / y for x, y in zip(mpl, direct, strict=True)]
    print(f"  timeline, matplotlib / direct: {statistics.median(ratios):.1f}x ({min(ratios):.1f} to {max(ratios):.1f})")

    got = page_costs(a.pages, a.steps)
    print(f"\n2. {a.pages} page(s) in this process (Solara's test renderer), each stepped {a.steps} times in turn")
    print(f"  opening: {got['open_s']:.2f} s ({got['open_s'] / a.pages:.2f} s a page)")
    print(f"  one month stepped and redrawn: {_stats(got['per_step'])}")
    print(f"  CPU per month stepped: {got['cpu'] / got['n'] * 1e3:.1f} ms; "
          f"{got['n'] / got['wall']:.1f} months per second")
    print(f"  every page at month {a.steps}: {got['own_models']}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
