"""Figures of the dashboard and its debrief, written directly as SVG in a few milliseconds.

A tab redraws its timeline and network after every month it steps, and one Python process serves
every tab. Drawn with matplotlib, the timeline took about 0.5 s and the network 0.2 s of the
server's CPU, so thirty tabs stepping at once waited tens of seconds for a month; written here,
they take about 25 and 5 ms. The timeline has the panels, colours, phase bands and marks of
:func:`peacesim.plotting.plot_timeline` (the figure ``peacesim run`` writes), from the same
helpers. The SVG references no font, script or other file, so a page or a debrief showing it stays
offline.

:class:`Canvas` and :class:`Panel` are a minimal plotting layer (lines with gaps at NaN, steps,
filled bands, vertical spans and lines, markers, ticks, legends); :func:`timeline_svg`,
:func:`network_svg` and :func:`spread_svg` are the three figures.
"""

from __future__ import annotations

import math
from html import escape
from typing import TYPE_CHECKING

import numpy as np

from ..plotting import (
    _EVENT_ROWS,
    INTERVENTION_COLOUR,
    PARTY_COLOURS,
    PHASE_COLOURS,
    RELAPSE_COLOUR,
    SIGNED_COLOUR,
    _episode_marks,
    _events_of,
    _interventions,
    _lead_rotations,
    _only_in,
    _phase_runs,
    label_groups,
    legend_name,
    parameter_steps,
    party_columns,
)
from ..records import PHASE_LABELS

if TYPE_CHECKING:  # pragma: no cover
    from ..result import RunResult
    from .session import Spread

__all__ = ["Canvas", "Panel", "nice_ticks", "timeline_svg", "network_svg", "spread_svg", "data_uri", "KIND_STYLE",
           "INACTIVE_COLOUR"]

FONT = "DejaVu Sans, Verdana, Arial, sans-serif"
DASHES = {"-": None, "--": "6 3", ":": "1.5 2.5", "-.": "7 3 1.5 3", "relapse": "5 2.5"}


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
    rings = {"party": (0.55, 90.0), "mediator": (1.0, 90.0), "diplomat": (1.0, 235.0), "spoiler": (1.45, 330.0),
             "local": (1.8, 90.0)}
    for kind, names in by_kind.items():
        r, start = rings[kind]
        k = len(names)
        # a crowded kind gets a wider arc (seven mediators on 130 degrees stood shoulder to shoulder)
        span = {"mediator": min(170.0, max(130.0, 24.0 * k)), "diplomat": min(110.0, max(90.0, 22.0 * k)),
                "spoiler": 50.0}.get(kind, 360.0)
        for i, n in enumerate(names):
            if span >= 360.0:
                a = math.radians(start + 360.0 * i / max(k, 1))
            else:
                a = math.radians(start - span / 2 + span * (i + 0.5) / k)
            pos[n] = (r * math.cos(a), r * math.sin(a))
    return pos


#: Advance widths of DejaVu Sans (the figures' first font) in ems, by class of character: narrow
#: letters and punctuation, wide letters and capitals, and the rest. Estimates on the wide side.
_NARROW = set("iljtfr.,;:'!|() -")
_WIDE = set("mwMW")


def text_width(s: str, size: float) -> float:
    """The width of one line of ``s`` at ``size`` units, estimated on the wide side."""
    return size * sum(0.34 if ch in _NARROW else 0.95 if ch in _WIDE else 0.76 if ch.isupper() else 0.64
                      for ch in s)


def label_box(x: float, y: float, text: str, size: float, anchor: str = "middle") -> tuple[float, float, float, float]:
    """The box (left, top, right, bottom) of a label written with :meth:`Canvas.text` at (x, y),
    baseline ``auto``: one line, or several centred on y (1.2 em apart)."""
    lines = str(text).split("\n")
    w = max(text_width(t, size) for t in lines)
    first = y - (len(lines) - 1) * 0.6 * size  # the first line's baseline
    top, bottom = first - 0.95 * size, first + (len(lines) - 1) * 1.2 * size + 0.3 * size
    left = x - w / 2 if anchor == "middle" else x - w if anchor == "end" else x
    return left, top, left + w, bottom


def _overlap(a, b) -> float:
    """The area two boxes (left, top, right, bottom) share."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def place_labels(nodes: list[tuple[str, float, float, float, str, float]],
                 bounds: tuple[float, float, float, float],
                 obstacles: list[tuple[float, float, float]] = ()) -> dict[str, tuple[float, float, str]]:
    """Where to write each node's label so that no two labels, and no label and node, overlap:
    ``nodes`` are (key, x, y, radius, text, size) in order of priority; each label goes to the
    first free place of a list (below the node, above, right, left, then further away), inside
    ``bounds`` (left, top, right, bottom); failing that, where it overlaps least. Returns key ->
    (x, y, anchor) for :meth:`Canvas.text`. ``obstacles`` are further markers (x, y, radius) that
    no label may cover."""
    markers = [(x - r - 1, y - r - 1, x + r + 1, y + r + 1)
               for x, y, r in [(x, y, r) for _, x, y, r, _, _ in nodes] + list(obstacles)]
    placed: list[tuple[float, float, float, float]] = []
    out: dict[str, tuple[float, float, str]] = {}
    for key, x, y, r, text, size in nodes:
        n = len(str(text).split("\n"))
        half = (n - 1) * 0.6 * size  # a label of n lines is centred on its y
        below, above = y + r + 0.95 * size + 1 + half, y - r - 0.3 * size - 2 - (n - 1) * 1.2 * size + half
        candidates = [(x, below, "middle"), (x, above, "middle"), (x + r + 4, y + 0.35 * size, "start"),
                      (x - r - 4, y + 0.35 * size, "end")]
        for step in (1, 2, 3, 4):
            d = step * 1.25 * size
            candidates += [(x, below + d, "middle"), (x, above - d, "middle"),
                           (x + r + 4, y + 0.35 * size + d, "start"), (x - r - 4, y + 0.35 * size + d, "end"),
                           (x + r + 4, y + 0.35 * size - d, "start"), (x - r - 4, y + 0.35 * size - d, "end")]
        best, best_cost = None, math.inf
        for cx, cy, anchor in candidates:
            box = label_box(cx, cy, text, size, anchor)
            outside = (max(0.0, bounds[0] - box[0]) + max(0.0, box[2] - bounds[2]) + max(0.0, bounds[1] - box[1])
                       + max(0.0, box[3] - bounds[3]))
            cost = outside * 1000 + sum(_overlap(box, o) for o in placed + markers)
            if cost < best_cost:
                best, best_cost = (cx, cy, anchor, box), cost
            if cost == 0:
                break
        cx, cy, anchor, box = best
        placed.append(box)
        out[key] = (cx, cy, anchor)
    return out


def _f(v: float) -> str:
    return f"{v:.1f}"


def nice_ticks(lo: float, hi: float, n: int = 5, *, integer: bool = False) -> list[float]:
    """Round tick values covering [lo, hi], about ``n`` of them (steps of 1, 2, 2.5 or 5 x 10^k)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    if integer:
        step = max(1.0, round(step))
    first = math.ceil(lo / step - 1e-9) * step
    out, v = [], first
    while v <= hi + 1e-9 * step:
        out.append(round(v, 10))
        v += step
    return out


def _attrs(dash: str | None, gid: str) -> str:
    """The optional dash pattern (a name of :data:`DASHES` or an SVG dash array) and id of an element."""
    pattern = DASHES.get(dash, dash) if dash else None
    return (f' stroke-dasharray="{pattern}"' if pattern else "") + (f' id="{escape(gid)}"' if gid else "")


def marker_path(shape: str, x: float, y: float, r: float) -> str:
    """SVG path data of a marker centred at (x, y) with radius ``r`` (matplotlib's marker names)."""
    if shape == "o":
        return f"M{_f(x - r)},{_f(y)}a{_f(r)},{_f(r)} 0 1,0 {_f(2 * r)},0a{_f(r)},{_f(r)} 0 1,0 {_f(-2 * r)},0Z"
    if shape == "s":
        return f"M{_f(x - r)},{_f(y - r)}h{_f(2 * r)}v{_f(2 * r)}h{_f(-2 * r)}Z"
    if shape == "|":
        return f"M{_f(x)},{_f(y - r)}v{_f(2 * r)}"
    if shape == "x":
        return f"M{_f(x - r)},{_f(y - r)}l{_f(2 * r)},{_f(2 * r)}M{_f(x - r)},{_f(y + r)}l{_f(2 * r)},{_f(-2 * r)}"
    corners = {"^": (3, -90.0), "v": (3, 90.0), "D": (4, -90.0), "h": (6, -90.0)}
    if shape == "*":
        pts = [(x + (r if k % 2 == 0 else r * 0.42) * math.cos(math.radians(-90 + 36 * k)),
                y + (r if k % 2 == 0 else r * 0.42) * math.sin(math.radians(-90 + 36 * k))) for k in range(10)]
    else:
        k, start = corners.get(shape, (4, -90.0))
        rr = r * (1.15 if shape in "^v" else 1.0)
        pts = [(x + rr * math.cos(math.radians(start + 360 * i / k)), y + rr * math.sin(math.radians(start + 360 * i / k)))
               for i in range(k)]
    return "M" + "L".join(f"{_f(a)},{_f(b)}" for a, b in pts) + "Z"


class Canvas:
    """An SVG drawing of ``width`` x ``height`` user units; :meth:`to_bytes` writes it."""

    def __init__(self, width: float, height: float):
        self.width, self.height = width, height
        self.parts: list[str] = []
        self.defs: list[str] = []

    def clip(self, x: float, y: float, w: float, h: float) -> str:
        """The id of a new clipping rectangle."""
        cid = f"clip{len(self.defs)}"
        self.defs.append(f'<clipPath id="{cid}"><rect x="{_f(x)}" y="{_f(y)}" width="{_f(w)}" height="{_f(h)}"/>'
                         f'</clipPath>')
        return cid

    def add(self, element: str) -> None:
        self.parts.append(element)

    def text(self, x: float, y: float, s: str, *, size: float = 11, anchor: str = "start", colour: str = "#212121",
             weight: str = "normal", rotate: float | None = None, baseline: str = "auto", cls: str = "",
             from_top: bool = False) -> None:
        """Text at (x, y); several lines (split at newlines) are centred on y, or start at y when
        ``from_top``."""
        rot = f' transform="rotate({_f(rotate)} {_f(x)} {_f(y)})"' if rotate is not None else ""
        attrs = f' class="{cls}"' if cls else ""
        lines = str(s).split("\n")
        if len(lines) == 1:
            body = escape(lines[0])
        else:  # several lines, centred on y
            dy0 = 0.0 if from_top else -(len(lines) - 1) * 0.6
            body = "".join(f'<tspan x="{_f(x)}" dy="{dy0 if i == 0 else 1.2:.2f}em">{escape(t)}</tspan>'
                           for i, t in enumerate(lines))
        self.add(f'<text x="{_f(x)}" y="{_f(y)}" font-size="{size:g}" text-anchor="{anchor}" fill="{colour}" '
                 f'font-weight="{weight}" dominant-baseline="{baseline}"{rot}{attrs}>{body}</text>')

    def legend(self, x: float, y: float, items: list[tuple[str, str, str | None, str]], *, size: float = 12,
               across: bool = False, gap: float = 14.0) -> None:
        """Legend entries (kind, colour, dash, label), kind one of "line", "patch" or a marker name;
        stacked downwards from (x, y), or in one row when ``across``."""
        for kind, colour, dash, label in items:
            if kind == "line":
                d = f' stroke-dasharray="{dash}"' if dash else ""
                self.add(f'<path d="M{_f(x)},{_f(y)}h20" stroke="{colour}" stroke-width="1.8" fill="none"{d}/>')
            elif kind == "patch":
                self.add(f'<rect x="{_f(x)}" y="{_f(y - 5)}" width="20" height="10" fill="{colour}"/>')
            else:
                stroke = f'stroke="{colour}" stroke-width="1.4" fill="none"' if kind in "|x" else f'fill="{colour}"'
                self.add(f'<path d="{marker_path(kind, x + 10, y, 5)}" {stroke}/>')
            lines = label.split("\n")
            self.text(x + 25, y, label, size=size, baseline="middle", from_top=True)
            if across:
                x += 25 + 0.6 * size * max(len(t) for t in lines) + gap
            else:
                y += (size + 4) * len(lines) + 1

    def to_bytes(self) -> bytes:
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_f(self.width)} {_f(self.height)}" '
                f'width="{_f(self.width)}" height="{_f(self.height)}" font-family="{FONT}">'
                f'<rect width="100%" height="100%" fill="#ffffff"/>')
        if self.defs:
            head += "<defs>" + "".join(self.defs) + "</defs>"
        return (head + "".join(self.parts) + "</svg>").encode("utf-8")


class Panel:
    """A rectangle of the canvas with data coordinates ``xlim`` x ``ylim`` (y upwards)."""

    def __init__(self, canvas: Canvas, box: tuple[float, float, float, float], xlim: tuple[float, float],
                 ylim: tuple[float, float], *, name: str = ""):
        self.c = canvas
        self.x0, self.y0, self.w, self.h = box
        self.xlim, self.ylim = xlim, ylim
        self.name = name
        self._sx = self.w / ((xlim[1] - xlim[0]) or 1.0)
        self._sy = self.h / ((ylim[1] - ylim[0]) or 1.0)
        self._clip = ""

    @property
    def clip(self) -> str:
        """The attribute that clips a curve to the panel (made on first use)."""
        if not self._clip:
            self._clip = f' clip-path="url(#{self.c.clip(self.x0, self.y0 - 1, self.w, self.h + 2)})"'
        return self._clip

    def X(self, v: float) -> float:
        return self.x0 + (v - self.xlim[0]) * self._sx

    def Y(self, v: float) -> float:
        return self.y0 + self.h - (v - self.ylim[0]) * self._sy

    def _clip_y(self, v: float) -> float:
        return min(max(v, self.ylim[0]), self.ylim[1])

    def _points(self, xs, ys, step: bool) -> str:
        """Path data through the points, broken at NaN; with ``step`` a step of width 1 centred on x."""
        out: list[str] = []
        pen = "M"
        X, Y = self.X, self.Y
        for x, y in zip(xs, ys, strict=True):
            if y != y:  # NaN
                pen = "M"
                continue
            yy = _f(Y(y))
            if step:
                out.append(f"{pen}{_f(X(x - 0.5))},{yy}L{_f(X(x + 0.5))},{yy}")
            else:
                out.append(f"{pen}{_f(X(x))},{yy}")
            pen = "L"
        return "".join(out)

    def line(self, xs, ys, colour: str, *, width: float = 1.4, dash: str | None = None, step: bool = False,
             gid: str = "") -> None:
        d = self._points(xs, [float(v) for v in ys], step)
        if not d:
            return
        extra = _attrs(dash, gid)
        self.c.add(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="{width:g}" '
                   f'stroke-linejoin="round"{extra}{self.clip}/>')

    def fill_between(self, xs, lo, hi, colour: str, *, opacity: float = 1.0, step: bool = False) -> None:
        """The area between two curves (NaN-free), as one polygon."""
        xs = [float(x) for x in xs]
        if not xs:
            return
        if step:
            xx = [v for x in xs for v in (x - 0.5, x + 0.5)]
            lo = [float(v) for v in lo for _ in (0, 1)]
            hi = [float(v) for v in hi for _ in (0, 1)]
        else:
            xx, lo, hi = xs, [float(v) for v in lo], [float(v) for v in hi]
        top = "L".join(f"{_f(self.X(x))},{_f(self.Y(self._clip_y(y)))}" for x, y in zip(xx, hi, strict=True))
        bottom = "L".join(f"{_f(self.X(x))},{_f(self.Y(self._clip_y(y)))}"
                          for x, y in zip(reversed(xx), reversed(lo), strict=True))
        self.c.add(f'<path d="M{top}L{bottom}Z" fill="{colour}" fill-opacity="{opacity:g}" stroke="none"/>')

    def span(self, a: float, b: float, colour: str) -> None:
        a, b = max(a, self.xlim[0]), min(b, self.xlim[1])
        if b > a:
            self.c.add(f'<rect x="{_f(self.X(a))}" y="{_f(self.y0)}" width="{_f((b - a) * self._sx)}" '
                       f'height="{_f(self.h)}" fill="{colour}"/>')

    def vline(self, x: float, colour: str, *, width: float = 1.4, dash: str | None = None, gid: str = "") -> None:
        extra = _attrs(dash, gid)
        self.c.add(f'<path d="M{_f(self.X(x))},{_f(self.y0)}v{_f(self.h)}" stroke="{colour}" '
                   f'stroke-width="{width:g}"{extra}/>')

    def hline(self, y: float, colour: str, *, width: float = 1.0, dash: str | None = None, gid: str = "") -> None:
        extra = _attrs(dash, gid)
        self.c.add(f'<path d="M{_f(self.x0)},{_f(self.Y(y))}h{_f(self.w)}" stroke="{colour}" '
                   f'stroke-width="{width:g}"{extra}/>')

    def markers(self, xs, ys, shape: str, colour: str, *, r: float = 4.0, gid: str = "") -> None:
        if len(xs) == 0:
            return
        d = "".join(marker_path(shape, self.X(float(x)), self.Y(float(y)), r) for x, y in zip(xs, ys, strict=True))
        paint = f'stroke="{colour}" stroke-width="1.3" fill="none"' if shape in "|x" else f'fill="{colour}"'
        self.c.add(f'<path d="{d}" {paint}{_attrs(None, gid)}/>')

    def frame(self, *, grid: list[float] | None = None, yticks: list[float] | None = None,
              ylabels: list[str] | None = None, xticks: list[float] | None = None, ylabel: str = "",
              size: float = 11.5) -> None:
        """Left and bottom spines, y grid lines in white (over the phase bands), ticks and labels."""
        c = self.c
        for y in grid or []:
            self.hline(y, "#ffffff", width=0.8)
        left, bottom = _f(self.x0), _f(self.y0 + self.h)
        c.add(f'<path d="M{left},{_f(self.y0)}V{bottom}H{_f(self.x0 + self.w)}" stroke="#424242" '
              f'stroke-width="0.8" fill="none"/>')
        for v, lab in zip(yticks or [], ylabels or [f"{t:g}" for t in (yticks or [])], strict=True):
            y = self.Y(v)
            c.add(f'<path d="M{_f(self.x0 - 3.5)},{_f(y)}h3.5" stroke="#424242" stroke-width="0.8"/>')
            c.text(self.x0 - 6, y, lab, size=size, anchor="end", baseline="middle")
        for v in xticks or []:
            if not self.xlim[0] <= v <= self.xlim[1]:
                continue  # as matplotlib does, no tick outside the panel
            x = self.X(v)
            c.add(f'<path d="M{_f(x)},{bottom}v3.5" stroke="#424242" stroke-width="0.8"/>')
            c.text(x, self.y0 + self.h + 15, f"{v:g}", size=size, anchor="middle")
        if ylabel:
            c.text(self.x0 - 54, self.y0 + self.h / 2, ylabel, size=size + 0.5, anchor="middle", rotate=-90,
                   baseline="middle")


# ------------------------------------------------------------------------------------------- timeline
#: Units across that a label of interventions, 10-unit type written down its line, takes with its margin.
LABEL_UNITS = 13.0


def timeline_svg(result: RunResult, *, title: str | None = None) -> bytes:
    """The run's timeline as SVG: the panels of :func:`peacesim.plotting.plot_timeline` (violence;
    trust and progress; ripeness and commitment; third parties in post and funded; the event strip)
    with the phase bands, agreements, relapses and interventions across every panel."""
    s = result.series
    months = s["month"].to_numpy(dtype=float)
    n = float(result.months or (months[-1] if len(months) else 1))
    W, H = 1040.0, 740.0
    c = Canvas(W, H)
    left, right, top, bottom = 100.0, 745.0, 76.0, 690.0
    ratios = [1.0, 1.0, 1.0, 1.0, 0.55]
    gap = 10.0
    unit = (bottom - top - gap * (len(ratios) - 1)) / sum(ratios)
    runs = _phase_runs(s["phase"], months)
    signed, relapses = _episode_marks(result)
    interventions = _interventions(result)
    xlim = (0.5, n + 0.5)

    def col(name):
        return s[name].to_numpy(dtype=float)

    v = col("violence")
    vmax = float(np.nanmax(v[np.isfinite(v)])) if np.isfinite(v).any() else 1.0
    tp = s[["mediators_active", "diplomats_active"]].to_numpy(dtype=float)
    top_tp = max(1, int(np.nanmax(tp))) if np.isfinite(tp).any() else 1
    strip_rows = [r for r in _EVENT_ROWS if r[1] != "intervention" or interventions]
    ylims = [(0.0, max(0.05, vmax * 1.12)), (0.0, 1.04), (0.0, 1.0), (-0.2, top_tp + 0.6),
             (-0.7, len(strip_rows) - 0.3)]
    names = ["violence", "trust", "ripeness", "third parties", "events"]
    panels, y = [], top
    for r, lim, name in zip(ratios, ylims, names, strict=True):
        panels.append(Panel(c, (left, y, right - left, r * unit), xlim, lim, name=name))
        y += r * unit + gap
    pv, pt, pr, ptp, pe = panels
    for p in panels:
        for label, a, b in runs:
            p.span(a, b, PHASE_COLOURS.get(label, "#eeeeee"))
    grid_ticks = [nice_ticks(*pv.ylim, 4), [0, 0.25, 0.5, 0.75, 1.0], [0, 0.2, 0.4, 0.6, 0.8, 1.0],
                  nice_ticks(0, top_tp, 4, integer=True)]
    ylabels = ["violence\n(0-1)", "trust and\nprogress", "ripeness /\ncommitment", "third parties\nin post & funded"]
    for p, ticks, lab in zip(panels[:4], grid_ticks, ylabels, strict=True):
        p.frame(grid=ticks, yticks=ticks, ylabel=lab)
    legend_x = right + 12

    # (a) violence
    pv.line(months, col("violence"), "#212121", width=1.3, gid="violence")
    items = [("line", "#212121", None, "total violence")]
    if "signatory_violence" in s:
        pv.line(months, _only_in(s, "signatory_violence", "implementation"), RELAPSE_COLOUR, width=1.3,
                gid="signatory_violence")
        items.append(("line", RELAPSE_COLOUR, None, "between signatories"))
    c.legend(legend_x, pv.y0 + 6, items)
    # (b) trust and progress
    pt.line(months, col("trust_parties"), "#00695c", gid="trust_parties")
    pt.line(months, _only_in(s, "negotiation_progress", "talks"), "#f57f17", gid="negotiation_progress")
    pt.line(months, _only_in(s, "implementation", "implementation"), "#1565c0", width=1.6, gid="implementation")
    c.legend(legend_x, pt.y0 + 6, [("line", "#00695c", None, "trust between parties"),
                                   ("line", "#f57f17", None, "negotiation progress"),
                                   ("line", "#1565c0", None, "implementation")])
    # (c) ripeness and commitment
    parties, slugs = party_columns(result)
    items = []
    has_commitment = False
    for k, (name, key) in enumerate(zip(parties, slugs, strict=True)):
        colour = PARTY_COLOURS[k % len(PARTY_COLOURS)]
        if f"ripeness_{key}" in s:
            pr.line(months, col(f"ripeness_{key}"), colour, width=1.3, gid=f"ripeness:{name}")
            items.append(("line", colour, None, legend_name(name)))
        if f"commitment_{key}" in s:
            yc = _only_in(s, f"commitment_{key}", "implementation")
            if not np.all(np.isnan(yc) | (yc <= 0)):
                yc[yc <= 0] = np.nan
                pr.line(months, yc, colour, width=1.1, dash=":", gid=f"commitment:{name}")
                has_commitment = True
    if len(items) > 6:  # room for six names; the threshold and commitment entries always stay
        more = len(items) - 5
        items = items[:5] + [("line", "#9e9e9e", None, f"and {more} more parties")]
    xs, ys, text = parameter_steps(result, "ripeness_threshold")  # in force month by month
    if len(xs) == 2:
        pr.hline(ys[0], "#424242", dash="--", gid="ripeness_threshold")
    elif xs:
        pr.line(xs, ys, "#424242", width=1.0, dash="--", gid="ripeness_threshold")
    if xs:  # a threshold moved during the run: its values on a line of their own
        items.append(("line", "#424242", DASHES["--"],
                      f"ripeness threshold ({text})" if len(xs) == 2 else f"ripeness threshold\n({text})"))
    if has_commitment:
        items.append(("line", "#616161", DASHES[":"], "commitment (dotted)"))
    c.legend(legend_x, pr.y0 + 6, items)
    # (d) third parties
    ptp.line(months, col("mediators_active"), "#283593", step=True, gid="mediators_active")
    ptp.line(months, col("diplomats_active"), "#8e24aa", step=True, gid="diplomats_active")
    items = [("line", "#283593", None, "mediators active"), ("line", "#8e24aa", None, "diplomats active")]
    if "project_funded" in s:
        share = Panel(c, (ptp.x0, ptp.y0, ptp.w, ptp.h), xlim, (0.0, 1.08))
        share.line(months, col("project_funded"), "#6d4c41", width=1.1, dash=":", gid="project_funded")
        for v in (0.0, 0.5, 1.0):
            c.text(right + 4, share.Y(v), f"{v:.0%}", size=10, colour="#6d4c41", baseline="middle")
        items.append(("line", "#6d4c41", DASHES[":"], "project grants running\n(share, right axis)"))
    c.legend(legend_x + 30, ptp.y0 + 6, items)
    # event strip
    lead_rot = _lead_rotations(result)
    yt, yl = [], []
    for row, (label, kind, colour, marker) in enumerate(reversed(strip_rows)):
        yt.append(row)
        yl.append(label)
        ev = _events_of(result, kind)
        if len(ev) == 0:
            continue
        x = ev["month"].to_numpy(dtype=float)
        if kind == "rotation" and lead_rot:
            lead = ev.index.isin(list(lead_rot))
            pe.markers(x[~lead], np.full((~lead).sum(), row), marker, colour)
            pe.markers(x[lead], np.full(lead.sum(), row), "D", "#000000", r=3.5, gid="lead-rotations")
        else:
            pe.markers(x, np.full(len(x), row), marker, colour, gid=f"events:{kind}")
    pe.frame(yticks=yt, ylabels=yl, xticks=nice_ticks(0, n, 12, integer=True), size=10)
    c.text((left + right) / 2, pe.y0 + pe.h + 36, "month", size=12.5, anchor="middle")
    if lead_rot:
        c.legend(legend_x, pe.y0 + 6, [("D", "#000000", None, "rotation of the lead")], size=11)
    # marks across every panel
    for p in panels:
        for m in signed:
            p.vline(m, SIGNED_COLOUR, width=1.6)
        for m in relapses:
            p.vline(m, RELAPSE_COLOUR, width=1.6, dash="relapse")
        for m in dict.fromkeys(m for m, _ in interventions):  # one line (and one id) per month
            p.vline(m - 0.5, INTERVENTION_COLOUR, width=1.2, dash="-.", gid=f"intervention:{m}" if p is pv else "")
    labels: dict[int, list[str]] = {}
    for m, label in interventions:
        labels.setdefault(m, []).append(label)
    room = max(8, int((pv.h - 6) / 6.0))  # characters of 10-unit type that fit down the first panel
    # months whose lines are closer than a label's width share one label (each would be written
    # over the next), beside the group's last line
    for group in label_groups(list(labels), LABEL_UNITS / (pv.X(1.0) - pv.X(0.0))):
        kinds = [x for m in group for x in labels[m]]
        text = ", ".join(dict.fromkeys(kinds))
        c.text(pv.X(group[-1] - 0.5) + 2, pv.y0 + 3, text if len(text) <= room else text[:room - 1] + "…", size=10,
               colour=INTERVENTION_COLOUR, rotate=-90, anchor="end", baseline="hanging", cls="intervention-label")
    # title and the legend of phases and marks
    present = [p for p in PHASE_LABELS if p in set(s["phase"].astype(str))] or list(PHASE_LABELS)
    items = [("patch", PHASE_COLOURS[p], None, p) for p in present]
    items += [("line", SIGNED_COLOUR, None, "agreement signed"), ("line", RELAPSE_COLOUR, DASHES["relapse"], "relapse")]
    if interventions:
        items.append(("line", INTERVENTION_COLOUR, DASHES["-."], "intervention"))
    c.text((left + right) / 2, 22, title if title is not None else "", size=17, anchor="middle", baseline="middle")
    c.legend(left + 10, 52, items, size=12, across=True)
    return c.to_bytes()


# ------------------------------------------------------------------------------------------- network
def _hex(rgba) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(round(255 * v)) for v in rgba[:3]))


def network_svg(g, *, title: str | None = None, labels: bool = True) -> bytes:
    """The actor network (``model.network()``) as SVG: parties, spoilers, mediators, diplomats and local mechanisms in their shapes and colours;
    edges between parties and third parties coloured and thickened by trust; unfunded or vacant
    actors in grey; the lead outlined."""
    import matplotlib

    cmap = matplotlib.colormaps[_TRUST_CMAP]
    W, H = 700.0, 600.0
    c = Canvas(W, H)
    p = Panel(c, (20.0, 40.0, 560.0, 480.0), (-2.1, 2.1), (-1.8, 1.8))
    pos = _positions(g)
    nodes = g.nodes
    inactive = {n: bool(d["vacant"] or not d["funded"]) for n, d in nodes(data=True)}
    drawn = set()
    edges = []
    for a, b, d in g.edges(data=True):
        if (b, a) in drawn or a == b:
            continue
        ka, kb = nodes[a]["kind"], nodes[b]["kind"]
        if "spoiler" in (ka, kb) or "local" in (ka, kb) or (ka != "party" and kb != "party"):
            continue
        drawn.add((a, b))
        t = d["trust"]
        if g.has_edge(b, a):
            t = (t + g.edges[b, a]["trust"]) / 2
        faded = inactive[a] or inactive[b]
        (xa, ya), (xb, yb) = pos[a], pos[b]
        colour, alpha = (INACTIVE_COLOUR, 0.5) if faded else (_hex(cmap(t)), 1.0)
        edges.append(f'<path d="M{_f(p.X(xa))},{_f(p.Y(ya))}L{_f(p.X(xb))},{_f(p.Y(yb))}" stroke="{colour}" '
                     f'stroke-opacity="{alpha:g}" stroke-width="{1.0 + 3.0 * t:.2f}" stroke-linecap="round"/>')
    c.add('<g id="trust-edges">' + "".join(edges) + "</g>")
    to_label = []
    for n, d in nodes(data=True):
        kind = _kind(d["kind"])
        marker, colour, _ = KIND_STYLE[kind]
        off = inactive[n]
        leading = bool(d.get("leading"))
        x, y = p.X(pos[n][0]), p.Y(pos[n][1])
        r = 6.0 if kind == "local" else 11.0
        c.add(f'<path d="{marker_path(marker, x, y, r)}" fill="{INACTIVE_COLOUR if off else colour}" '
              f'stroke="{"#000000" if leading else "#424242"}" stroke-width="{2.5 if leading else 0.8}" '
              f'class="node {kind} {"inactive" if off else "active"}"><title>{escape(n)}: {escape(str(d["state"]))}'
              f'</title></path>')
        name = n[4:] if n.lower().startswith("the ") else n
        text = name + (" (lead)" if leading else "") + (f"\n{d['state']}" if off else "")
        order = ("party", "mediator", "diplomat", "spoiler", "local").index(kind)
        to_label.append((order, n, x, y, r, "" if not labels or kind == "local" else text, off))
    # labels placed after every node is known, parties first: none over another or over a node
    to_label.sort(key=lambda t: t[0])
    places = place_labels([(n, x, y, r, text, 12.0) for _, n, x, y, r, text, _ in to_label if text],
                          (4.0, 30.0, 600.0, 532.0), [(x, y, r) for _, _, x, y, r, text, _ in to_label if not text])
    for _, n, _, _, _, text, off in to_label:
        if text:
            lx, ly, anchor = places[n]
            c.text(lx, ly, text, size=12, anchor=anchor, colour="#757575" if off else "#212121", cls="node-label")
    # legend of kinds, and the colour bar of trust
    items = [(m, col, None, lab) for m, col, lab in KIND_STYLE.values()] + [("s", INACTIVE_COLOUR, None,
                                                                            "unfunded or vacant")]
    for k, item in enumerate(items):
        c.legend(40 + 200 * (k % 3), 545 + 22 * (k // 3), [item], size=12)
    stops = "".join(f'<stop offset="{v:g}" stop-color="{_hex(cmap(v))}"/>' for v in np.linspace(0, 1, 11))
    c.add(f'<defs><linearGradient id="trust-scale" x1="0" y1="1" x2="0" y2="0">{stops}</linearGradient></defs>')
    c.add('<rect x="612" y="150" width="16" height="280" fill="url(#trust-scale)" stroke="#424242" '
          'stroke-width="0.6"/>')
    for v in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        c.text(633, 430 - 280 * v, f"{v:.1f}", size=11, baseline="middle")
    c.text(675, 290, "trust (edge colour and width)", size=12, anchor="middle", rotate=90, baseline="middle")
    if title:
        c.text(W / 2 - 50, 20, title, size=17, anchor="middle", baseline="middle")
    return c.to_bytes()


# ------------------------------------------------------------------------------------------- spread
def spread_svg(spread: Spread, result: RunResult | None = None, *, title: str | None = None) -> bytes:
    """The spread of many seeds beside the class's run: a fan of violence (10-90% and 25-75% of runs, the median) with our run on top, and the
    share of runs with an agreement in force, month by month."""
    W, H = 1000.0, 560.0
    c = Canvas(W, H)
    m = spread.months.astype(float)
    q = dict(zip(spread.quantiles, spread.violence, strict=True))
    lo, hi = min(spread.quantiles), max(spread.quantiles)
    xlim = (0.5, float(m[-1]) + 0.5)
    top = 40.0 if title else 14.0
    ours = result.series if result is not None and len(result.series) else None
    peak = max(float(np.nanmax(q[hi])), float(ours["violence"].max()) if ours is not None else 0.0)
    vtop = max(0.05, peak * 1.1)
    pv = Panel(c, (90.0, top, 680.0, 285.0 - top), xlim, (0.0, vtop), name="violence")
    pa = Panel(c, (90.0, 300.0, 680.0, 210.0), xlim, (0.0, 1.1), name="in force")
    pv.fill_between(m, q[lo], q[hi], "#90a4ae", opacity=0.35)
    items = [("patch", "#c5d0d6", None, f"{lo:.0%}-{hi:.0%} of {spread.n} runs")]
    if 0.25 in q and 0.75 in q:
        pv.fill_between(m, q[0.25], q[0.75], "#607d8b", opacity=0.45)
        items.append(("patch", "#8fa3ad", None, "middle half of runs"))
    if 0.5 in q:
        pv.line(m, q[0.5], "#37474f", width=1.4, gid="median")
        items.append(("line", "#37474f", None, "median run"))
    pa.fill_between(m, np.zeros_like(m), spread.in_force, PHASE_COLOURS["implementation"], step=True)
    pa.line(m, spread.in_force, "#1565c0", step=True, gid="in-force")
    items_a = [("line", "#1565c0", None, "share of runs\nwith an agreement in force")]
    if ours is not None:
        s = ours
        mm = s["month"].to_numpy(dtype=float)
        pv.line(mm, s["violence"].to_numpy(dtype=float), "#d81b60", width=2.2, gid="our-run")
        items.append(("line", "#d81b60", None, "our run"))
        inforce = s["phase"].astype(str).isin(["implementation", "consolidated"]).to_numpy()
        pa.markers(mm[inforce], np.full(int(inforce.sum()), 1.04), "|", "#d81b60", r=5, gid="our-in-force")
        items_a.append(("|", "#d81b60", None, "our run:\nagreement in force"))
        for p in (pv, pa):
            p.vline(mm[-1], "#d81b60", width=0.8, dash=":")
    vt = nice_ticks(0, vtop, 5)
    pv.frame(yticks=vt, ylabel="violence (0-1)")
    at = [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    pa.frame(yticks=at, ylabels=[f"{v:.0%}" for v in at], xticks=nice_ticks(0, float(m[-1]), 10, integer=True),
             ylabel="agreement\nin force")
    c.text(430, 548, "month", size=12.5, anchor="middle")
    c.legend(782, pv.y0 + 10, items, size=12)
    c.legend(782, pa.y0 + 10, items_a, size=12)
    if title:
        c.text(430, 20, title, size=17, anchor="middle", baseline="middle")
    return c.to_bytes()


def data_uri(svg: bytes) -> str:
    """The figure as a ``data:`` URI, to put in an ``<img>`` of a self-contained HTML file."""
    import base64

    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
