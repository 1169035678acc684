"""Figures and the report of a sensitivity analysis (:mod:`peacesim.sensitivity`).

* :func:`index_bars`: the indices of one method and outcome as bars with their 95% intervals,
  most influential first (Morris mu*; Sobol' S1 beside ST; RBD-FAST S1).
* :func:`morris_plane`: the Morris mu*-sigma plane of one outcome, with the lines sigma/mu* = 0.1,
  0.5 and 1 that separate near-linear, monotonic and non-linear or interacting effects.
* :func:`s2_heatmap`: Sobol' second-order indices of one outcome, when they were computed.
* :func:`report`: the Markdown report that ranks the factors in words, with the noise and the
  convergence verdict.

Drawing goes to :class:`matplotlib.figure.Figure` objects without pyplot; each function takes
``ax=None`` and returns the figure.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.artist import Artist
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from .figtext import as_written
from .words import counted
from .sensitivity_analysis import (MAX_RELATIVE_WIDTH, MORRIS_MIN_EFFECTS, RANK_BY, RBD_RESAMPLES, VERDICTS, ZERO,
                                   sorted_groups)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from .sensitivity import PilotResult, SensitivityAnalysis, SensitivitySpec

__all__ = ["index_bars", "morris_plane", "s2_heatmap", "planned_figures", "report", "pilot_report", "DPI"]

DPI = 150
#: Factors shown in a bar panel at most (the rest are named in the report).
TOP = 20
#: sigma / mu* ratios that separate kinds of effect (Garcia Sanchez et al. 2014, Energy and
#: Buildings 68: below 0.1 linear, below 0.5 monotonic, below 1 almost monotonic, above 1
#: non-linear or interacting).
SIGMA_RATIOS = (0.1, 0.5, 1.0)
_METHOD_NAMES = {"morris": "Morris", "sobol": "Sobol'", "rbd_fast": "RBD-FAST"}
_INDEX_NAMES = {"mu_star": "mu*", "mu": "mu", "sigma": "sigma", "S1": "S1", "ST": "ST", "S2": "S2"}


def _new_ax(ax: Axes | None, size=(7.5, 5.0)) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def _select(table: pd.DataFrame, method: str, outcome: str, index: str) -> pd.DataFrame:
    t = table[(table["method"] == method) & (table["outcome"] == outcome) & (table["index"] == index)
              & (table["parameter_2"].fillna("") == "")]
    return t.set_index("parameter")


def _short(label: str, width: int = 48) -> str:
    return "\n".join(textwrap.wrap(label, width)) if label else label


def _why_not_measured(method: str) -> str:
    """Why an index of ``method`` is missing, in a few words (the report says it in full)."""
    if method == "morris":
        return f"fewer than {MORRIS_MIN_EFFECTS} elementary effects\nwhose two points both have a value"
    return "no index could be computed"


@as_written
def index_bars(table: pd.DataFrame, method: str, outcome: str, *, top: int | None = TOP, label: str = "",
               ax: Axes | None = None) -> Figure:
    """Bars of the indices of ``method`` for ``outcome``, most influential first, with 95% intervals.

    A bar whose interval is missing has no error bar and says "no interval"; an index that is
    missing has no bar and says "not measured". A panel where no index was measured has no scale:
    it says so, and why, inside its frame."""
    order = sorted_groups(table, method, outcome)
    shown = order[:top] if top else order
    fig, ax = _new_ax(ax, (7.0, max(2.5, 0.32 * len(shown) + 1.4)))
    y = np.arange(len(shown))[::-1]
    keys = ["S1", "ST"] if method == "sobol" else [RANK_BY[method]]
    colours = {"S1": "#4c72b0", "ST": "#dd8452", "mu_star": "#4c72b0"}
    height = 0.8 / len(keys)
    sel = {key: _select(table, method, outcome, key).reindex(shown) for key in keys}
    measured = any(np.isfinite(t["estimate"].to_numpy(dtype=float)).any() for t in sel.values())
    ax.set_yticks(y, [s.replace("_", " ") for s in shown], fontsize=8)
    ax.set_ylim(-0.6, len(shown) - 0.4)
    more = f" (top {len(shown)} of {len(order)})" if len(order) > len(shown) else ""
    ax.set_title(_short(f"{label or outcome}{more}", 60), fontsize=9, loc="left")
    if not measured:  # no index: no bars, and no scale to read them on
        ax.set_xlim(0, 1)
        ax.set_xticks([])
        ax.text(0.5, 0.5, f"not measured: {_why_not_measured(method)}", transform=ax.transAxes, ha="center",
                va="center", fontsize=8, color="0.35")
        return fig
    unsure = []
    for k, key in enumerate(keys):
        t = sel[key]
        est = t["estimate"].to_numpy(dtype=float)
        lo, hi = t["low"].to_numpy(dtype=float), t["high"].to_numpy(dtype=float)
        has = np.isfinite(est) & np.isfinite(lo) & np.isfinite(hi)
        pos = y + (len(keys) - 1 - 2 * k) * height / 2
        ax.barh(pos, est, height=height, color=colours.get(key, "#4c72b0"), label=_INDEX_NAMES.get(key, key))
        if has.any():  # a missing interval is not drawn as one of no width
            ax.errorbar(est[has], pos[has], xerr=np.vstack([est - lo, hi - est])[:, has], fmt="none", ecolor="0.2",
                        capsize=2, elinewidth=1)
        for p_, e, h in zip(pos, est, has):  # no index: said, not drawn as a bar of zero
            if not np.isfinite(e):
                ax.text(0, p_, " not measured", va="center", ha="left", fontsize=7, color="0.4")
            elif not h:
                ax.text(max(e, 0.0), p_, " no interval", va="center", ha="left", fontsize=7, color="0.3")
                unsure.append(e)
    if unsure:  # room for the words beside the longest bar
        lo_x, hi_x = ax.get_xlim()
        ax.set_xlim(lo_x, max(hi_x, max(unsure) + 0.3 * (max(hi_x, max(unsure)) - min(lo_x, 0.0))))
    ax.axvline(0, color="0.5", lw=0.8)
    what = {"morris": "mu* (mean absolute elementary effect)", "sobol": "share of variance",
            "rbd_fast": "first-order index S1 (share of variance)"}[method]
    ax.set_xlabel(what)
    if len(keys) > 1:
        ax.legend(fontsize=8, loc="lower right")
    return fig


class _Unoverlapped(Artist):
    """Moves the labels of a plot down, at draw time (once the layout is settled), until no two of
    their boxes overlap; a label moved away from its point keeps a thin line to it."""

    def __init__(self, labels: list) -> None:
        super().__init__()
        self.labels = labels  # highest point first
        self.set_zorder(-100)  # drawn before the labels

    def draw(self, renderer) -> None:
        placed = []
        to_points = 72.0 / self.figure.dpi
        for a in self.labels:
            a.xyann = a.start
            for _ in range(len(self.labels) + 1):
                box = _text_box(a, renderer)
                hit = [b for b in placed if box.overlaps(b)]
                if not hit:
                    break
                drop = box.y1 - min(b.y0 for b in hit) + 1.5
                a.xyann = (a.xyann[0], a.xyann[1] - drop * to_points)
            placed.append(_text_box(a, renderer))


def _text_box(a, renderer):
    """The box of an annotation's words, without its line to the point."""
    from matplotlib.text import Text

    a.update_positions(renderer)
    return Text.get_window_extent(a, renderer)


@as_written
def morris_plane(table: pd.DataFrame, outcome: str, *, label: str = "", annotate: int = 8,
                 ax: Axes | None = None) -> Figure:
    """The mu*-sigma plane of ``outcome``: each factor at (mu*, sigma) with its intervals, the most
    influential named, and the lines sigma/mu* = 0.1, 0.5 and 1."""
    fig, ax = _new_ax(ax, (6.5, 5.0))
    star = _select(table, "morris", outcome, "mu_star")
    sig = _select(table, "morris", outcome, "sigma").reindex(star.index)
    x, s = star["estimate"].to_numpy(float), sig["estimate"].to_numpy(float)
    ok = np.isfinite(x) & np.isfinite(s)
    xe = np.vstack([x - star["low"].to_numpy(float), star["high"].to_numpy(float) - x])
    se = np.vstack([s - sig["low"].to_numpy(float), sig["high"].to_numpy(float) - s])
    ax.errorbar(x[ok], s[ok], xerr=np.nan_to_num(xe[:, ok]), yerr=np.nan_to_num(se[:, ok]), fmt="o", ms=4,
                color="#4c72b0", ecolor="0.7", elinewidth=0.8, capsize=0)
    top = max(float(np.nanmax(x[ok])) if ok.any() else 1.0, 1e-12)
    grid = np.linspace(0, top * 1.1, 50)
    for r, style in zip(SIGMA_RATIOS, (":", "--", "-") if np.isfinite(x).any() else ()):
        ax.plot(grid, r * grid, style, color="0.5", lw=0.8, label=f"sigma/mu* = {r:g}")
    names = list(star.index)
    flat = not (ok.any() and float(np.nanmax(x[ok])) > ZERO)
    if not np.isfinite(x).any():  # no mu* at all: not a plane of zeros
        ax.text(0.5, 0.5, f"not measured: {_why_not_measured('morris')},\nfor every factor (see the report)",
                transform=ax.transAxes, ha="center", va="center", fontsize=9, color="0.35")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xticks([])
        ax.set_yticks([])
    elif flat:  # every mu* measured is zero: no plane to read, and no tiny scale to read it on
        ax.text(0.5, 0.5, "no effect measured: every mu* is 0", transform=ax.transAxes, ha="center", va="center",
                fontsize=9, color="0.35")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
    else:
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        # names of factors crowded near the origin would print over each other: only the ones
        # away from it are named (their values are in the report's table)
        named = [i for i in np.argsort(-np.nan_to_num(x), kind="stable")[:annotate] if ok[i] and x[i] >= 0.03 * top]
        # factors at the same place (within half a percent of each axis) share one label, one name a line
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        places: list[list[int]] = []
        for i in named:
            for p in places:
                if abs(x[p[0]] - x[i]) <= 0.005 * (x1 - x0) and abs(s[p[0]] - s[i]) <= 0.005 * (y1 - y0):
                    p.append(i)
                    break
            else:
                places.append([i])
        labels = []
        for p in sorted(places, key=lambda p: -s[p[0]]):
            text = "\n".join(names[i].replace("_", " ") for i in p)
            a = ax.annotate(text, (x[p[0]], s[p[0]]), xytext=(4, 3), textcoords="offset points", fontsize=7,
                            va="bottom", arrowprops=dict(arrowstyle="-", color="0.6", lw=0.5, shrinkA=0, shrinkB=3))
            a.start = a.xyann
            labels.append(a)
        if len(labels) > 1:
            ax.add_artist(_Unoverlapped(labels))
    ax.set_title(_short(label or outcome, 60), fontsize=9, loc="left")
    if np.isfinite(x).any():
        ax.set_xlabel("mu* (mean absolute elementary effect)")
        ax.set_ylabel("sigma (spread of the elementary effects)")
        ax.legend(fontsize=7, loc="upper left")
    return fig


@as_written
def s2_heatmap(table: pd.DataFrame, outcome: str, *, label: str = "", ax: Axes | None = None) -> Figure:
    """Sobol' second-order indices of ``outcome`` as a matrix; a star marks those whose 95% interval
    excludes zero."""
    t = table[(table["method"] == "sobol") & (table["outcome"] == outcome) & (table["index"] == "S2")]
    names = sorted_groups(table, "sobol", outcome)
    n = len(names)
    # the pairs only: rows are the second factor of a pair (names[1:]), columns the first (names[:-1])
    k = max(n - 1, 1)
    width, height = max(5.0, 1.8 + 0.75 * k), max(4.0, 1.6 + 0.6 * k)
    fig, ax = _new_ax(ax, (width, height))
    m = np.full((k, k), np.nan)
    star = np.zeros((k, k), dtype=bool)
    pos = {g: i for i, g in enumerate(names)}
    for r in t.itertuples():
        i, j = sorted((pos[r.parameter], pos[r.parameter_2]))
        m[j - 1, i] = r.estimate
        star[j - 1, i] = r.low > ZERO or r.high < -ZERO
    lim = max(float(np.nanmax(np.abs(m))) if np.isfinite(m).any() else 0.0, 1e-6)
    im = ax.imshow(m, cmap=colormaps["RdBu_r"], norm=TwoSlopeNorm(0.0, -lim, lim))
    size = 7 if k > 6 else 8
    for j in range(k):
        for i in range(j + 1):
            if np.isfinite(m[j, i]):
                dark = abs(m[j, i]) > 0.6 * lim  # white on the deep colours
                ax.text(i, j, f"{m[j, i]:.2f}{'*' if star[j, i] else ''}", ha="center", va="center", fontsize=size,
                        color="white" if dark else "black")
    short = [g.replace("_", " ") for g in names]
    ax.set_xticks(range(k), short[:-1] if n > 1 else short, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(k), short[1:] if n > 1 else short, fontsize=7)
    fig.colorbar(im, ax=ax, shrink=0.8, label="S2")
    ax.set_title(_short(f"Pairwise interactions: {label or outcome} (* interval excludes 0)",
                        int(width * 8)), fontsize=9, loc="left")
    return fig


def _grid(n: int, panel=(6.0, 4.8)) -> tuple[Figure, list]:
    cols = 2 if n > 1 else 1
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(panel[0] * cols, panel[1] * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def planned_figures(analysis: SensitivityAnalysis) -> list[tuple[str, Any]]:
    """(file name, function that draws it) of every figure of ``analysis``, nothing drawn yet."""
    spec = analysis.spec
    t = analysis.indices
    outcomes = [o for o in spec.outcomes if len(t[t["outcome"] == o.name])]
    plans: list[tuple[str, Any]] = []

    def bars(method):
        def make():
            have = [o for o in outcomes if len(t[(t["outcome"] == o.name) & (t["method"] == method)])]
            n_rows = max((len(sorted_groups(t, method, o.name)) for o in have), default=1)
            fig, axes = _grid(len(have), (6.0, max(2.5, 0.32 * min(n_rows, TOP) + 1.6)))
            for ax, o in zip(axes, have):
                index_bars(t, method, o.name, label=o.title, ax=ax)
            fig.suptitle(f"{_METHOD_NAMES[method]} indices with 95% intervals: {spec.title}", x=0.01, ha="left",
                         fontsize=11)
            return fig
        return make

    for method in ("morris", "sobol", "rbd_fast"):
        if len(t[t["method"] == method]):
            plans.append((f"sensitivity_{method}_bars.png", bars(method)))
    if len(t[t["method"] == "morris"]):
        def plane():
            have = [o for o in outcomes if len(t[(t["outcome"] == o.name) & (t["method"] == "morris")])]
            fig, axes = _grid(len(have))
            for ax, o in zip(axes, have):
                morris_plane(t, o.name, label=o.title, ax=ax)
            fig.suptitle(f"Morris mu*-sigma plane: {spec.title}", x=0.01, ha="left", fontsize=11)
            return fig
        plans.append(("sensitivity_morris_plane.png", plane))
    if spec.design.second_order:
        from .fsutil import slug

        for o in outcomes:
            if len(t[(t["outcome"] == o.name) & (t["index"] == "S2")]):
                plans.append((f"sensitivity_sobol_s2_{slug(o.name, 'outcome')}.png",
                              lambda o=o: s2_heatmap(t, o.name, label=o.title)))
    return plans


# ---------------------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------------------
def _v(x: float, digits: int = 2) -> str:
    if x is None or not np.isfinite(x):
        return "–"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}" if abs(x) < 1 else f"{x:.{digits + 1}g}"


def _ci(row) -> str:
    return f"{_v(row.estimate)} ({_v(row.low)} to {_v(row.high)})"


def _pct(x: float, lo: float | None = None, hi: float | None = None) -> str:
    if x is None or not np.isfinite(x):
        return "–"
    s = f"{100 * x:.0f}%" if x >= 0.01 or x == 0 else f"{100 * x:.1f}%"
    if lo is not None and hi is not None and np.isfinite(lo) and np.isfinite(hi):
        s += f" ({100 * lo:.0f} to {100 * hi:.0f}%)" if lo >= 0.01 else f" ({100 * lo:.1f} to {100 * hi:.1f}%)"
    return s


def _name(g: str) -> str:
    return f"`{g}`"


def report(analysis: SensitivityAnalysis, conv: pd.DataFrame, figures: Sequence[Path], *,
           seconds: float | None = None) -> str:
    """The Markdown report: what was done, the noise, the factors ranked in words per outcome,
    the convergence verdict and the given-data cross-check."""
    spec = analysis.spec
    d = spec.design
    t = analysis.indices
    lines = [f"# Sensitivity analysis: {spec.title}", ""]
    if spec.question:
        lines += [f"*{spec.question}*", ""]
    method = _METHOD_NAMES[d.method]
    m = analysis.manifest
    lines += ["## What was done", "",
              f"- Method: {method}; {len(d.inputs)} factors" + (f" in {len(d.group_names)} groups" if d.grouped else "")
              + f"; {d.shape_rule()}{'' if d.method == 'rbd_fast' else ' sample points'}; {spec.replicates} replicates per point on common random numbers "
              f"(replicate k has the same seed at every point); {spec.n_runs:,} runs of the scenario "
              f"`{m.get('scenario', '?')}`.",
              f"- Experiment file: `{spec.path}`; master seed {spec.master_seed}; the sample's digest is in "
              "`sensitivity.json`.",
              "- Every interval is a 95% interval: Morris from a bootstrap over trajectories and Sobol' from SALib's "
              f"bootstrap ({spec.resamples} resamples each), RBD-FAST from SALib's half-sample bootstrap "
              f"({min(spec.resamples, RBD_RESAMPLES)} resamples), noise shares from a bootstrap over points and a "
              "jackknife over replicates."]
    if seconds is not None:
        workers = m.get("workers", "?")
        lines.append(f"- Runs and analysis took {seconds:,.0f} s in this session ({m.get('executor', '?')}, "
                     f"{workers} worker{'' if workers == 1 else 's'}).")
    lines += ["", "Factors and their ranges (from the parameter registry, narrowed by the experiment file):", "",
              "| factor | range | group |", "|---|---|---|"]
    for i in d.inputs:
        lines.append(f"| `{i.name}` | {i.describe()} | {i.group_name if i.group else ''} |")
    lines += ["", "## How much is noise", "",
              "The model is stochastic. *Noise in one run* is the share of the variance of a single run's outcome "
              "that comes from its seed; *noise in the means* is the share of the variance of the per-point means "
              f"(over {spec.replicates} replicates, what the indices are computed from) that is still noise. The "
              "noise left in the means acts like one more factor: it lowers every first-order index and raises "
              "every total index by up to that share.", "",
              "| outcome | noise in one run | noise in the means | marks |", "|---|---|---|---|"]
    for r in analysis.noise.itertuples():
        note = getattr(r, "note", "")
        if not isinstance(note, str):
            note = ""
        lines.append(f"| {r.label} | {_pct(r.noise_share_runs, r.noise_share_runs_low, r.noise_share_runs_high)} | "
                     f"{_pct(r.noise_share, r.noise_share_low, r.noise_share_high)} | {note} |")
    lines += ["", "*Upper bound*: where values are missing (durability, at points where no agreement was signed, or "
              "where the Kaplan-Meier curve is not known up to the horizon), the within-point variance is used, which "
              "includes the seed's common part that cancels in the indices. A point has a value where its Kaplan-Meier "
              "estimate exists (an agreement was followed the whole horizon, or the curve fell to zero), and a "
              "replicate has one there where its agreement relapsed or was followed the whole horizon; the marks "
              "count the points with a value in at least one replicate and in two or more, and the sections below "
              "the same points with a value: those the indices use. "
              "*No signal detected*: the point means vary no more than their noise would make them, so the share is "
              "clipped at 100%. An interval *over the points only* lacks the part of the uncertainty that comes from "
              "the few seeds (a jackknife over the replicates needs 3) and is too narrow; one *not estimable* did not "
              "vary over its resamples, which a share of random runs cannot justify.", ""]
    for o in spec.outcomes:
        lines += [f"## {o.label[0].upper()}{o.label[1:]}", ""]
        for note in analysis.notes.get(o.name, []):
            lines += [f"Note: {note}.", ""]
        if d.method == "morris":
            lines += _morris_words(t, o, d)
        elif d.method == "sobol":
            lines += _sobol_words(t, o, analysis)
        if len(t[(t["method"] == "rbd_fast") & (t["outcome"] == o.name)]):
            lines += _rbd_words(t, o, d.method, analysis)
    if d.method == "morris":
        lines += _suggestion(t, spec)
    lines += ["## Convergence", ""]
    if len(conv):
        if d.method == "sobol":
            lines.append(f"Sobol' designs nest: the first half of the design at N = {d.samples} is the design at "
                         f"N = {d.samples // 2}. Each index was computed from that half and from all of it, on the same "
                         "runs; an index *moved* when the two differ by more than half the width of its 95% interval "
                         "at N.")
        else:
            lines.append(f"Morris trajectories are independent: the first {d.samples // 2} are a Morris design of their "
                         f"own. Each mu* was computed from them and from all {d.samples}; it *moved* when the two differ "
                         "by more than half the width of its 95% interval.")
        key = _INDEX_NAMES[RANK_BY[d.method]]
        lines += ["", f"An index that does not move is not yet a converged one: a wide interval lets it stay put. So "
                  f"the widest 95% interval of {key} at each outcome is compared with the largest {key} there; when it "
                  f"is wider than {_times(MAX_RELATIVE_WIDTH)}, the verdict is *intervals too wide* (to rank the "
                  "factors). An outcome without indices has no verdict of convergence.", "",
                  f"| outcome | indices compared | moved | widest interval / largest {key} | verdict |",
                  "|---|---|---|---|---|"]
        labels = {o.name: o.label for o in spec.outcomes}
        for r in conv.itertuples():
            extra = f": {r.moved_indices}" if r.moved else ""
            lines.append(f"| {labels.get(r.outcome, r.outcome)} | {r.compared} | {r.moved}{extra} | "
                         f"{_v(r.relative_width)} | **{r.verdict}** |")
        lines += ["", _verdict_words(conv, d, spec), ""]
    else:
        lines += ["No convergence check: the design is too small to be halved, or no index could be computed.", ""]
    if figures:
        lines += ["## Figures", ""]
        for f in figures:
            lines.append(f"- [{f}]({f})")
        lines.append("")
    lines += ["## Files", "",
              "- `indices.csv`, `indices.parquet`: every index with its interval (columns method, outcome, parameter, "
              "parameter_2, index, estimate, low, high, n, rank, estimate_half, moved).",
              "- `noise.csv`, `noise.parquet`: the noise shares above; `convergence.csv`: the verdicts.",
              "- `points.parquet`: each sample point's position in SALib's space, its parameter values and outputs; "
              "`runs.parquet`, `episodes.parquet`: every run (the experiment runner's tables).",
              "- `sensitivity.json`: the SALib problem, the settings, the sample's digest, SALib's version.", ""]
    return "\n".join(lines)


def _times(x: float) -> str:
    return "that index itself" if x == 1 else f"{x:g} times that index"


def _verdict_words(conv: pd.DataFrame, design, spec) -> str:
    """The convergence verdict over all outcomes, in words."""
    labels = {o.name: o.title for o in spec.outcomes}
    by = {v: [labels.get(o, o) for o in conv.loc[conv["verdict"] == v, "outcome"]] for v in VERDICTS}
    if len(by["converged"]) == len(conv):
        return ("Verdict: **converged** for every outcome: no index moved more than half the width of its interval "
                "when the design was doubled, and the intervals are narrow enough to rank the factors.")
    parts = []
    if by["not converged"]:
        parts.append(f"**not converged** for {', '.join(by['not converged'])}: the indices listed moved more than "
                     f"half the width of their interval between {design.samples // 2} and {design.samples}")
    if by["intervals too wide"]:
        parts.append(f"**intervals too wide** to rank the factors for {', '.join(by['intervals too wide'])}")
    if by["not checked"]:
        parts.append(f"**not checked** for {', '.join(by['not checked'])}: its indices could not be computed from "
                     "the first half of the design, so whether they settled is not known")
    if by["no effect measured"]:
        parts.append(f"**no effect measured** for {', '.join(by['no effect measured'])}: every factor's index is "
                     "zero (the outcome did not change with any factor in these runs), so there is nothing to rank")
    if by["no indices"]:
        parts.append(f"**no indices** for {', '.join(by['no indices'])}")
    if by["converged"]:
        parts.append(f"converged for {', '.join(by['converged'])}")
    advice = ("" if not (by["not converged"] or by["intervals too wide"] or by["not checked"]) else
              " Double the samples (or trajectories), or raise the replicates where the noise in the means is large, "
              "before relying on the values or the order of the factors there.")
    return "Verdict: " + "; ".join(parts) + "." + advice


def _classify(ratio: float) -> str:
    if not np.isfinite(ratio):
        return ""
    if ratio < SIGMA_RATIOS[0]:
        return "nearly linear"
    if ratio < SIGMA_RATIOS[1]:
        return "monotonic"
    if ratio < SIGMA_RATIOS[2]:
        return "almost monotonic"
    return "non-linear, non-monotonic or interacting with other factors"


def _morris_words(t: pd.DataFrame, o, design) -> list[str]:
    order = sorted_groups(t, "morris", o.name)
    if not order:
        return []
    star = _select(t, "morris", o.name, "mu_star")
    mu = _select(t, "morris", o.name, "mu")
    sig = _select(t, "morris", o.name, "sigma")
    best = float(star.loc[order[0], "estimate"])
    kinds = {i.group_name: i.kind for i in design.inputs}
    unit = {"share": "share", "months": "months"}.get(o.unit, o.unit)
    out = [f"mu* is the mean absolute change of the outcome (in {unit}) for a step of "
           f"{design.num_levels / (2 * (design.num_levels - 1)):.2g} of a factor's range, divided by that step: the "
           "change across the whole range if the effect were linear. mu gives the direction where its interval "
           "excludes 0; sigma, the spread of the effects, large beside mu* suggests effects that are non-linear, "
           "non-monotonic or depend on other factors (the model's noise adds to it too). Ranked by mu*:", ""]
    top = [g for g in order if np.isfinite(star.loc[g, "estimate"]) and star.loc[g, "estimate"] >= 0.1 * best][:10]
    for k, g in enumerate(top, 1):
        r = star.loc[g]
        words = [f"{k}. {_name(g)}: mu* {_ci(r)}"]
        m_row = mu.loc[g]
        if kinds.get(g) in ("float", "int") and np.isfinite(m_row.estimate):
            if m_row.low > ZERO:
                words.append("raising it raises the outcome")
            elif m_row.high < -ZERO:
                words.append("raising it lowers the outcome")
            else:
                words.append("direction not determined (mu's interval includes 0)")
        s_row = sig.loc[g] if g in sig.index else None
        if s_row is not None and np.isfinite(s_row.estimate) and r.estimate > 0:
            ratio = s_row.estimate / r.estimate
            words.append(f"sigma {_v(s_row.estimate)}, {_v(ratio)} times mu*: {_classify(ratio)}")
        out.append("; ".join(words) + ".")
    rest = [g for g in order if g not in top]
    if len(top) >= 2:
        a, b = star.loc[top[0]], star.loc[top[1]]
        if a.low > b.high:
            out += ["", f"{_name(top[0])} stands out: its interval lies above that of every other factor."]
        else:
            tied = [g for g in top[1:] if star.loc[g, "high"] >= a.low]
            out += ["", f"{_name(top[0])} cannot be told apart from " + ", ".join(_name(g) for g in tied)
                    + " at this resolution (their intervals overlap)."]
    thin = [g for g in rest if not np.isfinite(star.loc[g, "estimate"])]
    rest = [g for g in rest if g not in thin]
    if rest:
        shown = ", ".join(_name(g) for g in rest[:40]) + (f" and {len(rest) - 40} more" if len(rest) > 40 else "")
        out += ["", (f"The other {len(rest)} factors have" if len(rest) != 1 else "The other factor has")
                + f" mu* below a tenth of the largest: {shown}."]
    if thin:
        from .sensitivity_analysis import MORRIS_MIN_EFFECTS

        shown = ", ".join(_name(g) for g in thin[:40]) + (f" and {len(thin) - 40} more" if len(thin) > 40 else "")
        out += ["", f"Not measured for {len(thin)} factor{'s' if len(thin) != 1 else ''}: fewer than "
                f"{MORRIS_MIN_EFFECTS} elementary effects whose two points both have a value: {shown}."]
    return out + [""]


def _suggestion(t: pd.DataFrame, spec) -> list[str]:
    from .sensitivity_analysis import most_influential

    best = most_influential(t, "morris", 12)
    if not len(best):
        return []
    labels = {o.name: o.title for o in spec.outcomes}
    out = ["## The most influential factors over all outcomes", "",
           "Each factor's mu* relative to the largest at the same outcome, at the outcome where it is largest, "
           "counting only indices whose interval excludes zero; the first eight to twelve are the candidates for a "
           "Sobol' analysis:", "",
           "| # | factor | mu* / largest | at |", "|---|---|---|---|"]
    for k, r in enumerate(best.itertuples(), 1):
        out.append(f"| {k} | `{r.parameter}` | {r.relative:.2f} | {labels.get(r.outcome, r.outcome)} |")
    return out + [""]


#: Noise in the per-point means (its estimate, or the upper end of its interval) from which the report
#: reads nothing about interactions or additivity from Sobol' indices: the noise can add up to its share
#: to every ST - S1 and take as much from the sum of the S1; from half of the variance on, it can be as
#: large as all of the signal together.
NOISE_NO_CLAIMS = 0.5
#: S1 above ST by more than this, within their intervals, is remarked on as estimator error.
S1_OVER_ST = 0.01


#: First-order indices adding up to more than this are more than shares of one variance can be
#: (half a percent above 1: rounding).
OVER_ONE = 1.005


def _s1_total(s1: pd.DataFrame, column: str = "estimate") -> float:
    """The sum of first-order indices (negative ones, estimator error around 0, count as 0)."""
    return float(np.nansum(s1[column].clip(lower=0)))


def _over_one(s1: pd.DataFrame, at: str, needed: str) -> str:
    """Words on first-order indices that add up to more than 100%: estimator error (Sobol' S1 and
    given-data RBD-FAST S1 alike). ``at`` names the sample size, ``needed`` what would help."""
    total, low = _s1_total(s1), _s1_total(s1, "low")
    beyond = (f" Even the lower ends of their intervals add up to {_pct(low)}." if low > OVER_ONE else "")
    return (f"The first-order indices add up to {_pct(total)}, more than the 100% that shares of one variance can: "
            f"the estimates' errors are at least {_pct(total - 1)} in sum.{beyond} This is estimator error, not "
            f"additivity; {at} these indices are unreliable, and {needed}.")


def _noise_of(analysis, outcome: str) -> tuple[float, float, float, str]:
    """The noise share of the per-point means of ``outcome`` with its interval and marks (NaN, '' when unknown)."""
    noise = analysis.noise.set_index("outcome")
    if outcome not in noise.index:
        return math.nan, math.nan, math.nan, ""
    row = noise.loc[outcome]
    note = row["note"] if "note" in noise.columns and isinstance(row["note"], str) else ""
    return (*(float(row[k]) for k in ("noise_share", "noise_share_low", "noise_share_high")), note)


def _sobol_words(t: pd.DataFrame, o, analysis) -> list[str]:
    order = sorted_groups(t, "sobol", o.name)
    if not order:
        return []
    s1 = _select(t, "sobol", o.name, "S1")
    st = _select(t, "sobol", o.name, "ST")
    s, s_lo, s_hi, _ = _noise_of(analysis, o.name)
    noisy = (np.isfinite(s) and s >= NOISE_NO_CLAIMS) or (np.isfinite(s_hi) and s_hi >= NOISE_NO_CLAIMS)
    s_up = s_hi if np.isfinite(s_hi) else (s if np.isfinite(s) else 0.0)
    out = ["S1 is the share of the outcome's variance a factor explains alone; ST adds its interactions with the "
           "others. Ranked by ST:", ""]
    unreliable = []
    for k, g in enumerate(order, 1):
        a, b = s1.loc[g], st.loc[g]
        text = f"{k}. {_name(g)}: ST {_pct(b.estimate, b.low, b.high)}, S1 {_pct(a.estimate, a.low, a.high)}"
        gap = b.estimate - a.estimate
        if a.low > b.high + ZERO:
            text += "; S1 exceeds ST beyond their intervals, which true indices cannot: these estimates are unreliable"
            unreliable.append(g)
        elif -gap > S1_OVER_ST:
            text += "; S1 above ST, which true indices cannot be, but within their intervals: estimator error"
        elif (not noisy and b.low > ZERO
              and gap - s_up > max(0.05, (b.high - b.low) / 2, max(a.estimate, 0.0))):
            # the noise can add up to its share s to every ST - S1: only a gap beyond it is interaction
            text += "; most of its influence is through interactions"
        elif b.high < 0.01:
            text += "; negligible"
        out.append(text + ".")
    total_s1 = _s1_total(s1)
    out.append("")
    if noisy:
        out.append(f"The noise left in the per-point means is {_pct(s, s_lo, s_hi)} of their variance at "
                   f"{analysis.spec.replicates} replicates. It can add up to its share to every ST - S1 and take as "
                   f"much from the sum of the S1 (which is {_pct(total_s1)}), so these indices say nothing about "
                   "interactions or "
                   "additivity, and the order of the factors holds only where their intervals are apart. More "
                   "replicates are needed ('peacesim sensitivity EXPERIMENT --pilot' says how many).")
    elif total_s1 > OVER_ONE:
        out.append(_over_one(s1, f"at N = {analysis.spec.design.samples}", "more samples are needed before "
                             "interactions or additivity can be read from them"))
    else:
        rest = max(0.0, 1 - total_s1)
        text = f"The first-order indices add up to {_pct(total_s1)}"
        if np.isfinite(s) and s > 0.005:
            # the noise can be as large as the upper end of its interval: what is surely left for
            # interactions is what the S1 leave beyond that
            inter = rest - (s_hi if np.isfinite(s_hi) else s)
            if inter > 0.005:
                text += (f". Of the {_pct(rest)} they leave, up to {_pct(s, s_lo, s_hi)} can be the noise left in the "
                         f"means, so interactions between factors account for between {_pct(inter)} and "
                         f"{_pct(rest)} of the variance.")
            else:
                text += (f". The noise left in the means, {_pct(s, s_lo, s_hi)}, can account for all of the "
                         f"{_pct(rest)} they leave: no clear sign of interactions between factors.")
        elif rest > 0.05:
            text += f": about {_pct(rest)} of the variance comes from interactions between factors."
        else:
            text += ": the outcome is close to additive in these factors."
        widest = float(((s1["high"] - s1["low"]) / 2).max())
        if widest > 0.1:
            text += (f" The S1 intervals are up to ±{_pct(widest)} wide, so this balance is uncertain.")
        out.append(text)
    if unreliable:
        out += ["", "Where S1 exceeds ST beyond their intervals (" + ", ".join(_name(g) for g in unreliable)
                + f"), the estimator has not settled at N = {analysis.spec.design.samples}: more samples are needed."]
    s2 = t[(t["method"] == "sobol") & (t["outcome"] == o.name) & (t["index"] == "S2")]
    if len(s2):
        if noisy:
            out += ["", "The pairwise indices (S2) are not read as interactions here: see the noise above."]
        else:
            sig = s2[(s2["low"] > ZERO)].sort_values("estimate", ascending=False)
            if len(sig):
                pairs = ", ".join(f"{_name(r.parameter)} with {_name(r.parameter_2)} "
                                  f"({_pct(r.estimate, r.low, r.high)})" for r in sig.head(5).itertuples())
                out += ["", f"Pairwise interactions whose interval excludes zero: {pairs}."]
            else:
                out += ["", "No pairwise interaction has an interval that excludes zero."]
    if not noisy and np.isfinite(s) and s > 0.1:
        out += ["", f"Caution: {_pct(s, s_lo, s_hi)} of the variance of the per-point means is noise; more replicates "
                "would sharpen these indices."]
    return out + [""]


def _rbd_words(t: pd.DataFrame, o, method: str, analysis) -> list[str]:
    order = sorted_groups(t, "rbd_fast", o.name)
    s = _select(t, "rbd_fast", o.name, "S1")
    n = int(s["n"].iloc[0]) if len(s) else 0
    top = [g for g in order if s.loc[g, "low"] > ZERO][:8]
    lead = ("RBD-FAST (given data)" if method != "rbd_fast" else "RBD-FAST")
    out = [f"{lead}, on the {n} points with a value: first-order indices whose interval excludes zero: "
           + (", ".join(f"{_name(g)} {_pct(s.loc[g, 'estimate'], s.loc[g, 'low'], s.loc[g, 'high'])}" for g in top)
              if top else "none") + "."]
    share, share_lo, share_hi, note = _noise_of(analysis, o.name)
    if "no signal detected" in note or (np.isfinite(share) and share >= 1 - 1e-9):
        out.append("The noise estimate detects no signal: the point means vary no more than their noise would make "
                   "them, so these indices cannot be read as effects of the factors.")
    elif method == "rbd_fast" and np.isfinite(share) and share > 0.1:
        # the method of the experiment: its indices are the only ones, so the noise is said here, as
        # it is beside the Sobol' indices
        strong = share >= NOISE_NO_CLAIMS or (np.isfinite(share_hi) and share_hi >= NOISE_NO_CLAIMS)
        out.append(f"Caution: {_pct(share, share_lo, share_hi)} of the variance of the per-point means is noise "
                   f"at {analysis.spec.replicates} replicates" + (
                       ": these indices rest mostly on noise, and neither their sum nor the order of factors whose "
                       "intervals overlap can be read. More replicates are needed ('peacesim sensitivity EXPERIMENT "
                       "--pilot' says how many)." if strong else "; more replicates would sharpen these indices."))
    if _s1_total(s) > OVER_ONE:
        out.append(_over_one(s, f"on {n} points", "more points (or replicates) are needed before they can be read "
                             "as shares of the variance"))
    if method == "sobol":
        s1 = _select(t, "sobol", o.name, "S1")
        common = [g for g in s.index if g in s1.index]
        if common:
            agree = sum(1 for g in common if s.loc[g, "low"] <= s1.loc[g, "high"] and s1.loc[g, "low"] <= s.loc[g, "high"])
            out.append(f"Their intervals overlap those of the Sobol' S1 for {agree} of {len(common)} factors.")
    elif method == "morris":
        out.append("(On a Morris sample the factors take only a few levels, so these are coarse.)")
    return out + [""]


def pilot_report(result: PilotResult, spec: SensitivitySpec) -> str:
    """The pilot's findings in words: the noise of each outcome and the replicates it calls for."""
    lines = [f"# Pilot: how many replicates for {spec.title}?", "",
             f"{result.points} points of a Latin hypercube over the experiment's {len(spec.design.inputs)} factors, "
             f"{result.replicates} replicates each on common random numbers ({result.points * result.replicates} runs). "
             f"For each outcome: the share of one run's variance that is replicate noise, and the replicates per "
             f"point that bring the noise in the per-point means down to {100 * result.target:.0f}% of their variance "
             "(95% bootstrap intervals over the points).", "",
             "| outcome | noise in one run | replicates needed | noise in the means at the file's "
             f"{spec.replicates} |", "|---|---|---|---|"]
    for r in result.table.itertuples():
        note = getattr(r, "note", "")
        note = f" ({note})" if isinstance(note, str) and note else ""
        lines.append(f"| {r.label} | {_pct(r.noise_share_runs, r.noise_share_runs_low, r.noise_share_runs_high)} | "
                     f"{_need(r)}{note} | {_pct(r.noise_share_at_file_replicates)} |")
    lines += ["", _recommendation(result, spec, "Recommended: "), ""]
    return "\n".join(lines)


def _need(r) -> str:
    """Replicates needed with their interval: '3 (1 to 7)', '3 (1 to unbounded)', '–' when not measured."""
    n, lo, hi = (float(x) for x in (r.replicates_needed, r.replicates_needed_low, r.replicates_needed_high))
    if math.isnan(n):
        return "–"
    text = "no number" if math.isinf(n) else f"{n:.0f}"
    if np.isfinite(lo) and not math.isnan(hi):
        text += f" ({lo:.0f} to {'unbounded' if math.isinf(hi) else f'{hi:.0f}'})"
    return text


def _recommendation(result, spec, lead: str = "") -> str:
    """The replicates the pilot calls for, naming the outcomes it does not cover."""
    rec = result.recommended()
    unmeasured, unreachable = result.unmeasured(), result.unreachable()
    t = result.table
    covered = [o for o in t["outcome"] if o not in unmeasured and o not in unreachable]
    if rec is None:
        text = (f"{lead}none: no outcome's noise could be measured." if not unreachable else
                f"{lead}none: no outcome can be brought to the target by replicates.")
    elif not unmeasured and not unreachable:
        text = f"{lead}{rec} replicates per point bring every outcome to the target (the analysis is set to {spec.replicates})."
    else:
        text = (f"{lead}{rec} replicates per point bring {', '.join(covered)} to the target (the analysis is set to "
                f"{spec.replicates}).")
    if unmeasured:
        text += f" Not measured, so not covered: {', '.join(unmeasured)}."
    if unreachable:
        text += (f" No number of replicates reaches the target for {', '.join(unreachable)}: the pilot found no "
                 "variance between its points beyond the noise.")
    return text


# ---------------------------------------------------------------------------------------------
# what the command prints
# ---------------------------------------------------------------------------------------------
def summary_lines(result) -> list[str]:
    """What ``peacesim sensitivity`` prints when it has finished: runs, noise, the three most
    influential factors per outcome, the convergence verdict, and where the files are."""
    a = result.analysis
    spec = a.spec
    method = spec.design.method
    rate = f" ({result.ran / result.run_seconds:.1f} runs/s)" if result.ran and result.run_seconds else ""
    lines = [f"{result.ran} runs done in {result.run_seconds:.1f} s{rate}, {result.skipped} were already done"
             + (f", {result.retried} failed run(s) run again" if result.retried else "")
             + f"; analysis {result.seconds - result.run_seconds:.1f} s."]
    noise = a.noise.set_index("outcome")
    key = RANK_BY[method]
    width = max(len(o.name) for o in spec.outcomes)
    lines.append(f"Most influential ({_METHOD_NAMES[method]} {_INDEX_NAMES[key]}), and the share of noise in the "
                 "per-point means:")
    for o in spec.outcomes:
        sel = _select(a.indices, method, o.name, key)
        # factors without an index (too few elementary effects) are not among the most influential
        order = [g for g in sorted_groups(a.indices, method, o.name) if np.isfinite(sel.loc[g, "estimate"])][:3]
        top = ", ".join(f"{g} {_v(sel.loc[g, 'estimate'])}" for g in order) or "no index (see the report)"
        n = noise.loc[o.name, "noise_share"] if o.name in noise.index else math.nan
        note = noise.loc[o.name, "note"] if o.name in noise.index and "note" in noise.columns else ""
        marks = [m for m in ("upper bound", "no signal detected", "interval not estimable")
                 if isinstance(note, str) and m in note]
        if isinstance(note, str) and "not the model's" in note:
            marks.append("the replicates differ at few points")
        mark = f": {', '.join(marks)}" if marks else ""
        lines.append(f"  {o.name:<{width}}  {top}   (noise {_pct(n)}{mark})")
    conv = a.convergence()
    if len(conv):
        if (conv["verdict"] == "converged").all():
            lines.append("Convergence: converged for every outcome (no index moved more than half the width of its "
                         "interval at half the design, and the intervals are narrow enough to rank the factors).")
        else:
            parts = [f"{v} for {', '.join(conv.loc[conv['verdict'] == v, 'outcome'])}" for v in VERDICTS
                     if (conv["verdict"] == v).any()]
            lines.append("Convergence: " + "; ".join(parts) + " (see the report).")
    root = result.out
    n_figures = sum(1 for p in result.files if p.suffix == ".png")
    lines.append(f"Report: {root / 'sensitivity.md'}; indices: {root / 'indices.csv'}; "
                 + (f"{counted(n_figures, 'figure')} in {root / 'figures'}" if n_figures else "no figures"))
    return lines


def pilot_lines(result, spec) -> list[str]:
    """What ``peacesim sensitivity --pilot`` prints."""
    lines = [f"Replicate noise at {result.points} points x {result.replicates} replicates; replicates per point for "
             f"at most {100 * result.target:.0f}% noise in the per-point means:"]
    width = max(len(o) for o in result.table["outcome"])
    for r in result.table.itertuples():
        note = getattr(r, "note", "")
        note = f" ({note})" if isinstance(note, str) and note else ""
        lines.append(f"  {r.outcome:<{width}}  noise in one run {_pct(r.noise_share_runs)}; replicates needed "
                     f"{_need(r)}{note}")
    lines.append(_recommendation(result, spec))
    lines.append(f"Report: {result.out / 'pilot.md'}")
    return lines
