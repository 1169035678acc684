"""A timeline figure of one run (DESIGN.md section 5 outputs, drawn for a trainer or a report).

Stacked panels share the month axis:

(a) violence: total, and between signatories while an agreement is being implemented;
(b) mean trust between the parties at the table, implementation progress, and negotiation
    progress during talks;
(c) each party's ripeness with the ripeness threshold;
(d) third parties active (mediators and diplomats in post and funded) and the funded share of
    project-funded actors;
and a thin strip of event ticks (interventions when there were any, attacks, foiled attacks,
rotations, premature proposals, funding lapses).

A month m spans m - 0.5 to m + 0.5 on the x axis: its values are drawn at m, phase bands change at
the edges between months. Phase bands are shaded behind every panel; agreements signed (green),
relapses (red) and interventions (magenta, dash-dot, named at the top of the first panel) are
vertical lines across all panels, and the legend above the panels names those the run has. An
intervention takes effect at the start of its month: its line, its label and its star in the
event strip are at m - 0.5. Everything is drawn on a :class:`matplotlib.figure.Figure`
without pyplot, so no global backend or figure state is touched.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from .figtext import as_written
from .events import parse_values, split_actors
from .output import escape_undecodable
from .records import PHASE_LABELS, unique_slugs

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from .result import RunResult

__all__ = ["plot_timeline", "save_timeline", "PHASE_COLOURS", "INTERVENTION_COLOUR"]

PHASE_COLOURS = {
    "conflict": "#f3d3d0",
    "talks": "#fbe9b7",
    "implementation": "#d3e4f3",
    "consolidated": "#d5ecd0",
}
SIGNED_COLOUR = "#1a7f37"
RELAPSE_COLOUR = "#c62828"
INTERVENTION_COLOUR = "#ad1457"
PARTY_COLOURS = ["#1f77b4", "#d62728", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f"]
LEGEND_NAME_WIDTH = 30  # characters of a party's name on one line of the legend beside the panels

# Rows of the event strip: label, event kind, colour, marker.
_EVENT_ROWS = [
    ("interventions", "intervention", INTERVENTION_COLOUR, "*"),
    ("attacks", "attack", "#b71c1c", "v"),
    ("attacks foiled", "attack_foiled", "#ef9a9a", "v"),
    ("rotations", "rotation", "#455a64", "|"),
    ("early proposals", "premature_proposal", "#e65100", "x"),
    ("funding lapses", "funding_lapse", "#6a1b9a", "|"),
]

_LEGEND_KW = dict(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False, fontsize=9)


def party_columns(result: RunResult) -> tuple[list[str], list[str]]:
    """The parties' names and the slugs their series columns carry (numbered where two names would
    give the same slug, as the recorder numbers them)."""
    if result.parties:
        names = list(result.parties)
        return names, unique_slugs(names)
    keys = [c[len("ripeness_"):] for c in result.series.columns if c.startswith("ripeness_")]
    return keys, keys


def _phase_runs(phase: pd.Series, months: np.ndarray) -> list[tuple[str, float, float]]:
    """Contiguous runs of one phase as (label, start, end) in month coordinates (edges at .5)."""
    labels = phase.astype(str).to_numpy()
    runs: list[tuple[str, float, float]] = []
    if len(labels) == 0:
        return runs
    start = 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            runs.append((labels[start], months[start] - 0.5, months[i - 1] + 0.5))
            start = i
    return runs


def _shade(ax: Axes, runs: list[tuple[str, float, float]]) -> None:
    for label, a, b in runs:
        ax.axvspan(a, b, color=PHASE_COLOURS.get(label, "#eeeeee"), lw=0, zorder=0)


def _drawn(ax: Axes) -> tuple[list[Any], list[str]]:
    """The legend entries of the lines of ``ax`` that show somewhere: a line of a phase the run never
    reached (implementation without an agreement) has no point to draw, and an entry would say it had."""
    handles, labels = ax.get_legend_handles_labels()
    kept = [(h, label) for h, label in zip(handles, labels, strict=True)
            if not isinstance(h, Line2D) or np.isfinite(np.asarray(h.get_ydata(), dtype=float)).any()]
    return [h for h, _ in kept], [label for _, label in kept]


def _only_in(series: pd.DataFrame, column: str, phase: str) -> np.ndarray:
    """A column with NaN outside the given phase (so the line shows only where it means something)."""
    y = series[column].to_numpy(dtype=float).copy()
    y[(series["phase"].astype(str) != phase).to_numpy()] = np.nan
    return y


def _episode_marks(result: RunResult) -> tuple[list[float], list[float]]:
    ep = result.episodes
    if ep is None or len(ep) == 0:
        return [], []
    signed = [float(m) for m in ep["signed_month"].dropna()]
    relapsed = ep[ep["relapsed"].fillna(False).astype(bool)]
    relapses = [float(m) for m in relapsed["end_month"].dropna()]
    return signed, relapses


def _interventions(result: RunResult) -> list[tuple[int, str]]:
    """(month, short label) of every intervention applied in the run, from its events."""
    ev = _events_of(result, "intervention")
    out = []
    for m, a, v in zip(ev["month"], ev["actors"], ev["values"], strict=True):
        v = parse_values(v)
        kind = str(v.get("intervention") or "intervention")
        if kind == "set":
            label = f"{str(v.get('name')).replace('_', ' ')} = {v.get('value')}"
        else:
            who = split_actors(a)
            # the actor as the scenario names it, without a leading article (room is short)
            name = who[0][4:] if who and who[0].startswith("the ") else who[0] if who else ""
            label = kind.replace("_", " ") + (f": {name}" if name else "")
        out.append((int(m), label))
    return out


def parameter_steps(result: RunResult, name: str) -> tuple[list[float], list[float], str]:
    """The value of the parameter ``name`` over the run, as the corners of a step line (x in
    months, a month m running from m - 0.5 to m + 0.5, to the horizon) and its legend text: the
    value the run started with, then each value a ``set`` intervention gave it from its month on.
    No corners when the run did not start with the parameter."""
    start = (result.params or {}).get(name)
    if start is None:
        return [], [], ""
    end = float(result.months or (result.series["month"].iloc[-1] if len(result.series) else 1)) + 0.5
    xs, ys, value = [0.5], [float(start)], float(start)
    changes: list[tuple[int, float]] = []
    ev = _events_of(result, "intervention")
    for m, v in zip(ev["month"], ev["values"], strict=True):
        v = parse_values(v)
        if v.get("intervention") == "set" and v.get("name") == name and v.get("value") is not None:
            new = float(v["value"])
            if new != value:
                xs += [m - 0.5, m - 0.5]
                ys += [value, new]
                value = new
                changes.append((int(m), new))
    xs.append(end)
    ys.append(value)
    text = f"{float(start):.2f}"
    if len(changes) == 1:
        text += f", {changes[0][1]:.2f} from month {changes[0][0]}"
    elif changes:
        text += f", …, {changes[-1][1]:.2f} from month {changes[-1][0]}"  # the line shows the values between
    return xs, ys, text


#: Points across that a label of interventions, 7-point type written down its line, takes with its margin.
LABEL_POINTS = 10.0


def legend_name(name: str) -> str:
    """A party's name as its legend entry: on lines of at most :data:`LEGEND_NAME_WIDTH` characters
    (at most three, shortened with '…' beyond), which fit beside the panels."""
    import textwrap

    return "\n".join(textwrap.wrap(name, LEGEND_NAME_WIDTH, max_lines=3, placeholder=" …")) or name


def label_groups(months: list[int], min_gap: float) -> list[list[int]]:
    """The months of interventions in groups whose lines are less than ``min_gap`` months apart
    (a label at each would be written over the next): one label for each group."""
    groups: list[list[int]] = []
    for m in sorted(months):
        if groups and m - groups[-1][-1] < min_gap:
            groups[-1].append(m)
        else:
            groups.append([m])
    return groups


def _month_label(labels: list[str], room: float, size: float) -> str:
    """The label of one month's interventions, at most ``room`` points long in a ``size``-point
    font: all of them when they fit, else how many there were and the first, cut with an ellipsis."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    prop = FontProperties(size=size)
    measure = TextToPath()

    def fits(text: str) -> bool:
        return measure.get_text_width_height_descent(text, prop, ismath=False)[0] <= room

    n = len(labels)
    text = ", ".join(dict.fromkeys(labels))
    if n > 1 and (not fits(text) or len(set(labels)) < n):  # several: say how many, then as many as fit
        text = f"{n} interventions: {text}"
        if not fits(text):
            text = f"{n} interventions: {labels[0]}"
    if fits(text):
        return text
    while len(text) > 1 and not fits(text.rstrip() + "…"):
        text = text[:-1]
    return text.rstrip() + "…"


def _events_of(result: RunResult, kind: str) -> pd.DataFrame:
    ev = result.events
    if ev is None or len(ev) == 0:
        return pd.DataFrame(columns=["month", "kind", "actors", "values"])
    return ev[ev["kind"] == kind]


def _lead_rotations(result: RunResult) -> set[int]:
    """Row labels of rotation events of the post leading the process at the time."""
    from .narrative import current_leads  # one definition of "the lead" for text and plot

    ev = result.events
    if ev is None or len(ev) == 0:
        return set()
    leads = current_leads(ev)
    out = set()
    for idx, kind, actors, lead in zip(ev.index, ev["kind"], ev["actors"], leads):
        if kind == "rotation" and lead:
            a = split_actors(actors)
            if a and a[0] == lead:
                out.add(idx)
    return out


@as_written
def plot_timeline(result: RunResult, *, fig: Figure | None = None, title: str | None = None,
                  third_parties: bool = True) -> Figure:
    """Draw a timeline of one run and return the figure.

    Parameters
    ----------
    result:
        A :class:`~peacesim.records.RunResult`.
    fig:
        A figure to draw into (cleared first); a new 12x8 inch figure at 130 dpi if ``None``.
    title:
        The figure title; defaults to the scenario, the seed and a one-line outcome.
    third_parties:
        Whether to draw the panel of third parties active and funded.
    """
    s = result.series
    months = s["month"].to_numpy(dtype=float)
    if fig is None:
        fig = Figure(figsize=(12, 8), dpi=130)
    else:
        fig.clear()

    interventions = _interventions(result)
    n_main = 4 if third_parties else 3
    # a taller first panel where interventions are named down it
    ratios = [1.35 if interventions else 1.0] + [1.0] * (n_main - 1) + [0.55]
    axes = fig.subplots(n_main + 1, 1, sharex=True, gridspec_kw={"height_ratios": ratios, "hspace": 0.12})
    ax_v, ax_t, ax_r = axes[0], axes[1], axes[2]
    ax_tp = axes[3] if third_parties else None
    ax_e = axes[-1]

    runs = _phase_runs(s["phase"], months)
    signed, relapses = _episode_marks(result)
    for ax in axes:
        _shade(ax, runs)
        for m in signed:
            ax.axvline(m, color=SIGNED_COLOUR, lw=1.6, zorder=3)
        for m in relapses:
            ax.axvline(m, color=RELAPSE_COLOUR, lw=1.6, ls=(0, (4, 2)), zorder=3)
        for m, _ in interventions:
            ax.axvline(m - 0.5, color=INTERVENTION_COLOUR, lw=1.2, ls="-.", zorder=3, gid=f"intervention:{m}")
        ax.grid(axis="y", color="white", lw=0.8, zorder=1)
        ax.tick_params(labelsize=9)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)

    # (a) violence
    ax_v.set_label("violence")
    ax_v.plot(months, s["violence"], color="#212121", lw=1.3, label="total violence", zorder=4)
    if "signatory_violence" in s:
        ax_v.plot(months, _only_in(s, "signatory_violence", "implementation"), color=RELAPSE_COLOUR, lw=1.3,
                  label="between signatories", zorder=4)
    ax_v.set_ylim(0, max(0.05, float(np.nanmax(s["violence"].to_numpy(dtype=float))) * 1.12) if len(s) else 1)
    ax_v.set_ylabel("violence\n(0-1)", fontsize=10)
    ax_v.legend(*_drawn(ax_v), **_LEGEND_KW)
    # Name each intervention at the top of the first panel (several in one month share a label).
    labels: dict[int, list[str]] = {}
    for m, label in interventions:
        labels.setdefault(m, []).append(label)
    # the labels run down the panel (rotated), as far as its height; months whose lines are closer
    # than a label's width share one label (each would be written over the next), beside the last
    room = ax_v.get_position().height * fig.get_figheight() * 72 - 6
    span = float(result.months or (months[-1] if len(months) else 1))
    points_a_month = ax_v.get_position().width * fig.get_figwidth() * 72 / span
    for group in label_groups(list(labels), LABEL_POINTS / points_a_month):  # beside the group's last line
        text = _month_label([x for m in group for x in labels[m]], room, 7)
        ax_v.annotate(text, xy=(group[-1] - 0.5, 1.0), xycoords=("data", "axes fraction"),
                      xytext=(2, -2), textcoords="offset points", rotation=90, va="top", ha="left", fontsize=7,
                      color=INTERVENTION_COLOUR, zorder=6, gid=f"intervention-label:{group[-1]}")

    # (b) trust and progress
    ax_t.set_label("trust")
    ax_t.plot(months, s["trust_parties"], color="#00695c", lw=1.4, label="trust between parties", zorder=4)
    ax_t.plot(months, _only_in(s, "negotiation_progress", "talks"), color="#f57f17", lw=1.4,
              label="negotiation progress", zorder=4)
    ax_t.plot(months, _only_in(s, "implementation", "implementation"), color="#1565c0", lw=1.6,
              label="implementation", zorder=4)
    ax_t.set_ylim(0, 1.04)
    ax_t.set_ylabel("trust and\nprogress", fontsize=10)
    ax_t.legend(*_drawn(ax_t), **_LEGEND_KW)

    # (c) ripeness per party
    ax_r.set_label("ripeness")
    parties, slugs = party_columns(result)
    for k, (name, key) in enumerate(zip(parties, slugs, strict=True)):
        col = f"ripeness_{key}"
        if col not in s:
            continue
        ax_r.plot(months, s[col], color=PARTY_COLOURS[k % len(PARTY_COLOURS)], lw=1.3, label=legend_name(name),
                  zorder=4, gid=f"ripeness:{name}")
    # Commitment replaces ripeness as what matters once an agreement is signed: dotted, same colour.
    has_commitment = False
    for k, (name, key) in enumerate(zip(parties, slugs, strict=True)):
        col = f"commitment_{key}"
        if col not in s:
            continue
        y = _only_in(s, col, "implementation")
        if np.all(np.isnan(y) | (y <= 0)):
            continue
        y[y <= 0] = np.nan  # parties left out of the agreement have no commitment
        ax_r.plot(months, y, color=PARTY_COLOURS[k % len(PARTY_COLOURS)], lw=1.1, ls=":", zorder=4,
                  gid=f"commitment:{name}")
        has_commitment = True
    # the threshold in force month by month: a `set` intervention moves it
    xs, ys, text = parameter_steps(result, "ripeness_threshold")
    if len(xs) == 2:
        ax_r.axhline(ys[0], color="#424242", lw=1.0, ls="--", zorder=3,
                     label=f"ripeness threshold ({text})", gid="ripeness_threshold")
    elif xs:  # moved during the run: its values on a line of their own, within the figure's width
        ax_r.plot(xs, ys, color="#424242", lw=1.0, ls="--", zorder=3,
                  label=f"ripeness threshold\n({text})", gid="ripeness_threshold")
    ax_r.set_ylim(0, 1.0)
    ax_r.set_ylabel("ripeness /\ncommitment", fontsize=10)
    handles, labels = ax_r.get_legend_handles_labels()
    if has_commitment:
        handles.append(Line2D([], [], color="#616161", lw=1.1, ls=":"))
        labels.append("commitment to the agreement\n(dotted, party colours)")
    ax_r.legend(handles, labels, **_LEGEND_KW)

    # (d) third parties
    if ax_tp is not None:
        ax_tp.set_label("third parties")
        ax_tp.step(months, s["mediators_active"], where="mid", color="#283593", lw=1.4,
                   label="mediators active", zorder=4)
        ax_tp.step(months, s["diplomats_active"], where="mid", color="#8e24aa", lw=1.4,
                   label="diplomats active", zorder=4)
        top = max(1, int(np.nanmax(s[["mediators_active", "diplomats_active"]].to_numpy(dtype=float)))) if len(s) else 1
        ax_tp.set_ylim(-0.2, top + 0.6)
        ax_tp.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
        ax_tp.set_ylabel("third parties\nin post & funded", fontsize=10)
        handles, labels = ax_tp.get_legend_handles_labels()
        if "project_funded" in s:
            tw = ax_tp.twinx()
            tw.set_label("funded share")
            tw.plot(months, s["project_funded"], color="#6d4c41", lw=1.1, ls=":", zorder=4,
                    label="project grants running\n(share, right axis)")
            tw.set_ylim(0, 1.08)
            tw.yaxis.set_major_formatter(lambda x, _: f"{x:.0%}")
            tw.tick_params(labelsize=8, colors="#6d4c41")
            for side in ("top",):
                tw.spines[side].set_visible(False)
            h2, l2 = tw.get_legend_handles_labels()
            handles, labels = handles + h2, labels + l2
        ax_tp.legend(handles, labels, **{**_LEGEND_KW, "bbox_to_anchor": (1.06, 1.0)})

    # event strip
    ax_e.set_label("events")
    lead_rot = _lead_rotations(result)
    yt, yl = [], []
    # The interventions row appears only when there were interventions.
    strip_rows = [r for r in _EVENT_ROWS if r[1] != "intervention" or interventions]
    for row, (label, kind, colour, marker) in enumerate(reversed(strip_rows)):
        ev = _events_of(result, kind)
        yt.append(row)
        yl.append(label)
        if len(ev) == 0:
            continue
        x = ev["month"].to_numpy(dtype=float)
        if kind == "intervention":  # at the start of its month, on its line (as the phase bands' edges)
            x = x - 0.5
        if kind == "rotation" and lead_rot:
            lead = ev.index.isin(list(lead_rot))
            ax_e.scatter(x[~lead], np.full((~lead).sum(), row), marker=marker, s=40, color=colour, lw=1.0, zorder=4)
            ax_e.scatter(x[lead], np.full(lead.sum(), row), marker="D", s=22, color="#000000", zorder=5,
                         label="rotation of the lead")
        else:
            ax_e.scatter(x, np.full(len(x), row), marker=marker, s=28 if marker != "|" else 40, color=colour,
                         lw=1.0, zorder=4)
    ax_e.set_yticks(yt, yl, fontsize=8)
    ax_e.set_ylim(-0.7, len(strip_rows) - 0.3)
    ax_e.grid(False)
    ax_e.tick_params(axis="y", length=0)
    if lead_rot:
        ax_e.legend(**{**_LEGEND_KW, "fontsize": 8})

    n = float(result.months or (months[-1] if len(months) else 1))
    ax_e.set_xlim(0.5, n + 0.5)
    ax_e.set_xlabel("month", fontsize=10)
    ax_e.xaxis.set_major_locator(MaxNLocator(nbins=13, integer=True))

    # Figure-level legend for phases and agreement markers, once.
    present = [p for p in PHASE_LABELS if p in set(s["phase"].astype(str))] or list(PHASE_LABELS)
    legend_items: list[Any] = [Patch(facecolor=PHASE_COLOURS[p], edgecolor="none", label=p) for p in present]
    # only what the run has: an entry for a line drawn nowhere would say it happened
    if signed:
        legend_items.append(Line2D([], [], color=SIGNED_COLOUR, lw=1.6, label="agreement signed"))
    if relapses:
        legend_items.append(Line2D([], [], color=RELAPSE_COLOUR, lw=1.6, ls=(0, (4, 2)), label="relapse"))
    if interventions:
        legend_items.append(Line2D([], [], color=INTERVENTION_COLOUR, lw=1.2, ls="-.", label="intervention"))
    fig.legend(handles=legend_items, loc="upper center", bbox_to_anchor=(0.44, 0.945), ncol=len(legend_items),
               frameon=False, fontsize=9, handlelength=1.8, columnspacing=1.4)

    # (a name from a file name that is not UTF-8 has bytes no font draws: they are shown as escapes)
    fig.suptitle(escape_undecodable(title if title is not None else _default_title(result)), x=0.44, y=0.985,
                 fontsize=13)
    fig.subplots_adjust(left=0.09, right=0.76, top=0.895, bottom=0.07)
    for ax in axes[:-1]:
        ax.yaxis.set_label_coords(-0.065, 0.5)  # aligned, and clear of the event strip's row labels
    return fig


def _default_title(result: RunResult) -> str:
    o = result.outcome or {}
    n_ag = int(o.get("n_agreements", len(result.episodes) if result.episodes is not None else 0))
    n_rel = int(o.get("n_relapses", 0))
    bits = [f"{n_ag} agreement{'s' if n_ag != 1 else ''}"]
    if n_ag:
        bits.append(f"{n_rel} relapse{'s' if n_rel != 1 else ''}")
        bits.append("peace consolidated" if o.get("consolidated") else "not consolidated")
    return f"{result.scenario} — seed {result.seed}: " + ", ".join(bits)


def save_timeline(result: RunResult, path: str | Path, *, dpi: int = 130, title: str | None = None) -> Path:
    """Draw the timeline of a run and write it as a PNG (or any format matplotlib knows by suffix)."""
    path = Path(path)
    fig = plot_timeline(result, title=title)
    try:
        fig.savefig(path, dpi=dpi)
    finally:
        fig.clear()
    return path
