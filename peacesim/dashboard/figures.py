"""Figures of the dashboard: the actor network and the spread of many seeds beside the class's run.

The timeline is :func:`peacesim.plotting.plot_timeline`, the figure ``peacesim run`` writes. Every
function draws on a :class:`matplotlib.figure.Figure` (no pyplot), takes ``ax=None`` and returns
the figure.
"""

from __future__ import annotations

import base64
import io
import math
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..plotting import PHASE_COLOURS

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from ..result import RunResult
    from .session import Spread

__all__ = ["KIND_STYLE", "network_figure", "spread_figure", "png_bytes", "data_uri", "INACTIVE_COLOUR"]

#: Shape and colour of each kind of actor in the network (mediator kinds share the mediator's).
KIND_STYLE: dict[str, tuple[str, str, str]] = {
    "party": ("o", "#1f77b4", "conflict party"),
    "spoiler": ("^", "#c62828", "spoiler"),
    "mediator": ("s", "#2e7d32", "mediator"),
    "diplomat": ("D", "#8e24aa", "diplomat"),
    "local": ("h", "#ef6c00", "local mechanism"),
}
INACTIVE_COLOUR = "#bdbdbd"
_TRUST_CMAP = "RdYlGn"


def _kind(node_kind: str) -> str:
    return node_kind if node_kind in KIND_STYLE else "mediator"


def _positions(g) -> dict[str, tuple[float, float]]:
    """Fixed places, ring by kind: parties in the middle, third parties around them, spoilers to the
    side, local mechanisms on the outer ring (the same actor stays in place from month to month)."""
    by_kind: dict[str, list[str]] = {}
    for n, d in g.nodes(data=True):
        by_kind.setdefault(_kind(d["kind"]), []).append(n)
    pos: dict[str, tuple[float, float]] = {}
    rings = {"party": (0.35, 90.0), "mediator": (1.0, 90.0), "diplomat": (1.0, 235.0), "spoiler": (1.45, 330.0),
             "local": (1.8, 90.0)}
    for kind, names in by_kind.items():
        r, start = rings[kind]
        span = {"mediator": 130.0, "diplomat": 90.0, "spoiler": 50.0}.get(kind, 360.0)
        k = len(names)
        for i, n in enumerate(names):
            if span >= 360.0:
                a = math.radians(start + 360.0 * i / max(k, 1))
            else:
                a = math.radians(start - span / 2 + span * (i + 0.5) / k)
            pos[n] = (r * math.cos(a), r * math.sin(a))
    return pos


def network_figure(g, *, ax: Axes | None = None, labels: bool = True, title: str | None = None) -> Figure:
    """Draw the actor network (``model.network()``): parties, spoilers, mediators, diplomats and local
    mechanisms in distinct shapes and colours; edges between parties and third parties coloured by
    the trust of the pair (the mean of both directions); unfunded or vacant actors greyed out."""
    import matplotlib

    if ax is None:
        fig = Figure(figsize=(7.5, 6.2), dpi=90)
        ax = fig.add_axes((0.0, 0.08, 0.86, 0.86))
    else:
        fig = ax.figure
    cmap = matplotlib.colormaps[_TRUST_CMAP]
    pos = _positions(g)
    from matplotlib.collections import LineCollection

    drawn, segments, colours, widths = set(), [], [], []
    for a, b, d in g.edges(data=True):
        if (b, a) in drawn or a == b:
            continue
        ka, kb = g.nodes[a]["kind"], g.nodes[b]["kind"]
        if "spoiler" in (ka, kb) or "local" in (ka, kb):
            continue  # no rule reads trust with spoilers or local mechanisms
        if ka != "party" and kb != "party":
            continue  # third parties with each other: too many lines for a classroom screen
        drawn.add((a, b))
        t = d["trust"]
        if g.has_edge(b, a):
            t = (t + g.edges[b, a]["trust"]) / 2
        faded = any(g.nodes[x]["vacant"] or not g.nodes[x]["funded"] for x in (a, b))
        segments.append([pos[a], pos[b]])
        colours.append(matplotlib.colors.to_rgba(INACTIVE_COLOUR, 0.5) if faded else cmap(t))
        widths.append(1.0 + 3.0 * t)
    ax.add_collection(LineCollection(segments, colors=colours, linewidths=widths, zorder=1, capstyle="round",
                                     gid="trust-edges"))
    groups: dict[tuple[str, bool, bool], list[tuple[float, float]]] = {}
    for n, d in g.nodes(data=True):
        inactive = bool(d["vacant"] or not d["funded"])
        groups.setdefault((_kind(d["kind"]), inactive, bool(d.get("leading"))), []).append(pos[n])
        if labels and d["kind"] != "local":
            x, y = pos[n]
            name = n[4:] if n.lower().startswith("the ") else n
            ax.annotate(name + (" (lead)" if d.get("leading") else "") + (f"\n{d['state']}" if inactive else ""),
                        (x, y), xytext=(0, -17), textcoords="offset points", ha="center", va="top", fontsize=8.5,
                        color="#757575" if inactive else "#212121", zorder=4)
    for (kind, inactive, leading), xy in groups.items():
        marker, colour, _ = KIND_STYLE[kind]
        xs, ys = zip(*xy, strict=True)
        ax.scatter(xs, ys, marker=marker, s=120 if kind == "local" else 420,
                   color=INACTIVE_COLOUR if inactive else colour, edgecolors="#000000" if leading else "#424242",
                   linewidths=2.5 if leading else 0.8, zorder=3,
                   gid=f"node:{kind}:{'inactive' if inactive else 'active'}")
    ax.set_xlim(-2.1, 2.1)
    ax.set_ylim(-2.0, 2.0)
    ax.set_aspect("equal")
    ax.axis("off")
    handles = [Line2D([], [], marker=m, ls="", color=c, markersize=9, label=lab) for m, c, lab in KIND_STYLE.values()]
    handles.append(Line2D([], [], marker="s", ls="", color=INACTIVE_COLOUR, markersize=9,
                          label="unfunded or vacant"))
    ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, -0.1), ncol=3, frameon=False, fontsize=8.5)
    sm = matplotlib.cm.ScalarMappable(cmap=cmap, norm=matplotlib.colors.Normalize(0, 1))
    cax = fig.add_axes((0.87, 0.25, 0.025, 0.5))
    fig.colorbar(sm, cax=cax).set_label("trust (edge colour and width)", fontsize=8.5)
    cax.tick_params(labelsize=8)
    if title:
        ax.set_title(title, fontsize=11)
    return fig


def spread_figure(spread: Spread, result: RunResult | None = None, *, fig: Figure | None = None,
                  title: str | None = None) -> Figure:
    """A fan of violence over the spread's seeds (10-90% and 25-75% bands, the median) with the
    class's run on top, and below it the share of runs with an agreement in force month by month,
    with the months in which the class's run had one marked."""
    if fig is None:
        fig = Figure(figsize=(10, 5.6), dpi=90)
    else:
        fig.clear()
    ax_v, ax_a = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1.6, 1.0], "hspace": 0.1})
    m = spread.months
    q = dict(zip(spread.quantiles, spread.violence, strict=True))
    lo, hi = min(spread.quantiles), max(spread.quantiles)
    ax_v.fill_between(m, q[lo], q[hi], color="#90a4ae", alpha=0.35, lw=0,
                      label=f"{lo:.0%}-{hi:.0%} of {spread.n} runs")
    if 0.25 in q and 0.75 in q:
        ax_v.fill_between(m, q[0.25], q[0.75], color="#607d8b", alpha=0.45, lw=0, label="middle half of runs")
    if 0.5 in q:
        ax_v.plot(m, q[0.5], color="#37474f", lw=1.4, label="median run")
    ax_a.fill_between(m, 0, spread.in_force, step="mid", color=PHASE_COLOURS["implementation"], lw=0)
    ax_a.step(m, spread.in_force, where="mid", color="#1565c0", lw=1.4, label="share of runs with an agreement in force")
    if result is not None and len(result.series):
        s = result.series
        mm = s["month"].to_numpy(dtype=float)
        ax_v.plot(mm, s["violence"].to_numpy(dtype=float), color="#d81b60", lw=2.2, label="our run", gid="our-run")
        inforce = s["phase"].astype(str).isin(["implementation", "consolidated"]).to_numpy()
        ax_a.scatter(mm[inforce], np.full(inforce.sum(), 1.04), marker="|", s=40, color="#d81b60",
                     label="our run: agreement in force", clip_on=False)
        ax_v.axvline(mm[-1], color="#d81b60", lw=0.8, ls=":")
        ax_a.axvline(mm[-1], color="#d81b60", lw=0.8, ls=":")
    peak = float(np.nanmax(q[hi]))
    if result is not None and len(result.series):
        peak = max(peak, float(result.series["violence"].max()))  # the class's run is never cut off
    ax_v.set_ylim(0, max(0.05, peak * 1.1))
    ax_v.set_ylabel("violence (0-1)")
    ax_a.set_ylim(0, 1.1)
    ax_a.yaxis.set_major_formatter(lambda x, _: f"{x:.0%}")
    ax_a.set_ylabel("agreement\nin force")
    ax_a.set_xlabel("month")
    ax_a.set_xlim(0.5, m[-1] + 0.5)
    for ax in (ax_v, ax_a):
        ax.legend(loc="upper right", fontsize=8.5, frameon=False)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    if title:
        fig.suptitle(title, fontsize=12)
    fig.subplots_adjust(left=0.09, right=0.98, top=0.9 if title else 0.97, bottom=0.1)
    return fig


def png_bytes(fig: Figure, *, dpi: int | None = None) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def data_uri(fig: Figure, *, dpi: int | None = None) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(fig, dpi=dpi)).decode("ascii")


def node_summary(g) -> dict[str, Any]:
    """Counts of the network's actors by kind and how many are inactive (for tests and captions)."""
    out: dict[str, Any] = {}
    for _, d in g.nodes(data=True):
        k = _kind(d["kind"])
        c = out.setdefault(k, {"n": 0, "inactive": 0})
        c["n"] += 1
        c["inactive"] += bool(d["vacant"] or not d["funded"])
    return out
