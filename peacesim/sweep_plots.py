"""Figures and a short report for a sweep's results folder.

* :func:`km_curves`: Kaplan-Meier curves of how long agreements hold, one per design point (or per
  value of a factor), with 95% bands and censoring marks.
* :func:`metric_vs_parameter`: a durability or agreement metric, with its 95% interval, against a
  swept parameter, one line per value of a second factor.
* :func:`heatmap`: a metric over a two-parameter grid, cells annotated with estimate and interval.
* :func:`plot_results`: writes a sensible set of figures into ``<results>/figures/``, the
  durability table as ``summary.csv`` and a plain-language ``report.md``.

All drawing goes to :class:`matplotlib.figure.Figure` objects without pyplot: nothing is shown and
no global figure state is touched. Each function takes ``ax=None`` (a new figure is made) and
returns the figure.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, PercentFormatter

from .figtext import as_written
from .analysis import (
    METRICS,
    MIN_CLUSTERS,
    Results,
    _band,
    _check_flag,
    _cluster_ids,
    _fit_km,
    _first_episodes,
    _with_linked,
    compare,
    durability_table,
    group_label,
    hazard_ratio,
    load_results,
    months_text,
    value_label,
)
from .errors import InputError
from .params import REGISTRY

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["km_curves", "metric_vs_parameter", "heatmap", "plot_results"]

_LINESTYLES = ["-", "--", ":", "-."]
_MARKERS = ["o", "s", "D", "^", "v", "P", "X"]
_WIDE = (8.5, 5.0)
_DPI = 150


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def _new_ax(ax: Axes | None, size=_WIDE) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def _wrap(text: str, width: int = 60) -> str:
    return "\n".join(textwrap.wrap(text, width)) if text else text


def _metric(metric: str):
    if metric not in METRICS:
        raise InputError(f"metric = {metric!r} is not known; use one of {', '.join(METRICS)}")
    return METRICS[metric]


def _metric_text(metric: str, results: Results, horizon: float) -> str:
    return METRICS[metric].text(horizon, results.followup_months)


def _check(results: Results, *factors: str | None) -> None:
    for f in factors:
        if f is not None and f not in results.factors:
            raise InputError(f"{f!r} is not a factor of {results.name}; factors are "
                             + (", ".join(results.factors) or "(none)"))


def _colours(results: Results, factor: str | None, n: int) -> list:
    """Sequential colours for an ordered numeric factor, qualitative ones otherwise."""
    if factor is not None and results.is_numeric(factor) and n > 2:
        cmap = colormaps["viridis"]
        return [cmap(x) for x in np.linspace(0.05, 0.85, n)]
    base = colormaps["tab10"].colors if n <= 10 else colormaps["tab20"].colors
    return [base[i % len(base)] for i in range(n)]


def _short_value(factor: str, v: Any) -> str:
    """Tick text: the value with a unit where it helps."""
    return value_label(factor, v).split(" = ", 1)[1]


def _named(results: Results, values: dict[str, Any]) -> dict[str, Any]:
    """The factor values of a group of runs with, after each factor, the parameters it moves
    together with it and their values (``tenure_diplomat`` after ``tenure_mediator``): what
    summary.csv and the report name the group by (:func:`peacesim.analysis.durability_table`)."""
    if not any(results.linked(f) for f in values):
        return dict(values)
    runs = results.runs
    mask = np.ones(len(runs), dtype=bool)
    for f, v in values.items():
        mask &= (runs[f] == v).to_numpy()
    return _with_linked(results, values, runs[mask])


def _level_text(results: Results, factor: str, v: Any) -> str:
    """A value of a factor in a legend under the factor's title: the value alone, or, for a factor
    that moves other parameters, each with its value, as summary.csv labels it."""
    named = _named(results, {factor: v})
    return group_label(named) if len(named) > 1 else _short_value(factor, v)


# ---------------------------------------------------------------------------------------------
# Kaplan-Meier curves
# ---------------------------------------------------------------------------------------------
@as_written
def km_curves(results: Results, *, by: str | Sequence[str] | None = None, ax: Axes | None = None,
              horizon: float | None = 60, ci: bool | None = None, first_only: bool = False,
              title: str | None = None) -> Figure:
    """Kaplan-Meier curves of how long agreements hold.

    One curve per design point (``by=None``) or per value of the ``by`` factor(s), pooling the
    other factors. Shaded bands are 95% intervals, clustered by seed as in :func:`durability_table`
    (``ci=None`` draws them only for up to four curves, where they stay readable); ticks mark
    censoring (agreements still holding at the end of their follow-up or of the run). With two
    factors, colour shows the first and line style the second, with one legend for each. The x
    axis runs from signature to the end of follow-up; ``horizon`` draws a dotted reference line.
    """
    first_only = _check_flag(first_only, "first_only")
    by_cols = None if by is None else ([by] if isinstance(by, str) else list(by))
    _check(results, *(by_cols or []))
    twice = next((c for i, c in enumerate(by_cols or []) if c in by_cols[:i]), None)
    if twice is not None:
        raise InputError(f"by = {by_cols!r} names {twice!r} twice; name each factor once")
    fig, ax = _new_ax(ax)
    keys = by_cols if by_cols is not None else list(results.factors)
    eps = results.ok_episodes
    if first_only:
        eps = _first_episodes(eps)
    groups = _km_groups(results, eps, by_cols)
    fu = results.followup_months
    colour_f = keys[0] if keys else None
    style_f = keys[1] if len(keys) == 2 and len(results.levels(keys[1])) <= len(_LINESTYLES) else None
    if colour_f is not None and style_f is not None:
        colours = dict(zip(results.levels(colour_f), _colours(results, colour_f, len(results.levels(colour_f)))))
        styles = dict(zip(results.levels(style_f), _LINESTYLES))
    else:
        colours, styles = {}, {}
    flat = _colours(results, colour_f if len(keys) == 1 else None, max(len(groups), 1))
    if ci is None:
        ci = len(groups) <= 4
    split = bool(colours)
    # each curve named as summary.csv names its setting: a factor that moves other parameters with
    # each of them; one factor that moves nothing else by its values alone, the legend's title naming it
    named = [_named(results, values) for values, _ in groups]
    bare = len(keys) == 1 and all(len(n) == 1 for n in named)
    faint = 0  # curves drawn faint: agreements from too few seeds
    for i, (values, e) in enumerate(groups):
        text = _short_value(keys[0], values[keys[0]]) if bare else group_label(named[i])
        label = f"{text} (n={len(e)})"
        if len(e) == 0:
            continue
        # as in the durability table: agreements from fewer than MIN_CLUSTERS seeds are too few for
        # an interval, so the curve is drawn faint, without a band, and its label says so
        n_seeds = int(_cluster_ids(e).nunique())
        estimable = n_seeds >= MIN_CLUSTERS
        if not estimable:
            faint += 1
            seeds = f"{n_seeds} seed{'' if n_seeds == 1 else 's'}"
            label = f"{text} (n={len(e)} from {seeds}: not estimable)"
        colour = colours.get(values.get(colour_f), flat[i]) if colours else flat[i]
        ls = styles.get(values.get(style_f), "-") if styles else "-"
        kmf = _fit_km(e["months_survived"], e["relapsed"])
        sf = kmf.survival_function_.iloc[:, 0]
        t = sf.index.to_numpy(float)
        s = sf.to_numpy(float)
        if t[-1] < fu and s[-1] > 0 and e["months_survived"].max() >= fu:
            t, s = np.r_[t, fu], np.r_[s, s[-1]]
        ax.step(t, s, where="post", color=colour, ls=ls, lw=1.8 if estimable else 1.0,
                alpha=1.0 if estimable else 0.5, label=label)
        if ci and estimable:
            # the durability table's band: clustered by seed (agreements of one run, and of pooled
            # settings that share a seed, are correlated), exact bounds where it is degenerate
            band = _band(kmf, 0.05, clusters=_cluster_ids(e).to_numpy())
            bt = band.index.to_numpy(float)
            ax.fill_between(bt, band.iloc[:, 0], band.iloc[:, 1], step="post", color=colour,
                            alpha=0.15, lw=0)
        et = kmf.event_table
        ct = et.index[(et["censored"] > 0).to_numpy()].to_numpy(float)
        if len(ct):
            cs = kmf.survival_function_at_times(ct).to_numpy(float)
            ax.plot(ct, cs, ls="none", marker="|", ms=7, mew=1.2, color=colour)
    if horizon is not None and horizon < fu:
        ax.axvline(horizon, color="0.4", ls=":", lw=1)
        ax.text(horizon, 0.02, f" {months_text(horizon)}", color="0.35", fontsize=8, va="bottom")
    ax.set_xlim(0, fu)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("Months since the agreement was signed")
    ax.set_ylabel("Agreements still holding")
    ax.grid(alpha=0.3, lw=0.5)
    pooled = ""
    if by_cols is not None and len(by_cols) < len(results.factors):
        pooled = " (other settings pooled)"
    ax.set_title(title or f"How long agreements hold{pooled}", loc="left", fontsize=11)
    censor = (Line2D([], [], ls="none", marker="|", ms=7, mew=1.2, color="0.3"), "still holding when\nfollow-up or run ended")
    kw = dict(frameon=False, fontsize=8, title_fontsize=8, alignment="left")
    if split:
        h1 = [Line2D([], [], color=c, lw=2) for c in colours.values()]
        l1 = [_wrap(_level_text(results, colour_f, v), 44) for v in colours]
        h2 = [Line2D([], [], color="0.25", ls=ls, lw=1.8) for ls in styles.values()]
        l2 = [_wrap(_level_text(results, style_f, v), 44) for v in styles]
        blank = Line2D([], [], ls="none")
        handles = [blank, *h1, blank, blank, *h2, censor[0]]
        labels = [results.factor_title(colour_f), *l1, "", results.factor_title(style_f), *l2, censor[1]]
        if faint:  # the curves' own labels are not shown here: the key says what a faint curve is
            handles.append(Line2D([], [], color="0.25", lw=1.0, alpha=0.5))
            labels.append(f"faint, no band: agreements from\nfewer than {MIN_CLUSTERS} seeds (not estimable)")
        leg = ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), handlelength=2.4, **kw)
        for text, h in zip(leg.get_texts(), handles):
            if h is blank:
                text.set_fontweight("bold")
                text.set_x(-28)
    else:
        handles, labels = ax.get_legend_handles_labels()
        labels = [_wrap(lab, 44) for lab in labels]  # long labels (several factors) wrap, not squeeze the plot
        ax.legend(handles + [censor[0]], labels + [censor[1]], loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  title=results.factor_title(keys[0]) if bare else None, **kw)
    return fig


def _km_groups(results: Results, eps: pd.DataFrame, by: list[str] | None) -> list[tuple[dict, pd.DataFrame]]:
    if by is None:
        out = []
        for _, row in results.design_table().iterrows():
            values = {f: row[f] for f in results.factors}
            out.append((values, eps[eps["design_point"] == row["design_point"]]))
        return out
    combos = results.runs[by].drop_duplicates()
    order = {f: {v: i for i, v in enumerate(results.levels(f))} for f in by}
    combos = sorted(map(tuple, combos.itertuples(index=False, name=None)),
                    key=lambda c: tuple(order[f].get(v, 0) for f, v in zip(by, c)))
    out = []
    for c in combos:
        mask = np.ones(len(eps), dtype=bool)
        for f, v in zip(by, c):
            mask &= (eps[f] == v).to_numpy()
        out.append((dict(zip(by, c)), eps[mask]))
    return out


# ---------------------------------------------------------------------------------------------
# metric against a parameter
# ---------------------------------------------------------------------------------------------
@as_written
def metric_vs_parameter(results: Results, x: str, *, metric: str = "rmst", hue: str | None = None,
                        ax: Axes | None = None, horizon: float = 60, first_only: bool = False,
                        table: pd.DataFrame | None = None, title: str | None = None,
                        legend: bool = True) -> Figure:
    """A metric with its 95% interval against a swept parameter, one line per value of ``hue``.

    ``metric`` is a key of :data:`peacesim.analysis.METRICS`: ``"rmst"``, ``"rmst_followup"``,
    ``"median"``, ``"relapse"``, ``"p_agreement"`` or ``"months_to_agreement"``. A numeric ``x``
    gives lines with shaded bands (error bars for medians, whose intervals are often open-ended);
    a text ``x`` gives points with error bars. Medians that are not reached are drawn as open
    triangles at the longest follow-up observed (the median is longer than that), labelled with
    it. Measures that are not estimable (too few seeds with an agreement) are left out. Factors other than ``x`` and
    ``hue`` are pooled. ``legend=False`` leaves out the legend of the lines (for panels that share
    one), keeping only the "not reached" key.
    """
    m = _metric(metric)
    _check(results, x, hue)
    if hue == x:
        hue = None
    by = [x] if hue is None else [x, hue]
    if table is None:
        table = durability_table(results, horizon=horizon, by=by, first_only=first_only)
    fig, ax = _new_ax(ax)
    numeric_x = results.is_numeric(x)
    xlevels = results.levels(x)
    hue_levels = [None] if hue is None else results.levels(hue)
    colours = _colours(results, hue, len(hue_levels)) if hue else ["#1f4e79"]
    cap = _cap(results, metric, table)
    width = 0.7
    bars = not numeric_x or metric in ("median", "months_to_agreement")
    if numeric_x:
        xs_all = np.asarray(xlevels, dtype=float)
        step = float(np.min(np.diff(xs_all))) if len(xs_all) > 1 else 1.0
    n_over = 0  # series with a median not reached: their labels are stacked
    for i, hv in enumerate(hue_levels):
        sub = table if hv is None else table[table[hue] == hv]
        sub = sub.set_index(x).reindex(xlevels)
        off = (i - (len(hue_levels) - 1) / 2) * (width / max(len(hue_levels), 1))
        if numeric_x:
            xs = xs_all + (off * step * 0.5 if bars else 0.0)
        else:
            xs = np.arange(len(xlevels)) + off
        y = sub[m.column].to_numpy(float)
        lo = sub[m.low].to_numpy(float)
        hi = sub[m.high].to_numpy(float)
        over = np.isinf(y)
        known = _known_to(sub, metric, cap)
        hi_c = np.where(np.isinf(hi), cap, hi)
        lo_c = np.where(np.isinf(lo), cap, lo)
        y_c = np.where(over, np.nan, y)
        label = "all settings" if hv is None else _wrap(_level_text(results, hue, hv), 30)
        c = colours[i]
        mk = _MARKERS[i % len(_MARKERS)]
        if not bars:
            ax.plot(xs, y_c, color=c, marker=mk, ms=5, lw=1.8, label=label)
            ax.fill_between(xs, lo_c, hi_c, color=c, alpha=0.15, lw=0)
            # a point without neighbours has no band: its interval as an error bar
            have = np.isfinite(y_c)
            alone = have & ~np.r_[False, have[:-1]] & ~np.r_[have[1:], False]
            if alone.any():
                ax.errorbar(xs[alone], y_c[alone], yerr=np.vstack([y_c - lo_c, hi_c - y_c])[:, alone], color=c,
                            ls="none", elinewidth=1.5, capsize=3)
        else:
            yerr = np.vstack([y_c - lo_c, hi_c - y_c])
            ax.errorbar(xs, y_c, yerr=yerr, color=c, marker=mk, ms=6, lw=1.0 if numeric_x else 0,
                        elinewidth=1.5, capsize=3, label=label)
        if over.any():
            n_over += 1
            # a median not reached is longer than the longest follow-up observed: an open triangle
            # pointing up from there, labelled with it
            ax.plot(xs[over], known[over], ls="none", marker="^", ms=8, mfc="white", mec=c, mew=1.5)
            for xv, kv in zip(xs[over], known[over]):
                # each series' label a line higher than the last, so that series not reached at the
                # same setting do not print over each other
                ax.annotate(f"> {kv:g}", (xv, kv), xytext=(0, 7 + 8 * i), textcoords="offset points",
                            ha="center", fontsize=7, color=c)
    if numeric_x:
        ax.set_xticks(np.asarray(xlevels, dtype=float))
        if len(xlevels) > 8:
            ax.xaxis.set_major_locator(MaxNLocator(8))
    else:
        ax.set_xticks(np.arange(len(xlevels)))
        ax.set_xticklabels([_short_value(x, v) for v in xlevels])
    ax.set_xlabel(_wrap(results.axis_label(x), 45 if ax.get_subplotspec() and ax.get_subplotspec().get_gridspec().ncols > 2 else 70))
    ax.set_ylabel(_wrap(_y_label(metric, results, horizon), 40))
    if m.percent:
        ax.set_ylim(0, 1.02)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    else:
        # room above the longest follow-up for the stacked "> N" labels
        ax.set_ylim(0, cap * (1.1 + 0.07 * max(n_over - 1, 0)) if np.isfinite(cap) else None)
    if n_over:
        x0, x1 = ax.get_xlim()
        ax.set_xlim(x0 - 0.03 * (x1 - x0), x1 + 0.03 * (x1 - x0))  # a label centred on the last point stays inside
    ax.grid(alpha=0.3, lw=0.5)
    handles, labels = ax.get_legend_handles_labels()
    if not legend:
        handles, labels = [], []
    if (np.isinf(table[m.column])).any():
        handles.append(Line2D([], [], ls="none", marker="^", ms=8, mfc="white", mec="0.3"))
        labels.append("median not reached: longer than the\nlongest run (> months shown)" if metric == "months_to_agreement"
                      else "median not reached: longer than the\nlongest follow-up observed (> months shown)")
    if handles and (hue is not None or len(handles) > 1 or not legend):
        ax.legend(handles, labels, title=None if hue is None or not legend else _wrap(results.factor_title(hue), 30),
                  fontsize=8, title_fontsize=8, frameon=False, loc="best")
    if metric in ("rmst", "rmst_followup", "median", "relapse") and "durability_estimable" in table.columns \
            and not table["durability_estimable"].all():
        n_min = table.attrs.get("min_clusters", MIN_CLUSTERS)
        if not table["durability_estimable"].any():  # nothing drawn: say so where the lines would be
            ax.text(0.5, 0.5, f"not estimable at any setting:\nagreements come from fewer than {n_min} seeds",
                    transform=ax.transAxes, ha="center", va="center", fontsize=9, color="0.35")
        else:
            ax.annotate(f"left out: settings whose agreements come\nfrom fewer than {n_min} seeds (not estimable)",
                        (1.0, 0.0), xycoords="axes fraction", xytext=(-4, 4), textcoords="offset points",
                        fontsize=7, color="0.35", va="bottom", ha="right")
    others = [f for f in results.factors if f not in by]
    sub_title = " (other settings pooled)" if others else ""
    ax.set_title(title or _wrap(_metric_text(metric, results, horizon)[0].upper()
                                + _metric_text(metric, results, horizon)[1:] + sub_title, 60),
                 loc="left", fontsize=10)
    return fig


def _known_to(table: pd.DataFrame, metric: str, cap: float) -> np.ndarray:
    """For each row, the last month its curve is known: a median not reached is longer than that."""
    col = {"median": "longest_followup", "months_to_agreement": "longest_run"}.get(metric)
    if col is None or col not in table.columns:
        return np.full(len(table), cap)
    return np.minimum(table[col].to_numpy(float), cap)


def _cap(results: Results, metric: str, table: pd.DataFrame) -> float:
    """Upper end of the y axis for month metrics (where 'not reached' markers go)."""
    if METRICS[metric].percent:
        return 1.0
    if metric in ("rmst",):
        return float(table["horizon"].iloc[0]) if len(table) else 60.0
    if metric == "months_to_agreement":
        return float(results.runs["months"].max())
    return results.followup_months


def _y_label(metric: str, results: Results, horizon: float) -> str:
    return {
        "rmst": f"Mean months held, within the first {horizon:g}",
        "rmst_followup": f"Mean months held, within {results.followup_months:g}",
        "median": "Median months held",
        "relapse": f"Relapsed within {months_text(horizon)}",
        "p_agreement": "Runs that reach an agreement",
        "months_to_agreement": "Median months to first agreement",
    }[metric]


# ---------------------------------------------------------------------------------------------
# heat map
# ---------------------------------------------------------------------------------------------
@as_written
def heatmap(results: Results, x: str, y: str, *, metric: str = "rmst", ax: Axes | None = None,
            horizon: float = 60, first_only: bool = False, table: pd.DataFrame | None = None,
            title: str | None = None) -> Figure:
    """A metric over a two-parameter grid; each cell shows the estimate and its 95% interval.

    Other factors are pooled. Cells without data, or whose measure is not estimable, are blank; a
    median that is not reached shows as "not reached (> N)", N the longest follow-up observed.
    """
    m = _metric(metric)
    _check(results, x, y)
    if x == y:
        raise InputError(f"heatmap needs two different factors, got {x!r} twice")
    if table is None:
        table = durability_table(results, horizon=horizon, by=[x, y], first_only=first_only)
    xl, yl = results.levels(x), results.levels(y)
    grid = np.full((len(yl), len(xl)), np.nan)
    low = grid.copy()
    high = grid.copy()
    known = np.full((len(yl), len(xl)), np.nan)
    unestimable = np.zeros((len(yl), len(xl)), dtype=bool)  # a cell with runs whose durability is not estimable
    bound = _known_to(table, metric, np.inf)
    for k, (_, r) in enumerate(table.iterrows()):
        i, j = yl.index(r[y]), xl.index(r[x])
        grid[i, j], low[i, j], high[i, j] = r[m.column], r[m.low], r[m.high]
        known[i, j] = bound[k]
        unestimable[i, j] = metric != "p_agreement" and r.get("durability_estimable") is not None \
            and not bool(r["durability_estimable"])
    size = (max(6.0, 1.45 * len(xl) + 2.8), max(4.2, 0.8 * len(yl) + 2.0))
    fig, ax = _new_ax(ax, size)
    # The colour scale is anchored at zero and at the metric's natural ceiling (100%, the horizon or
    # the follow-up), so differences smaller than the intervals do not look dramatic.
    norm_ = Normalize(0, 1) if m.percent else Normalize(0, _cap(results, metric, table))
    cmap = colormaps["viridis"].with_extremes(bad="#dddddd")
    shown = np.where(np.isinf(grid), norm_.vmax, grid)
    im = ax.imshow(np.ma.masked_invalid(shown), origin="lower", aspect="auto", cmap=cmap, norm=norm_)
    for i in range(len(yl)):
        for j in range(len(xl)):
            v = grid[i, j]
            if np.isnan(v):
                if unestimable[i, j]:
                    ax.text(j, i, f"not estimable\n(agreements from\nfewer than {MIN_CLUSTERS} seeds)", ha="center", va="center",
                            fontsize=7, color="#444444")
                continue
            text = _cell_text(v, low[i, j], high[i, j], m.percent, known[i, j])
            r, g, b, _ = cmap(norm_(shown[i, j]))
            dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.55
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color="white" if dark else "black")
    ax.set_xticks(range(len(xl)))
    ax.set_xticklabels([_short_value(x, v) for v in xl])
    ax.set_yticks(range(len(yl)))
    ax.set_yticklabels([_short_value(y, v) for v in yl])
    ax.set_xlabel(_wrap(results.axis_label(x), 60))
    ax.set_ylabel(_wrap(results.axis_label(y), 40))
    cb = fig.colorbar(im, ax=ax, shrink=0.9)
    cb.set_label(_wrap(_y_label(metric, results, horizon), 45))
    if m.percent:
        cb.ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    text = _metric_text(metric, results, horizon)
    others = [f for f in results.factors if f not in (x, y)]
    ax.set_title(title or (_wrap(text[0].upper() + text[1:], 70) + "\n95% interval in brackets"
                           + ("; other settings pooled" if others else "")), loc="left", fontsize=10)
    return fig


def _cell_text(v: float, lo: float, hi: float, percent: bool, known: float = np.inf) -> str:
    if np.isinf(v):
        return "not reached\n" + (f"(> {known:g})" if np.isfinite(known) else "")

    def f(a: float) -> str:
        if np.isinf(a):
            return "∞"
        if np.isnan(a):
            return "?"
        return f"{100 * a:.0f}%" if percent else f"{a:.0f}" if abs(a) >= 10 else f"{a:.1f}"

    return f"{f(v)}\n[{f(lo)}–{f(hi)}]"


# ---------------------------------------------------------------------------------------------
# plot_results: figures, summary.csv and report.md
# ---------------------------------------------------------------------------------------------
@as_written
def plot_results(path: str | Path, *, horizon: float = 60, first_only: bool = False) -> list[Path]:
    """Write figures, ``summary.csv`` and ``report.md`` for a results folder; return their paths.

    Figures (in ``<path>/figures/``):

    * ``km_curves.png`` (one curve per design point; with many design points, one per value of
      the first factor) and, with two or more factors, ``km_by_<factor>.png``;
    * ``durability_vs_<factor>.png`` for each factor: RMST within ``horizon``, share relapsed
      within ``horizon`` and median months held, coloured by the other factor when there are two;
    * ``agreement_vs_<factor>.png``: share of runs reaching agreement and median months to it;
    * ``heatmap_<metric>.png`` when two numeric factors were swept.

    Only a folder written by ``peacesim sweep`` is drawn into, while no sweep is writing it; its
    tables must match the checksums in its manifest. File names made from factor names are safe
    names inside ``figures/``, never paths. A file at one of these names that peacesim did not
    write is not replaced (the call is refused); every file is written atomically.
    """
    from . import fsutil
    from .analysis import _check_number
    from .scenario import user_path

    # the arguments first: a call refused for them takes no lock and reads nothing
    horizon = _check_number(horizon, "horizon", low=0, open_low=True)
    first_only = _check_flag(first_only, "first_only")
    root = user_path(path)
    if root.is_dir():
        # a folder that is not a sweep's is refused before anything is written in it (not even the lock)
        kind, legacy = fsutil.owner(root)
        if kind != "sweep":
            if kind in ("run", "comparison"):
                what = ("one run's results ('peacesim run': its timeline.png is its figure)" if kind == "run" else
                        "a comparison's results ('peacesim compare' draws its own figures; its runs are in runs/)")
                raise InputError(f"'{root}' holds {what}; peacesim plot draws a folder written by 'peacesim sweep'")
            if (root / "manifest.json").exists():
                raise InputError(f"'{root}' is not a peacesim results folder: it has no .peacesim marker and its "
                                 "manifest.json is not a peacesim sweep's; peacesim plot writes only into folders "
                                 "'peacesim sweep' wrote")
            load_results(path)  # says what is missing
            raise InputError(f"'{root}' is not a peacesim results folder written by 'peacesim sweep'")
    with fsutil.FolderLock(root, "plot") if root.is_dir() else _nothing():
        results = load_results(path)
        kind, legacy = fsutil.owner(root)
        if kind != "sweep":
            raise InputError(f"'{root}' is not a peacesim results folder written by 'peacesim sweep'")
        _check_tables(root, results.manifest)
        return _plot_into(root, results, legacy, horizon=horizon, first_only=first_only)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _check_tables(root: Path, manifest: dict[str, Any]) -> None:
    """Refuse tables that are not the ones the sweep recorded (damaged after it finished)."""
    import hashlib

    record = manifest.get("tables")
    if not isinstance(record, dict):
        return  # written before checksums were recorded
    for name, info in record.items():
        p = root / str(name)
        if not isinstance(info, dict) or name not in ("runs.parquet", "episodes.parquet", "series.parquet"):
            continue
        if not p.is_file():
            raise InputError(f"{p}: missing; run the sweep again to repair the results")
        if hashlib.sha256(p.read_bytes()).hexdigest() != info.get("sha256"):
            raise InputError(f"{p}: damaged (its checksum differs from the one in manifest.json); run the same "
                             "'peacesim sweep' command again to repair it")


def _plot_into(root: Path, results: Results, legacy: bool, *, horizon: float, first_only: bool) -> list[Path]:
    from . import fsutil

    figdir = root / "figures"
    if figdir.is_symlink() or (figdir.exists() and not figdir.is_dir()):
        raise InputError(f"{figdir}: is not a plain folder (a link or a file); peacesim writes figures only into "
                         "a folder of its own inside the results folder")
    table = durability_table(results, horizon=horizon, first_only=first_only)
    factors = results.factors
    n_dp = len(table)
    names = _file_parts(factors)

    # What to draw, by file name, before anything is drawn or written.
    planned: list[tuple[str, Any]] = []

    # Kaplan-Meier curves
    if n_dp <= 9 or not factors:
        planned.append(("km_curves.png", lambda: km_curves(results, horizon=horizon, first_only=first_only)))
    else:
        planned.append(("km_curves.png", lambda: km_curves(results, by=factors[0], horizon=horizon,
                                                           first_only=first_only)))
    if len(factors) >= 2:
        for f in factors:
            planned.append((f"km_by_{names[f]}.png",
                            lambda f=f: km_curves(results, by=f, horizon=horizon, first_only=first_only)))

    # metric against each factor
    tables: dict[tuple, pd.DataFrame] = {}

    def by_table(by: list[str]) -> pd.DataFrame:
        if tuple(by) not in tables:
            tables[tuple(by)] = durability_table(results, horizon=horizon, by=by, first_only=first_only)
        return tables[tuple(by)]

    for f in factors:
        hue = next((g for g in factors if g != f), None) if len(factors) == 2 else None
        by = [f] if hue is None else [f, hue]

        def durability(f=f, hue=hue, by=by) -> Figure:
            t = by_table(by)
            fig = Figure(figsize=(15, 4.6), layout="constrained")
            axes = fig.subplots(1, 3)
            for i, (ax, metric) in enumerate(zip(axes, ("rmst", "relapse", "median"))):
                metric_vs_parameter(results, f, metric=metric, hue=hue, ax=ax, horizon=horizon, table=t,
                                    legend=i == 0)
            fig.suptitle(_wrap(f"How long agreements hold, by {results.factor_title(f)}", 100), x=0.01, ha="left",
                         fontsize=12)
            return fig

        def agreement(f=f, hue=hue, by=by) -> Figure:
            t = by_table(by)
            fig = Figure(figsize=(11, 4.6), layout="constrained")
            axes = fig.subplots(1, 2)
            for i, (ax, metric) in enumerate(zip(axes, ("p_agreement", "months_to_agreement"))):
                metric_vs_parameter(results, f, metric=metric, hue=hue, ax=ax, horizon=horizon, table=t,
                                    legend=i == 0)
            fig.suptitle(_wrap(f"Reaching an agreement, by {results.factor_title(f)}", 100), x=0.01, ha="left",
                         fontsize=12)
            return fig

        planned.append((f"durability_vs_{names[f]}.png", durability))
        planned.append((f"agreement_vs_{names[f]}.png", agreement))

    # heat maps for two numeric factors
    numeric = [f for f in factors if results.is_numeric(f)]
    if len(numeric) >= 2 and _on_a_grid(results, numeric[0], numeric[1]):
        x, y = numeric[0], numeric[1]
        for metric in ("rmst", "relapse", "p_agreement"):
            planned.append((f"heatmap_{metric}.png", lambda metric=metric: heatmap(
                results, x, y, metric=metric, horizon=horizon, table=by_table([x, y]))))

    # Refuse before writing anything if a file at one of these names is not peacesim's.
    marker = fsutil.read_marker(root) or {}
    ours = {p for p in marker.get("plot_files", []) if isinstance(p, str)}
    rel = [f"figures/{n}" for n, _ in planned] + ["summary.csv", "report.md"]
    for r in rel:
        target = fsutil.inside(root, root / r)
        if (target.exists() or target.is_symlink()) and r not in ours and not legacy:
            raise InputError(f"{target}: exists and was not written by peacesim; move it away and run "
                             "'peacesim plot' again")
    try:
        figdir.mkdir(exist_ok=True)
        # the inventory first: a plot cut short leaves files that are known to be peacesim's
        fsutil.write_marker(root, "sweep", **{k: v for k, v in marker.items() if k not in ("peacesim", "plot_files")},
                            plot_files=sorted(ours | set(rel)))
        written: list[Path] = []
        for name, make in planned:
            fig = make()
            p = figdir / name
            fsutil.atomic_write(p, lambda tmp, fig=fig: fig.savefig(tmp, dpi=_DPI, format="png"))
            written.append(p)
        csv = root / "summary.csv"
        fsutil.atomic_write(csv, lambda tmp: table.to_csv(tmp, index=False))
        written.append(csv)
        md = root / "report.md"
        fsutil.atomic_write(md, _report(results, table, [p for p in written if p.suffix == ".png"], horizon,
                                        first_only))
        written.append(md)
    except OSError as exc:
        raise fsutil.storage_error(exc) from None
    return written


def _file_parts(factors: list[str]) -> dict[str, str]:
    """A safe, distinct file-name part for each factor name (names come from the manifest)."""
    from . import fsutil

    out: dict[str, str] = {}
    used: set[str] = set()
    for f in factors:
        base = fsutil.slug(f, "factor")
        name, k = base, 2
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        out[f] = name
    return out


# ---------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------
def _pct(p: float, lo: float, hi: float) -> str:
    if np.isnan(p):
        return "–"
    return f"{100 * p:.0f}% ({100 * lo:.0f}–{100 * hi:.0f})"


def _months(v: float, lo: float, hi: float, limit: float) -> str:
    """A median with its interval; ``limit`` is the last month its curve is known (a median not
    reached is longer than that)."""
    if np.isnan(v):
        return "–"
    if np.isinf(v):
        return f"not reached (> {limit:g})" if np.isfinite(limit) else "not reached"

    def f(a):
        return "∞" if np.isinf(a) else "?" if np.isnan(a) else f"{a:.0f}"

    return f"{v:.0f} ({f(lo)}–{f(hi)})"


def _num(v: float, lo: float, hi: float) -> str:
    if np.isnan(v):
        return "–"
    return f"{v:.1f} ({lo:.1f}–{hi:.1f})"


def _per(factor: str, results: Results) -> float:
    p = REGISTRY.get(factor)
    levels = np.asarray(results.levels(factor), dtype=float)
    span = float(levels.max() - levels.min()) if len(levels) else 1.0
    if p is not None and p.unit == "months":
        per = 12.0
    elif p is not None and p.high is not None and p.high <= 1:
        per = 0.1
    else:
        per = 1.0 if span >= 1 else 0.1
    return span if 0 < span < per else per  # never a step beyond the range swept


def _report(results: Results, table: pd.DataFrame, figures: list[Path], horizon: float, first_only: bool) -> str:
    fu = results.followup_months
    min_clusters = int(table.attrs.get("min_clusters", MIN_CLUSTERS))
    months = float(results.runs["months"].max())
    n_ok = int((results.runs["status"] == "ok").sum())
    n_fail = int(len(results.runs) - n_ok)
    reps = results.manifest.get("replicates", "?")
    lines = [f"# {results.title}", ""]
    if results.question:
        lines += [f"**Question.** {results.question}", ""]
    scen = results.manifest.get("scenario")
    scen_name = scen.get("name") if isinstance(scen, dict) else scen
    lines += [
        f"Scenario `{scen_name}`; {_count(len(table), 'setting')} × {_count(reps, 'replicate')} "
        f"(master seed {results.manifest.get('master_seed', '?')}); each run lasts {months_text(months)} and an "
        f"agreement is followed for up to {months_text(fu)}. {_count(n_ok, 'run')} finished"
        + (f", {n_fail} failed and {'is' if n_fail == 1 else 'are'} left out." if n_fail else "."),
        "",
        "## How to read the numbers",
        "",
        "An agreement that is still holding when its follow-up ends, or when the run ends, has not "
        "relapsed *yet*: it is censored, not a success or a failure. So durability is summarised with "
        "Kaplan-Meier survival curves rather than a plain average:",
        "",
        f"* **Relapsed within {months_text(horizon)}**: estimated share of agreements that break down within "
        f"{months_text(horizon)} of signature.",
        f"* **Months held (RMST)**: restricted mean survival time, the average number of months an "
        f"agreement holds during its first {months_text(horizon)} (at most {horizon:g}).",
        "* **Median months held**: half of the agreements break down sooner. *Not reached (> N)* means more "
        "than half were still holding after N months, the longest any agreement of that setting was "
        f"followed (at most the follow-up period, {months_text(fu)}): the median is longer than N.",
        "* **Months to first agreement**: median, counting runs that never reach an agreement as "
        "censored at the end of the run; *not reached (> N)*: fewer than half reached one in N months.",
        f"* **Not estimable**: the agreements of a setting come from fewer than {min_clusters} seeds; "
        "so few give intervals that are too narrow (a handful of agreements can make them a single point), "
        "so no durability measure is given. More replicates are the remedy. A dash (–) means no agreement "
        "was followed that long.",
        "",
        "Brackets are 95% confidence intervals. "
        + ("Only each run's first agreement is used. " if first_only else
           "All agreements of a setting are pooled, also the several a run may sign after a relapse. ")
        + "The intervals of the durability measures and of the months to first agreement are clustered by "
        "seed: agreements of one run are not independent, nor are runs that share a seed, so the seed is "
        "the unit they count. Replicate *k* has the same seed at every setting, so the comparisons below "
        "pair the runs by seed, and the hazard ratios use standard errors clustered by seed (given only "
        f"with at least {min_clusters} seeds).",
        "",
        "## Results per setting",
        "",
    ]
    head = ["Setting", "Runs", "Agreement reached", "Months to first agreement", "Agreements",
            f"Relapsed within {months_text(horizon)}", f"Months held of first {horizon:g} (RMST)", "Median months held"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in table.iterrows():
        runs = f"{r['n_runs']}" + (f" ({r['n_failed']} failed)" if r["n_failed"] else "")
        if r["durability_estimable"]:
            durability = [
                _pct(r["relapse_share"], r["relapse_share_low"], r["relapse_share_high"]),
                _num(r["rmst"], r["rmst_low"], r["rmst_high"]),
                _months(r["median_durability"], r["median_durability_low"], r["median_durability_high"],
                        r["longest_followup"]),
            ]
        else:
            durability = ["not estimable"] * 3
        seeds = r["n_seeds_with_agreement"]
        lines.append("| " + " | ".join([
            r["label"], runs,
            _pct(r["p_agreement"], r["p_agreement_low"], r["p_agreement_high"]),
            _months(r["months_to_agreement"], r["months_to_agreement_low"], r["months_to_agreement_high"],
                    r["longest_run"]),
            f"{r['n_episodes']} ({r['n_relapses']} relapsed; {seeds} seed{'s' if seeds != 1 else ''})",
            *durability,
        ]) + " |")
    lines += ["", "The full table, with more columns, is in `summary.csv` (its columns are described in "
              "docs/RESULTS.md).", ""]
    lines += _effects_section(results, horizon, first_only)
    if figures:
        lines += ["## Figures", ""]
        for p in figures:
            lines += [f"![{_figure_caption(p.stem)}](figures/{p.name})", ""]
    return "\n".join(lines).rstrip() + "\n"


def _effects_section(results: Results, horizon: float, first_only: bool) -> list[str]:
    if not results.factors:
        return []
    out = ["## Effects of each setting", ""]
    if len(results.factors) > 1:
        out += ["Each comparison pools the other settings; the hazard ratio compares like with like "
                "(a separate baseline for each combination of the other settings).", ""]
    aliases = _aliases(results)
    done: set[str] = set()
    for f in results.factors:
        levels = results.levels(f)
        if len(levels) < 2 or f in done:
            continue
        if aliases[f]:  # one comparison for the settings that move together, said once
            done.update(aliases[f])
            out.append(f"* **{results.factor_title(f)}** moves together with "
                       + ", ".join(f"**{results.factor_title(g)}**" for g in aliases[f])
                       + " in this design (each value of one goes with one value of the others): the comparisons "
                         "below are of these settings together; the design cannot tell their effects apart.")
        pairs = [(levels[-1], levels[0])] if results.is_numeric(f) else [(lv, levels[0]) for lv in levels[1:]]
        for a, b in pairs:
            try:
                share = compare(results, f, a, b, metric="p_agreement")
            except InputError:
                share = None
            if share is not None and np.isfinite(share.difference):
                how = (f"a difference of {100 * share.difference:+.1f} percentage points (95% CI "
                       f"{100 * share.low:+.1f} to {100 * share.high:+.1f}, {share.note})"
                       + ("." if share.excludes_zero else "; the interval includes no difference.")
                       if share.estimable else f"a difference of {100 * share.difference:+.1f} percentage points "
                                               f"with no interval ({share.note}).")
                out.append(f"* **{results.factor_title(f)}**: {100 * share.estimate_a:.0f}% of runs reached an "
                           f"agreement with {value_label(f, a)} and {100 * share.estimate_b:.0f}% with "
                           f"{value_label(f, b)}: {how}")
            try:
                c = compare(results, f, a, b, metric="rmst", horizon=horizon, first_only=first_only)
            except InputError:
                continue
            if c.estimable:
                out.append(f"* **{results.factor_title(f)}**: agreements held on average {c.estimate_a:.1f} of their "
                           f"first {months_text(horizon)} with {value_label(f, a)} and {c.estimate_b:.1f} with "
                           f"{value_label(f, b)}: a difference of {c.difference:+.1f} months "
                           f"(95% CI {c.low:+.1f} to {c.high:+.1f}, {c.note})"
                           + ("." if c.excludes_zero else "; the interval includes no difference."))
            else:
                out.append(f"* **{results.factor_title(f)}**, {value_label(f, a)} against {value_label(f, b)}: no "
                           f"difference in months held is given ({c.note}).")
        try:
            if results.is_numeric(f):
                per = _per(f, results)
                hr = hazard_ratio(results, f, per=per, first_only=first_only)
                out.append(f"  * Hazard ratio of relapse per {per:g} {_unit(f)}: " + _hr_text(hr.iloc[0]))
            else:
                hr = hazard_ratio(results, f, first_only=first_only)
                for _, r in hr.iterrows():
                    out.append(f"  * Hazard ratio of relapse, {_short_value(f, r['level'])} vs "
                               f"{_short_value(f, r['reference'])}: " + _hr_text(r))
        except InputError as e:
            out.append(f"  * {_sentence(str(e))}")
    return out + [""]


def _count(n: Any, word: str) -> str:
    """``n`` and ``word``, plural unless ``n`` is 1: "1 setting", "4 settings", "? replicates"."""
    return f"{n} {word}" + ("" if n == 1 else "s")


def _sentence(text: str) -> str:
    """``text`` as a sentence: capital first letter, full stop."""
    text = text.strip()
    return (text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")) if text else text


#: Most values of a factor a heat map shows (more is a scatter of points, not a grid).
HEATMAP_MAX_LEVELS = 30


def _on_a_grid(results: Results, x: str, y: str) -> bool:
    """Whether two factors were swept as a grid a heat map can show: at most
    :data:`HEATMAP_MAX_LEVELS` values each, and at least half of their combinations run (a Latin
    hypercube or calibration design is not: nearly every point has values of its own)."""
    nx, ny = len(results.levels(x)), len(results.levels(y))
    pairs = len(results.runs.drop_duplicates("design_point")[[x, y]].drop_duplicates())
    return nx <= HEATMAP_MAX_LEVELS and ny <= HEATMAP_MAX_LEVELS and pairs >= 0.5 * nx * ny


def _aliases(results: Results) -> dict[str, list[str]]:
    """For each factor, the other factors it moves together with over the design points (each
    value of one goes with exactly one value of the other, both ways)."""
    factors = list(results.factors)
    points = results.runs.drop_duplicates("design_point")[factors].astype(str)
    out: dict[str, list[str]] = {}
    for f in factors:
        out[f] = [g for g in factors if g != f and points[f].nunique() > 1
                  and points.groupby(f)[g].nunique().max() == 1 and points.groupby(g)[f].nunique().max() == 1]
    return out


def _unit(f: str) -> str:
    p = REGISTRY.get(f)
    return p.unit if p is not None and p.unit else "unit"


def _hr_text(r: pd.Series) -> str:
    if not (np.isfinite(r["hr_low"]) and np.isfinite(r["hr_high"])):
        if not np.isfinite(r["hr"]):
            note = str(r["note"])
            return f"{note}." if note.startswith("not estimable") else f"not estimable; {note}."
        return f"{r['note']}; the point estimate, {r['hr']:.2f}, is not a finding without an interval."
    return (f"{r['hr']:.2f} (95% CI {r['hr_low']:.2f}–{r['hr_high']:.2f}, p = {r['p']:.3g}, standard errors "
            f"clustered by {r['cluster']}, {r['n_clusters']} {r['cluster']}s); "
            + _hr_words(r["hr"], r["hr_low"], r["hr_high"]))


def _hr_words(hr: float, lo: float, hi: float) -> str:
    if hi < 1:
        return "agreements relapse more slowly (last longer)."
    if lo > 1:
        return "agreements relapse faster."
    return "no clear difference in the risk of relapse."


_HEATMAP_CAPTIONS = {"heatmap_rmst": "Grid of the months agreements hold (RMST) over the two factors",
                     "heatmap_relapse": "Grid of the share of agreements that relapse over the two factors",
                     "heatmap_p_agreement": "Grid of the share of runs reaching an agreement over the two factors"}


def _figure_caption(stem: str) -> str:
    if stem == "km_curves":
        return "How long agreements hold (Kaplan-Meier curves)"
    if stem in _HEATMAP_CAPTIONS:
        return _HEATMAP_CAPTIONS[stem]
    for prefix, text in (("km_by_", "How long agreements hold, by "), ("durability_vs_", "Durability against "),
                         ("agreement_vs_", "Reaching an agreement against "), ("heatmap_", "Grid of ")):
        if stem.startswith(prefix):
            return text + stem[len(prefix):].replace("_", " ")
    return stem.replace("_", " ")
