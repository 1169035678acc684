"""The report of a comparison, for people who are not modellers: Markdown and one self-contained HTML file.

The report says what was asked, what the strategies are in plain words, which strategy wins, by
how much and how sure we are (findings as sentences with their 95% intervals), the figures, the
conditions under which the ranking changes, the caveats (an illustrative model, not a forecast)
and the command that reproduces it. What a director reads first (the question, the answer in
short, how to read the report) is in plain words, without the technical terms of :data:`JARGON`;
"Methods in brief", near the end, names each method and explains it once. ``report.html``
carries its figures inline as data URIs and loads nothing from anywhere: it opens in a browser
without a network. ``report.md`` shows the same figures from ``figures/``.

Both are rendered from one list of blocks (:class:`Doc`), so they say the same thing. Figures
are drawn on :class:`matplotlib.figure.Figure` objects (no global pyplot state); each plot
function takes ``ax=None`` and returns the figure.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .figtext import as_written
from . import paired
from .comparison import MEASURES, MIN_WORLDS_DISCOVERY, ComparisonResult, excludes_zero, span_words
from .words import counted as _n

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["write_report", "report_files", "build_document", "Doc", "md_text", "km_figure", "km_coincide_words",
           "differences_figure", "measures_figure", "worlds_figure", "fmt_value", "fmt_interval", "finding",
           "headline", "answer_lines", "rank_labels", "box_sentences", "trend_sentences", "reading_guide",
           "plain_measure", "plain_note", "JARGON"]

FIGURES = ("km.png", "differences.png", "measures.png", "worlds.png")
#: Ten colours a reader tells apart (and in grey, mostly): strategies beyond ten repeat them.
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
            "#17becf")
#: Line styles of the survival curves, one per strategy with its colour: solid, dashed, dotted,
#: dash-dotted and mixtures (a pattern repeats only after eleven strategies, a colour after ten).
_DASHES = ("solid", (0, (6, 2)), (0, (1, 1.5)), (0, (7, 2, 1.5, 2)), (0, (3, 1.5)), (0, (10, 2, 2, 2, 2, 2)),
           (0, (2, 3)), (0, (5, 1.5, 1, 1.5, 1, 1.5)), (0, (12, 3)), (0, (4, 2, 4, 2, 1, 2)), (0, (1, 3)))


# ------------------------------------------------------------------------------------------ numbers in words
def fmt_value(measure: str, v: float, *, unit: bool = True) -> str:
    """A measure's value as a reader sees it: 58%, 24.1 months, 0.255."""
    if v is None or not math.isfinite(float(v)):
        return "not measurable"
    m = MEASURES[measure]
    if m.unit == "share":
        return f"{_percent(v)}%"
    if m.unit == "months":
        return f"{v:.1f} months" if unit else f"{v:.1f}"
    return f"{v:.3f}"


def _signed(x: float, decimals: int) -> str:
    """``x`` with its sign, never '-0' for a value that rounds to zero, and never '+0' for one
    that three more decimals show is not zero ('+0.04'; below that it is '+0')."""
    r = round(x, decimals) + 0.0  # + 0.0 turns -0.0 into 0.0
    if r == 0.0 and x != 0.0:
        for more in range(decimals + 1, decimals + 4):
            if round(x, more) != 0.0:
                return f"{round(x, more):+.{more}f}"
    return f"{r:+.{decimals}f}"


def fmt_interval(measure: str, low: float, high: float, *, difference: bool = False) -> str:
    """'54-62%', '22.0-26.1 months', or for a difference '+12 to +22 percentage points'."""
    if low is None or high is None or not (math.isfinite(float(low)) and math.isfinite(float(high))):
        return "no interval"
    m = MEASURES[measure]
    if difference:
        if m.unit == "share":
            return f"{_signed(100 * low, 0)} to {_signed(100 * high, 0)} percentage points"
        if m.unit == "months":
            return f"{_signed(low, 1)} to {_signed(high, 1)} months"
        return f"{_signed(low, 3)} to {_signed(high, 3)}"
    if m.unit == "share":
        if round(100 * low) == round(100 * high) and low != high:  # a narrow interval: one decimal tells them apart
            return f"{100 * low:.1f}-{100 * high:.1f}%"
        return f"{_percent(low)}-{_percent(high)}%"
    if m.unit == "months":
        return f"{low:.1f}-{high:.1f} months"
    return f"{low:.3f}-{high:.3f}"


def _size(x: float, decimals: int) -> str:
    """The size of a difference, never '0.0' or '0.000' for one that is not zero: as in
    :func:`_signed`, up to three more decimals show it ('0.0003')."""
    return _signed(abs(x), decimals).lstrip("+")


def fmt_difference(measure: str, d: float) -> str:
    """'17 percentage points more', '3.2 months sooner', '0.012 lower'."""
    if d is None or not math.isfinite(float(d)):
        return "not measurable"
    m = MEASURES[measure]
    if m.key == "months_to_agreement":
        return f"{_size(d, 1)} months {'sooner' if d < 0 else 'later'}" if d != 0 else "no sooner and no later"
    if m.unit == "share":
        n = 100 * abs(d)
        if round(n) == 0:
            return "less than one percentage point " + ("more" if d > 0 else "less" if d < 0 else "apart")
        return f"{n:.0f} percentage point{'s' if round(n) != 1 else ''} {'more' if d > 0 else 'less'}"
    if m.unit == "months":
        return f"{_size(d, 1)} months {'more' if d > 0 else 'less'}" if d != 0 else "the same"
    return f"{_size(d, 3)} {'higher' if d > 0 else 'lower'}" if d != 0 else "the same"


def fmt_difference_interval(measure: str, low: float, high: float) -> str:
    """A difference's interval in the words of :func:`fmt_difference`, nearer end first:
    '0.039 lower to 0.088 lower', '7.2 months less to 6.1 months more'."""
    if not (math.isfinite(float(low)) and math.isfinite(float(high))):
        return "no interval"
    lo, hi = float(low), float(high)
    if lo >= 0 or hi <= 0:  # one side of zero: from the bound nearer zero to the farther one
        lo, hi = sorted((lo, hi), key=abs)
    def words(x: float) -> str:
        return "0" if x == 0 else fmt_difference(measure, x)

    return f"{words(lo)} to {words(hi)}"


def _pct(x: float) -> str:
    return f"{_percent(x)}%" if math.isfinite(x) else "?"


def _percent(x: float) -> str:
    """A share in percent, without decimals, but never '0' or '100' for one that is not exactly 0
    or 1 (which mean 'no run' and 'every run'): up to three more decimals tell them apart
    (199 runs of 200 are '99.5', not '100')."""
    p = 100 * float(x)
    for d in range(4):
        if p in (0.0, 100.0) or round(p, d) not in (0.0, 100.0) or d == 3:
            return f"{p:.{d}f}"
    return f"{p:.0f}"


def _clause(measure: str, value: str, h: int) -> str:
    """The measure as the middle of a sentence, with ``value`` in place."""
    span = span_words(h)
    return {
        "agreement": f"{value} of runs reach an agreement",
        "months_to_agreement": f"the first agreement comes after {value} on average, counting a run that reaches "
                               "none as its full length",
        "durable": f"in {value} of runs an agreement is signed and holds {span}",
        "survival": f"agreements survive {span} in {value} of cases",
        "rmst": f"an agreement holds on average {value} of its first {span}",
        "violence": f"mean monthly violence is {value} on the model's 0-1 scale",
    }[measure]


#: Each measure in plain words, for the sentences a director reads first (``MEASURES``' phrases name
#: the method, e.g. RMST, and stay for the methods).
_PLAIN = {
    "agreement": "the share of runs that reach an agreement",
    "months_to_agreement": "the average months to the first agreement (a run that reaches none counting as its "
                           "full length)",
    "durable": "the share of runs in which an agreement is signed and holds {h}",
    "survival": "the share of agreements still holding after {h}",
    "rmst": "the average months an agreement holds in its first {h}",
    "violence": "the average monthly violence (on the model's scale from 0, none, to 1, its maximum)",
}

#: Technical terms that the opening of the report (the question, the answer in short and how to
#: read it) does not use: each is explained once in the methods, lower down.
JARGON = ("RMST", "restricted mean", "bootstrap", "resample", "Holm", "hazard", "Kaplan", "Cox", "PRIM",
          "p (Holm)", "CI ", "Spearman", "Latin hypercube", "censor", "pigeonhole")

#: The analysis' notes name its method; the report says the same in the words of its opening.
_NOTE_WORDS = (("the resamples of worlds and seeds", "the re-draws of the simulated worlds and seeds"),
               ("the resamples of the seeds", "the re-draws of the seeds"),
               ("no difference in any resample", "no difference in any re-draw"),
               ("that PRIM could find", "that the search for shared conditions could find"),
               ("(PRIM needs at least", "(the search needs at least"))


def redrawn(spec) -> str:
    """What the re-draws draw again: 'the simulated worlds and seeds', or with one world (no
    uncertain conditions) 'the seeds'."""
    return "the simulated worlds and seeds" if spec.worlds > 1 else "the seeds"


def plain_measure(measure: str, h: int) -> str:
    """A measure in plain words: 'the average months an agreement holds in its first five years'."""
    return _PLAIN[measure].format(h=span_words(h))


def plain_note(note: str, seen: set[str] | None = None) -> str:
    """An analysis note in the report's words; a long note already given in full (in ``seen``) is
    shortened to its first clause."""
    for old, new in _NOTE_WORDS:
        note = note.replace(old, new)
    if seen is not None:
        if note in seen and ": " in note and len(note) > 80:
            return note.split(": ")[0] + " (as above)"
        seen.add(note)
    return note


def _verdict(row: pd.Series, k: int | None = None) -> str:
    """Whether a difference is clear, in words that agree with its interval: a difference is clear
    when its 95% interval is on one side of zero and its bootstrap p-value, corrected with Holm's
    method for the ``k`` comparisons of its family (by default the row's ``n_compared``), is below
    0.05."""
    k = int(row.get("n_compared", 1) or 1) if k is None else k
    p, ph = float(row["p"]), float(row.get("p_holm", row["p"]))
    if not math.isfinite(p):
        return ""
    if not excludes_zero(row):
        return "not a clear difference (the interval includes zero)"
    least = float(row.get("least_p", 0.0) or 0.0)
    if p >= 0.05 and least >= 0.05 and p == least:  # too few seeds for any difference to be clear
        n = round(math.log2(2 / least))
        return (f"not a clear difference (the interval misses zero, but with only {n} runs of each strategy these "
                f"runs cannot tell a difference from chance: even if every run had gone the same way, p would be "
                f"{least:.2g}, where below 0.05 is needed)")
    if p >= 0.05:  # the interval only just misses zero: the resamples on the other side are 2.5% or more
        return (f"not a clear difference (the interval only just misses zero, and the re-draws on the other side "
                f"of zero are too many: p = {p:.2f}, where below 0.05 is needed)")
    family = (f"{k} pairs of strategies compared" if row.get("family") == "pairs"
              else f"{k} strategies compared with the baseline")
    if math.isfinite(ph) and ph < 0.05:
        return (f"a clear difference, also after allowing for the number of comparisons made ({family})" if k > 1
                else "a clear difference")
    return f"a difference that is no longer clear once we allow for the number of comparisons made ({family})"


def finding(result: ComparisonResult, measure: str, a: str, b: str, row: pd.Series | None = None,
            seen: set[str] | None = None, *, said: bool = False) -> str:
    """One finding as a sentence with its intervals: strategy ``a`` against ``b`` on ``measure``.
    Where one of the two cannot be measured, the other's value is still given (unless ``said``:
    the sentence before gave it), with the reason; a long reason already given in full (in
    ``seen``) is shortened."""
    ra, rb = result.value(a, measure), result.value(b, measure)
    ta, tb = result.spec.strategy(a).called, result.spec.strategy(b).called
    h = result.spec.horizon
    if row is None:
        row = result.difference(a, measure) if b == result.spec.baseline else \
            result.best_vs_runner[result.best_vs_runner["measure"] == measure].iloc[0]
    va = fmt_value(measure, ra["estimate"])
    vb = fmt_value(measure, rb["estimate"])
    fa, fb = math.isfinite(float(ra["estimate"])), math.isfinite(float(rb["estimate"]))
    if not (fa and fb):
        notes = [f"under {t}, {plain_note(r['note'], seen)}" for t, r, f in ((ta, ra, fa), (tb, rb, fb))
                 if r["note"] and not f]
        why = ": " + "; ".join(notes) if notes else ""
        if said and (fa or fb):
            t, other = (ta, tb) if fa else (tb, ta)
            return _upper(f"{t} cannot be compared with {other} on this measure{why}.")
        if fa or fb:  # the one that could be measured, with its interval
            t, r, other = (ta, ra, tb) if fa else (tb, rb, ta)
            return _upper(f"under {t}, {_clause(measure, fmt_value(measure, r['estimate']), h)} "
                          f"({_ci(measure, r, seen)}), but this cannot be compared with {other}{why}.")
        return f"{_upper(plain_measure(measure, h))}: {ta} and {tb} cannot be compared{why}."
    ca = _ci(measure, ra, seen)
    cb = _ci(measure, rb, seen)
    text = _upper(f"under {ta}, {_clause(measure, va, h)} ({ca}), against {vb} ({cb}) under {tb}")
    d = float(row["difference"])
    if row.get("note"):
        return text + f": {plain_note(row['note'])}."
    dci = fmt_difference_interval(measure, row["low"], row["high"])
    text += f": {fmt_difference(measure, d)} (95% interval {dci})"
    v = _verdict(row)
    fixed = [k for k in str(row.get("bound", "") or "").split() if k in result.spec.keys]
    if v and fixed:  # the interval allows for the exact bound of a value no re-draw varied
        one = len(fixed) == 1
        v += (f"; under {_and([result.spec.strategy(k).called for k in fixed])} the value was the same in every "
              f"re-draw, so the interval of the difference allows for {'its' if one else 'their'} exact "
              f"bound{'' if one else 's'} rather than taking {'it' if one else 'them'} as certain")
    return text + (f", {v}." if v else ".")


#: How often the best strategy must come first in the resamples to be called clearly first.
CLEARLY_FIRST = 0.95


def headline(result: ComparisonResult) -> str:
    """The answer in one sentence: which strategy ranks first, and how sure that is - or that none
    does (the measure could not be measured, two strategies tie, or the first place is not clear)."""
    spec = result.spec
    what = plain_measure(spec.rank_by, spec.horizon)
    if not result.ranked:  # no best strategy: the reason under every strategy, or under the baseline
        notes = {k: result.value(k, spec.rank_by)["note"] for k in spec.keys}
        note, under = ((notes[spec.keys[0]], "every strategy") if len(set(notes.values())) == 1 else
                       (notes[spec.baseline], f"the baseline, {spec.strategy(spec.baseline).called}"))
        return (f"No strategy can be ranked by {what}: it could not be measured under any of them"
                + (f" (under {under}, {plain_note(note)})." if note else "."))
    if len(result.measured) == 1:
        r = result.value(result.best, spec.rank_by)
        return (f"The strategies cannot be ranked by {what}: it could be measured only under "
                f"{spec.strategy(result.best).called} ({fmt_value(spec.rank_by, r['estimate'])}, "
                f"{_ci(spec.rank_by, r)}); "
                "under every other strategy too few agreements were signed or followed long enough to measure it "
                "(the notes under the ranked table say why).")
    leaders = result.leaders
    if len(leaders) > 1:
        names = [spec.strategy(k).called for k in leaders]
        listed = ", ".join(names[:-1]) + f" and {names[-1]}"
        value = fmt_value(spec.rank_by, result.value(leaders[0], spec.rank_by)["estimate"])
        return (f"No single strategy ranks first: {listed} gave the same value of {what} ({value}), so these runs cannot "
                "tell them apart.")
    tb = spec.strategy(result.best).called
    first = result.rank_probability.get(result.best, math.nan)
    resamples = f"{spec.bootstrap:,} re-draws of {redrawn(spec)}"
    if 0 < result.rank_resamples < spec.bootstrap:
        resamples = (f"the {result.rank_resamples:,} of {spec.bootstrap:,} re-draws of {redrawn(spec)} "
                     "in which two strategies could be measured")
    if not math.isfinite(first):  # no resample in which two strategies could be measured
        return (f"No strategy is clearly first: the best estimate of {what} is under {tb}, but no re-draw of "
                f"{redrawn(spec)} could measure two strategies to rank them.")
    bvr = result.best_vs_runner
    bvr = bvr[bvr["measure"] == spec.rank_by] if len(bvr) else bvr
    fixed = bool(len(bvr)) and bool(bvr.iloc[0].get("bound")) and not bool(bvr.iloc[0]["clear"])
    if first >= CLEARLY_FIRST and fixed:  # a value no re-draw varied comes first in them all too
        return (f"No strategy is clearly first: the best estimate of {what} is under {tb}, which came first in "
                f"{_pct(first)} of {resamples}, but its lead over {spec.strategy(result.runner_up).called} is not a "
                "clear difference once the exact bound of a value that was the same in every re-draw is allowed "
                "for.")
    least = float(bvr.iloc[0].get("least_p", 0.0) or 0.0) if len(bvr) else 0.0
    if first >= CLEARLY_FIRST and least >= 0.05:  # re-draws of a handful of seeds all agree too easily
        return (f"No strategy is clearly first: the best estimate of {what} is under {tb}, which came first in "
                f"{_pct(first)} of {resamples}, but with only {round(math.log2(2 / least))} runs of each strategy "
                "these runs cannot tell a lead from chance.")
    if first >= CLEARLY_FIRST:
        return f"Ranked first: {tb}, which came first in {_pct(first)} of {resamples}."
    return (f"No strategy is clearly first: the best estimate of {what} is under {tb}, but it came first in only "
            f"{_pct(first)} of {resamples}.")


def rank_labels(result: ComparisonResult) -> dict[str, str]:
    """Each strategy's place: '1', '2', ..., the same place with '=' for a tie, '-' where the
    ranking measure could not be measured (for every strategy when fewer than two could be: a
    lone measured strategy is not first of anything)."""
    spec = result.spec
    out: dict[str, str] = {}
    if len(result.measured) < 2:
        return dict.fromkeys(result.ranking, "-")
    place, last = 0, None
    for i, k in enumerate(result.ranking, start=1):
        v = float(result.value(k, spec.rank_by)["estimate"])
        if not math.isfinite(v):
            out[k] = "-"
            continue
        if last is None or paired.difference(v, last) != 0.0:  # equal up to rounding share a place
            place, last = i, v
        out[k] = str(place)
    shared = {lab for lab in out.values() if lab != "-" and list(out.values()).count(lab) > 1}
    return {k: lab + "=" if lab in shared else lab for k, lab in out.items()}  # every member of a tie marked


def answer_lines(result: ComparisonResult) -> list[str]:
    """'The answer in short': the headline, the best strategy against the baseline and against the
    runner-up, and at most three sentences on the conditions (nothing about a ranking that could
    not be made). In plain words: none of :data:`JARGON`."""
    spec = result.spec
    if len(result.measured) < 2:
        return [headline(result)]
    items = [headline(result)]
    runner = result.runner_up != spec.baseline or result.best == spec.baseline  # not the same finding twice
    if runner:
        bvr = result.best_vs_runner[result.best_vs_runner["measure"] == spec.rank_by].iloc[0]
        items.append(finding(result, spec.rank_by, result.best, result.runner_up, bvr))
    if result.best != spec.baseline:  # the best strategy's value was just given
        items.append(finding(result, spec.rank_by, result.best, spec.baseline, said=runner))
    items += (box_sentences(result) + trend_sentences(result))[:3]
    return items


def _first_share(result: ComparisonResult, k: str) -> str:
    """'first in re-draws' for the table: '-' for a strategy the ranking measure leaves out."""
    p = result.rank_probability.get(k, math.nan)
    return _pct(p) if k in result.measured and math.isfinite(p) else "-"


def _ci(measure: str, r: pd.Series, seen: set[str] | None = None) -> str:
    c = f"95% interval {fmt_interval(measure, r['low'], r['high'])}"
    return c + (f"; {plain_note(r['note'], seen)}" if r["note"] else "")


def _upper(s: str) -> str:
    return s[:1].upper() + s[1:]


# ------------------------------------------------------------------------------------------ the document
@dataclass
class Doc:
    """A report as a list of blocks, rendered to Markdown and to self-contained HTML."""

    title: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)
    figures: dict[str, bytes] = field(default_factory=dict)

    def h(self, level: int, text: str) -> None:
        self.blocks.append(("h", (level, text)))

    def p(self, text: str) -> None:
        self.blocks.append(("p", text))

    def ul(self, items: list[str]) -> None:
        self.blocks.append(("ul", list(items)))

    def table(self, header: list[str], rows: list[list[str]], caption: str = "") -> None:
        self.blocks.append(("table", (header, rows, caption)))

    def figure(self, name: str, png: bytes, caption: str) -> None:
        self.figures[name] = png
        self.blocks.append(("figure", (name, caption)))

    def code(self, text: str) -> None:
        self.blocks.append(("code", text))

    def markdown(self, figure_dir: str = "figures") -> str:
        """The report in Markdown. Every text is shown as written: a character that Markdown or
        HTML would read as markup (a tag, an entity, emphasis, a link, a heading or a list at the
        start of a line) is escaped (:func:`md_text`), so that a title such as '<b>x</b>' or
        '[x](y)' reads as typed rather than being rendered, or run, by the viewer."""
        t = md_text
        out = [f"# {t(self.title)}", ""]
        for kind, b in self.blocks:
            if kind == "h":
                out += [f"{'#' * (b[0] + 1)} {t(b[1])}", ""]
            elif kind == "p":
                out += [t(b), ""]
            elif kind == "ul":
                out += [f"- {t(item)}" for item in b] + [""]
            elif kind == "table":
                header, rows, caption = b
                if caption:
                    out += [f"*{t(caption)}*", ""]
                out.append("| " + " | ".join(_md_cell(c) for c in header) + " |")
                out.append("|" + "|".join("---" for _ in header) + "|")
                out += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in rows]
                out.append("")
            elif kind == "figure":
                name, caption = b
                out += [f"![{t(caption)}]({figure_dir}/{name})", "", f"*{t(caption)}*", ""]
            elif kind == "code":
                fence = "`" * max(3, 1 + max((len(r) for r in re.findall(r"`+", b)), default=0))
                out += [fence, b, fence, ""]
        return "\n".join(out).rstrip() + "\n"

    def html(self) -> str:
        e = html.escape
        body = [f"<h1>{e(self.title)}</h1>"]
        for kind, b in self.blocks:
            if kind == "h":
                body.append(f"<h{b[0] + 1}>{e(b[1])}</h{b[0] + 1}>")
            elif kind == "p":
                body.append(f"<p>{e(b)}</p>")
            elif kind == "ul":
                body.append("<ul>" + "".join(f"<li>{e(i)}</li>" for i in b) + "</ul>")
            elif kind == "table":
                header, rows, caption = b
                cap = f"<caption>{e(caption)}</caption>" if caption else ""
                head = "".join(f"<th>{e(c)}</th>" for c in header)
                trs = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows)
                body.append(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table>")
            elif kind == "figure":
                name, caption = b
                data = base64.b64encode(self.figures[name]).decode("ascii")
                body.append(f'<figure><img src="data:image/png;base64,{data}" alt="{e(caption)}">'
                            f"<figcaption>{e(caption)}</figcaption></figure>")
            elif kind == "code":
                body.append(f"<pre><code>{e(b)}</code></pre>")
        return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                f"<title>{e(self.title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
                + "\n".join(body) + "\n</main>\n</body>\n</html>\n")


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;line-height:1.5;color:#1d2733;
background:#fff;margin:0}
main{max-width:60rem;margin:0 auto;padding:1.5rem 1.25rem 4rem}
h1{font-size:1.7rem;line-height:1.25;margin:.5rem 0 1rem}
h2{font-size:1.3rem;margin-top:2.2rem;border-bottom:1px solid #d8dee4;padding-bottom:.2rem}
h3{font-size:1.1rem;margin-top:1.6rem}
table{border-collapse:collapse;margin:1rem 0;font-size:.92rem;display:block;overflow-x:auto}
caption{text-align:left;font-style:italic;padding-bottom:.3rem}
th,td{border:1px solid #d8dee4;padding:.35rem .55rem;text-align:left;vertical-align:top}
th{background:#f3f5f7}
tbody tr:nth-child(even){background:#fafbfc}
figure{margin:1.5rem 0}
img{max-width:100%;height:auto;border:1px solid #eef1f4}
figcaption{font-size:.9rem;color:#4a5866;margin-top:.3rem}
pre{background:#f3f5f7;padding:.7rem 1rem;overflow-x:auto}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9rem}
"""


def _md_cell(text: str) -> str:
    return md_text(str(text), start=False).replace("|", "\\|")


#: Characters Markdown reads as markup wherever they stand: escapes, code, links, images, maths.
_MD_ALWAYS = re.compile(r"[\\`\[\]$]")
#: An HTML tag, comment or autolink begins with '<' and one of these; '< 0.001' does not.
_MD_TAG = re.compile(r"<(?=[A-Za-z/!?])")
#: A character entity ('&lt;', '&#60;'), which a viewer would show as the character it names.
_MD_ENTITY = re.compile(r"&(?=#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)")
#: What makes a line a heading, a quotation, a list item or a rule when it starts the line.
_MD_START = re.compile(r"[#>+=*_~-]|\d{1,9}[.)](?=\s|$)")


def md_text(text: str, *, start: bool = True) -> str:
    """``text`` as Markdown that shows it as written, on one line: backslashes, backquotes,
    brackets and '$' are escaped everywhere; '*', '_' and '~' where they could open or close
    emphasis or strikethrough (not a lone ' * ', nor '_' inside a word); '<' where it could open a
    tag and '&' where it could open an entity; and with ``start``, what would make the line a
    heading, a quotation, a list item or a rule. Plain words are unchanged."""
    text = " ".join(str(text).replace("\r", "\n").split("\n")).strip()
    text = _MD_ALWAYS.sub(lambda m: "\\" + m.group(0), text)
    text = _MD_TAG.sub(r"\\<", text)
    text = _MD_ENTITY.sub(r"\\&", text)

    def flank(m: re.Match) -> str:
        c, i = m.group(0), m.start()
        before = text[i - 1] if i > 0 else " "
        after = text[i + 1] if i + 1 < len(text) else " "
        if before.isspace() and after.isspace():  # a lone '*' or '~' cannot open or close anything
            return c
        if c == "_" and before.isalnum() and after.isalnum():  # 'rank_by': not emphasis inside a word
            return c
        return "\\" + c

    text = re.sub(r"[*_~]", flank, text)
    if start:
        m = _MD_START.match(text)
        if m and not text.startswith("\\"):
            text = (text[:m.end() - 1] + "\\" + text[m.end() - 1:]) if m.group(0)[0].isdigit() else "\\" + text
        if text.endswith("#"):  # a heading's closing sequence would be dropped
            text = text[:-1] + "\\#"
    return text


# ------------------------------------------------------------------------------------------ figures
def _new_ax(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def _colour(result: ComparisonResult) -> dict[str, str]:
    return {k: _COLOURS[i % len(_COLOURS)] for i, k in enumerate(result.spec.keys)}


def _dash(result: ComparisonResult) -> dict[str, Any]:
    """A line style per strategy, in the order of the file: with the colour, it tells apart curves
    that lie on top of each other (and strategies beyond ten, whose colours repeat)."""
    return {k: _DASHES[i % len(_DASHES)] for i, k in enumerate(result.spec.keys)}


def _km_curves(result: ComparisonResult) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each strategy's Kaplan-Meier curve of how long agreements hold, as steps (months, share
    still holding) up to the follow-up; none for a strategy without agreements. The months at
    which agreements were censored are among the steps' months (lifelines' convention)."""
    import warnings

    from lifelines import KaplanMeierFitter

    fu = float(result.spec.scenario.params["followup_months"])
    out = {}
    for k in result.spec.keys:
        e = result.episodes[result.episodes["strategy"] == k]
        if len(e) == 0:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kmf = KaplanMeierFitter().fit(e["months_survived"].to_numpy(float), e["relapsed"].to_numpy(bool))
        sf = kmf.survival_function_.iloc[:, 0]
        t = np.r_[0.0, sf.index.to_numpy(float)]
        s = np.r_[1.0, sf.to_numpy(float)]
        keep = t <= fu
        out[k] = (t[keep], s[keep])
    return out


def _same_curves(result: ComparisonResult, curves: dict[str, tuple[np.ndarray, np.ndarray]]) -> list[list[str]]:
    """Groups of strategies (in the order of the ranking) whose curves are the same month by month:
    drawn one over the other, only the last would be seen."""
    def same(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> bool:
        # as drawn: the same end, and the same share at every month where either steps (a month at
        # which only one has an agreement censored is a step of no height)
        if a[0][-1] != b[0][-1]:
            return False
        at = np.union1d(a[0], b[0])
        value = [c[1][np.searchsorted(c[0], at, side="right") - 1] for c in (a, b)]
        return bool(np.allclose(value[0], value[1], rtol=0, atol=1e-12))

    groups: list[list[str]] = []
    for k in result.ranking:
        if k not in curves:
            continue
        for g in groups:
            if same(curves[g[0]], curves[k]):
                g.append(k)
                break
        else:
            groups.append([k])
    return [g for g in groups if len(g) > 1]


def km_coincide_words(result: ComparisonResult) -> str:
    """A sentence for the figure's caption naming the strategies whose curves coincide, or ''."""
    groups = _same_curves(result, _km_curves(result))
    if not groups:
        return ""
    said = [_and([f"'{result.spec.strategy(k).title}'" for k in g]) for g in groups]
    return (f" The curves of {said[0]} are the same month by month" + "".join(f", and so are those of {g}"
                                                                            for g in said[1:])
            + ": they lie on top of each other, each in a line style of its own so that every one can be seen, and "
              "the legend says which is the same as which.")


@as_written
def km_figure(result: ComparisonResult, ax: Axes | None = None) -> Figure:
    """Kaplan-Meier curves of how long agreements hold, one per strategy (no band: the strategies' intervals
    are in the tables). Each strategy has a colour and a line style of its own, so that curves that
    coincide, wholly or in part, can still be told apart; a curve that is the same as another's says
    so in the legend."""
    own = ax is None  # a figure of its own: the legend goes below the plot, where it hides no curve
    titles = [_wrap(result.spec.strategy(k).title + " (99 agreements; the same curve as '')", _LEGEND)
              for k in result.spec.keys]
    fig, ax = _new_ax(ax, (8.0, 4.2 + 0.17 * sum(t.count("\n") + 1 for t in titles)))
    colours, dashes = _colour(result), _dash(result)
    fu = float(result.spec.scenario.params["followup_months"])
    curves = _km_curves(result)
    same = {k: g[0] for g in _same_curves(result, curves) for k in g[1:]}
    n = len(result.spec.keys)
    for i, k in enumerate(result.ranking):
        title = result.spec.strategy(k).title
        if k not in curves:
            ax.plot([], [], color=colours[k], ls=dashes[k], label=_wrap(f"{title} (no agreement)", _LEGEND))
            continue
        t, s = curves[k]
        e = result.episodes[result.episodes["strategy"] == k]
        agreements = len(e)
        label = f"{title} ({agreements} agreement{'' if agreements == 1 else 's'}"
        label += f"; the same curve as '{result.spec.strategy(same[k]).title}')" if k in same else ")"
        # later curves a little thinner, so that one drawn over another leaves the other's edges in view
        ax.step(t, s, where="post", color=colours[k], ls=dashes[k], lw=2.6 - 1.2 * i / max(n - 1, 1),
                label=_wrap(label, _LEGEND))
        # a tick where an agreement was still holding when its follow-up ended (censored), as
        # survival plots mark them: it shows how far each curve was followed, also under another
        censored = np.unique(e.loc[~e["relapsed"].astype(bool), "months_survived"].to_numpy(float))
        censored = censored[censored <= fu]
        if len(censored):
            ax.plot(censored, s[np.searchsorted(t, censored, side="right") - 1], ls="none", marker="|", ms=7,
                    mew=1.3, color=colours[k])
    if not curves:  # an empty plot would say nothing; it says why it is empty
        ax.text(0.5, 0.5, "No agreement was signed under any strategy:\nthere is no curve to draw.",
                transform=ax.transAxes, ha="center", va="center", fontsize=10, color="#555")
    ax.axvline(result.spec.horizon, color="#555", ls=":", lw=1)
    ax.text(result.spec.horizon, 0.01, f" {span_words(result.spec.horizon)}", fontsize=8, color="#555", va="bottom")
    ax.set_xlim(0, fu)
    ax.set_ylim(0, 1.08)
    ax.set_xlabel("months since the agreement was signed")
    ax.set_ylabel("share of agreements still holding")
    ax.set_title("How long agreements hold (Kaplan-Meier)", fontsize=11)
    if own:
        fig.legend(fontsize=8, loc="outside lower center", frameon=False, handlelength=3.5)
    else:
        ax.legend(fontsize=8, loc="upper right", frameon=False, handlelength=3.5)
    ax.grid(alpha=0.25)
    return fig


@as_written
def differences_figure(result: ComparisonResult, measure: str | None = None, ax: Axes | None = None) -> Figure:
    """Each strategy minus the baseline on one measure, with the paired 95% interval (thick) and
    the interval independent runs would have given (thin)."""
    measure = measure or result.spec.rank_by
    m = MEASURES[measure]
    d = result.differences[result.differences["measure"] == measure].set_index("strategy")
    order = [k for k in result.ranking if k in d.index]
    labels = [_wrap(result.spec.strategy(k).title, _LABEL) for k in reversed(order)]
    fig, ax = _new_ax(ax, (9.0, 1.2 + _row_height(labels, 0.55) * max(len(order), 1)))
    scale = 100 if m.unit == "share" else 1
    colours = _colour(result)
    for y, k in enumerate(reversed(order)):
        r = d.loc[k]
        if not math.isfinite(float(r["difference"])):
            ax.text(0.01, y, "not measurable", transform=ax.get_yaxis_transform(), va="center", fontsize=8,
                    color="#777", bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
            continue
        ax.plot([scale * r["unpaired_low"], scale * r["unpaired_high"]], [y, y], color="#bbb", lw=1.2,
                solid_capstyle="butt")
        ax.plot([scale * r["low"], scale * r["high"]], [y, y], color=colours[k], lw=4, solid_capstyle="butt")
        ax.plot([scale * r["difference"]], [y], "o", color="white", mec=colours[k], mew=1.8, ms=7)
    ax.axvline(0, color="#333", lw=1)
    if not np.isfinite(d.loc[order, "difference"].to_numpy(float)).any():
        ax.set_xlim(-1, 1)  # nothing to draw: zero in the middle, not at the left edge
    ax.set_yticks(range(len(order)), labels, fontsize=8)
    ax.set_ylim(-0.5, max(len(order), 1) - 0.5)  # room for a title of several lines at the first and last row
    unit = {"share": "percentage points", "months": "months", "scale": "model scale"}[m.unit]
    base = result.spec.strategy(result.spec.baseline).title
    ax.set_xlabel(_wrap(f"difference from '{base}' in {m.text(result.spec.horizon)} ({unit})", 70))
    side = "right" if m.higher_is_better else "left"
    ax.set_title(f"Against the baseline: paired 95% interval (thick), unpaired (thin);\n{side} of zero is better",
                 fontsize=10)
    ax.grid(axis="x", alpha=0.25)
    return fig


@as_written
def measures_figure(result: ComparisonResult) -> Figure:
    """Every measure for every strategy with its 95% interval, best-ranked strategy on top."""
    keys = list(MEASURES)
    order = result.ranking
    labels = [_wrap(result.spec.strategy(k).title, _LABEL) for k in reversed(order)]
    fig = Figure(figsize=(10.0, 1.4 + _row_height(labels, 0.42) * len(result.spec.keys) * 2), layout="constrained")
    axes = fig.subplots(2, 3, sharey=True).ravel()
    colours = _colour(result)
    for ax, mk in zip(axes, keys):
        m = MEASURES[mk]
        scale = 100 if m.unit == "share" else 1
        for y, k in enumerate(reversed(order)):
            r = result.value(k, mk)
            v = float(r["estimate"])
            if not math.isfinite(v):
                ax.text(0.02, y, "n/a", transform=ax.get_yaxis_transform(), va="center", fontsize=8, color="#777")
                continue
            lo, hi = float(r["low"]), float(r["high"])
            if math.isfinite(lo) and math.isfinite(hi):
                ax.plot([scale * lo, scale * hi], [y, y], color=colours[k], lw=3, solid_capstyle="butt")
            # (not clipped: an estimate of 100% stands on the right edge of the panel and would be cut in half)
            ax.plot([scale * v], [y], "o", color=colours[k], ms=5, clip_on=False, zorder=3)
        unit = {"share": "%", "months": "months", "scale": "0-1"}[m.unit]
        better = "higher is better" if m.higher_is_better else "lower is better"
        ax.set_title(f"{_wrap(m.text(result.spec.horizon), 26)} ({unit})\n{better}", fontsize=9)
        if m.unit == "share":  # shares on a scale from 0, so that small differences look small
            top = np.nanmax([100 * float(result.value(k, mk)["high"]) for k in order] + [1.0])
            ax.set_xlim(0, min(100.0, top * 1.08 + 1) if math.isfinite(top) else 100.0)
        ax.grid(axis="x", alpha=0.25)
        ax.tick_params(labelsize=8)
    axes[0].set_yticks(range(len(order)), labels, fontsize=8)
    axes[3].set_yticks(range(len(order)), labels, fontsize=8)
    axes[0].set_ylim(-0.5, len(order) - 0.5)  # shared: room for a title of several lines at the ends
    return fig


@as_written
def worlds_figure(result: ComparisonResult, ax: Axes | None = None) -> Figure | None:
    """The sampled worlds on the conditions that matter most, marked by whether the best strategy
    did better than the runner-up there, with the first PRIM box drawn. None without conditions
    or without a runner-up."""
    spec = result.spec
    if not spec.conditions or spec.worlds < 2 or result.runner_up is None:
        return None
    w = result.worlds[result.worlds["measured"]]
    names = [c.name for c in spec.conditions]
    if result.boxes:
        dims = [lim.name for lim in result.boxes[0].limits][:2]
    else:
        diff = w["difference"].astype(float)
        score = {n: abs(pd.Series(w[n].astype(float)).rank().corr(diff.rank())) if len(w) > 2 else 0.0
                 for n in names}  # a correlation needs three worlds
        dims = sorted(names, key=lambda n: -np.nan_to_num(score[n]))[:2]
    label = {c.name: c.label for c in spec.conditions}
    own = ax is None  # a figure of its own: the legend goes below the plot, where it hides no world
    fig, ax = _new_ax(ax, (7.5, 5.2))
    good = w["best_does_better"].astype(bool).to_numpy()
    tb, tr = spec.strategy(result.best).title, spec.strategy(result.runner_up).title
    if len(dims) == 1:
        x, y = w[dims[0]].to_numpy(float), w["difference"].to_numpy(float)
        ax.axhline(0, color="#333", lw=1)
        ax.set_ylabel(f"best minus runner-up: {MEASURES[spec.rank_by].text(spec.horizon)}")
    else:
        x, y = w[dims[0]].to_numpy(float), w[dims[1]].to_numpy(float)
        ax.set_ylabel(_wrap(label[dims[1]]), fontsize=9)
    ax.scatter(x[good], y[good], s=36, color="#1b6ca8", label=_wrap(f"{tb} did better", _LEGEND))
    ax.scatter(x[~good], y[~good], s=40, marker="x", color="#d1495b",
               label=_wrap(f"it did not do better than '{tr}'", _LEGEND))
    if result.boxes:
        b = result.boxes[0]
        lims = {lim.name: lim for lim in b.limits}
        c0 = next(c for c in spec.conditions if c.name == dims[0])
        x0, x1 = (lims[dims[0]].low, lims[dims[0]].high) if dims[0] in lims else (c0.low, c0.high)
        if len(dims) == 2:
            c1 = next(c for c in spec.conditions if c.name == dims[1])
            y0, y1 = (lims[dims[1]].low, lims[dims[1]].high) if dims[1] in lims else (c1.low, c1.high)
        else:
            y0, y1 = ax.get_ylim()
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=True, alpha=0.08, color="#d1495b", lw=0))
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ls="--", color="#d1495b", lw=1.3,
                               label=f"box 1: {b.n} worlds, density {_pct(b.density)}, coverage {_pct(b.coverage)}"))
    ax.set_xlabel(_wrap(label[dims[0]]), fontsize=9)
    ax.set_title("Where the best strategy does and does not do better than the runner-up", fontsize=10)
    if own:
        fig.legend(fontsize=8, loc="outside lower center", frameon=False)
    else:
        ax.legend(fontsize=8, loc="best", frameon=True, framealpha=0.9)
    ax.grid(alpha=0.25)
    return fig


#: Characters per line of a strategy's title beside a figure's rows and in a legend: longer titles
#: go on more lines rather than pushing the plot or the title out of the figure.
_LABEL = 40
_LEGEND = 72


def _row_height(labels: list[str], least: float) -> float:
    """Inches for one strategy's row beside labels of several lines (8 points, about 0.14 inch a line)."""
    lines = max((label.count("\n") + 1 for label in labels), default=1)
    return max(least, 0.14 * lines + 0.15)


def _wrap(text: str, width: int = 60) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


# ------------------------------------------------------------------------------------------ the report
def _the(label: str) -> str:
    """A condition's meaning as the subject of a clause: 'the monthly chance ...'."""
    return label if re.match(r"(the|a|an) ", label, flags=re.I) or label[:1].isupper() else f"the {label}"


def _in_months(name: str) -> bool:
    """Whether a condition is a number of months (a grant's length, a gap between grants)."""
    from .params import REGISTRY

    p = REGISTRY.get(name)
    return p is not None and p.unit == "months"


def _range_words(cond) -> str:
    """A condition's range as the report gives it: '0.1 to 0.45', '6 to 48 months'."""
    return f"{cond.low:g} to {cond.high:g}" + (" months" if _in_months(cond.name) else "")


def _limit_words(lim, cond) -> str:
    """'... is at least 0.32' / 'is at most 0.20' / 'is between 0.15 and 0.30', for one restriction
    ('is at least 24 months' for a number of months)."""
    fmt = (lambda v: f"{v:.0f}") if cond.integer else (lambda v: f"{v:.3g}")

    def unit(v: float) -> str:
        return "" if not _in_months(cond.name) else " month" if fmt(v) == "1" else " months"

    if lim.low_restricted and lim.high_restricted:
        return f"{_the(cond.label)} is between {fmt(lim.low)} and {fmt(lim.high)}{unit(2)}"
    if lim.low_restricted:
        return f"{_the(cond.label)} is at least {fmt(lim.low)}{unit(lim.low)}"
    return f"{_the(cond.label)} is at most {fmt(lim.high)}{unit(lim.high)}"


def trend_sentences(result: ComparisonResult) -> list[str]:
    """The conditions along which the best strategy's lead over the runner-up clearly grows or shrinks."""
    spec = result.spec
    t = result.trends
    if t is None or not len(t) or not _enough_worlds(result) or result.runner_up is None:
        return []
    tb, tr = spec.strategy(result.best).called, spec.strategy(result.runner_up).called
    out = []
    for _, r in t.iterrows():
        if math.isfinite(float(r["p_holm"])) and r["p_holm"] < 0.05:
            grows = r["rank_correlation"] > 0  # with the lead itself (comparison._trends), whichever way is better
            allowing = (f"clear also after allowing for {_conditions(t)} examined" if _finite(t["p"]) > 1 else
                        "clear")
            out.append(f"The lead of {tb} over {tr} {'grows' if grows else 'shrinks'} as {_the(r['meaning'])} rises "
                       f"(a rank correlation of {r['rank_correlation']:+.2f}, on a scale from -1 to +1, over "
                       f"{int(r['worlds'])} worlds; {allowing}).")
    if not out and not np.isfinite(t["rank_correlation"].to_numpy(float)).any():
        n = int(t["worlds"].iloc[0])
        out.append(f"How the lead of {tb} over {tr} changes with the conditions could not be worked out: it could be "
                   f"measured in only {n} of the {spec.worlds} worlds, or it was the same in all of them.")
    elif not out and _finite(t["p"]) == 1:
        out.append(f"{_upper(_the(t.loc[np.isfinite(t['p'].to_numpy(float)), 'meaning'].iloc[0]))} does not clearly go "
                   f"with a larger or smaller lead of {tb} over {tr}.")
    elif not out:
        out.append(f"No single condition clearly goes with a larger or smaller lead of {tb} over {tr} (after allowing "
                   f"for {_conditions(t)} examined).")
    return out


def _enough_worlds(result: ComparisonResult) -> bool:
    """Were enough worlds sampled, and compared, for the trends (as for the search for conditions:
    a correlation over fewer worlds reads as more than it is)?"""
    t = result.trends
    measured = int(t["worlds"].iloc[0]) if t is not None and len(t) else 0
    return result.spec.worlds >= MIN_WORLDS_DISCOVERY and measured >= MIN_WORLDS_DISCOVERY


def box_sentences(result: ComparisonResult) -> list[str]:
    """The PRIM boxes as sentences (or the stated reason there are none: always without a runner-up)."""
    spec = result.spec
    if not result.boxes or result.runner_up is None:
        return [_upper(plain_note(result.discovery_note)) + "."] if result.discovery_note else []
    conds = {c.name: c for c in spec.conditions}
    tb, tr = spec.strategy(result.best).called, spec.strategy(result.runner_up).called
    w = result.worlds[result.worlds["measured"]]
    lost = int((~w["best_does_better"].astype(bool)).sum())
    out = [f"{_upper(tb)} did better than {tr} in {len(w) - lost} of the {len(w)} worlds sampled and not in {lost}."]
    for i, b in enumerate(result.boxes, start=1):
        cond = " and ".join(_limit_words(lim, conds[lim.name]) for lim in b.limits)
        out.append(f"{'It loses its advantage mostly' if i == 1 else 'It also loses it'} when {cond}: in the {b.n} "
                   f"worlds with these conditions it did not do better in {b.k} ({_pct(b.density)} of them, against "
                   f"{_pct(b.base_rate)} of all worlds), and these worlds hold {_pct(b.coverage)} of all the worlds "
                   f"where it did not do better.")
    return out


def _conditions(trends: pd.DataFrame) -> str:
    """'the 5 conditions' whose correlation has a p-value (Holm's correction counts only those)."""
    n = _finite(trends["p"])
    return f"the {n} condition{'s' if n != 1 else ''}"


def _finite(values) -> int:
    """How many of ``values`` are numbers (Holm's correction counts only those)."""
    return int(np.isfinite(np.asarray(values, dtype=float)).sum())


def _and(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" and {items[-1]}"


def reading_guide(result: ComparisonResult) -> list[str]:
    """'How to read this report': the few words the opening uses, in plain words."""
    spec = result.spec
    span = span_words(spec.horizon)
    if spec.conditions:
        futures = (f"Worlds and seeds: conditions that no strategy controls (listed under 'When the ranking would "
                   f"change') were drawn at random from ranges, {spec.worlds} times; each draw is a world. In every "
                   f"world each strategy was run with the same {spec.seeds} seeds, each seed one random course of "
                   "events, so the strategies face the same simulated futures and are compared like for like.")
    else:
        futures = (f"Seeds: every strategy was run with the same {spec.seeds} seeds, each seed one random course of "
                   "events, so the strategies face the same simulated futures and are compared like for like.")
    again = "the worlds and seeds" if spec.worlds > 1 else "the seeds"
    return [
        futures,
        f"95% interval: the range given after a number, such as '(95% interval 20-35%)', is where the middle 95% "
        f"of the results fell when {again} were drawn again at random, {spec.bootstrap:,} times (the "
        "re-draws). A share of 0% or 100% has an exact bound instead (re-draws cannot vary it), the months an "
        "agreement holds where none relapsed a bound that follows from it, and the "
        "intervals of how fast agreements break down come from a model of their own; 'Methods in brief' says how. A narrow range means "
        "the answer hardly depends on which futures happened to be simulated. It says how sure the model is of "
        "its own results, not whether the model is right.",
        "Clear difference: a difference whose 95% interval lies wholly above or below zero and that is still clear "
        "after allowing for the number of comparisons made (among many comparisons, some differences look real "
        "by chance alone; the intervals shown are not widened for this). Where the interval includes zero, these runs cannot tell whether the strategy does better "
        "or worse.",
        f"Came first in a share of the re-draws: how often a strategy had the best value when {again} "
        f"were drawn again. Only a strategy that came first in {_pct(CLEARLY_FIRST)} or more of them is called "
        "ranked first, and not where its lead rests on a value that was the same in every re-draw (a share of "
        "100%, say) and is not clear once that value's exact bound is allowed for, nor where there were five runs of "
        "each strategy or fewer (the re-draws of so few agree too easily).",
        f"How long agreements hold: an agreement still holding when its run ended counts as holding up to then, "
        f"neither as failed nor as holding for ever. An agreement 'followed for {span}' could be watched for "
        f"{span} after its signature before its run ended.",
        "Not measurable: where too few agreements were signed, or too few were followed long enough, no number is "
        "given rather than one that looks more certain than it is; the notes say why.",
    ]


def _column_words(result: ComparisonResult) -> list[str]:
    """What each column of the ranked table is."""
    spec = result.spec
    h, span = spec.horizon, span_words(spec.horizon)
    hz = int(spec.scenario.params["months"])
    words = {
        "agreement": f"the share of runs in which an agreement is signed within the {hz} months simulated",
        "months_to_agreement": f"the average months until the first agreement, a run without one counting as all "
                               f"{hz} months (so the figure stays near {hz} where few runs reach one)",
        "durable": f"the share of all runs in which an agreement is signed and then holds {span} within the {hz} "
                   f"months simulated (one signed less than {span} before the end of its run counts as not having "
                   "held, as that could not be seen)",
        "survival": f"of the agreements signed, the share still holding {span} after signature",
        "rmst": f"the average months an agreement holds in its first {span} (at most {h})",
        "violence": "the average violence per month, on the model's scale from 0 (none) to 1 (its maximum)",
    }
    return [f"{MEASURES[m].text(h)}: {words[m]}; {'higher' if MEASURES[m].higher_is_better else 'lower'} is better."
            for m in MEASURES]


def _hazard_p_words(n: int) -> str:
    """What the hazard table's p-values are, for ``n`` ratios that have one."""
    if n == 0:
        return "None of the ratios below has a p-value (the notes say why)."
    what = ("p, adjusted: how surprising a ratio this far from 1 would be if the strategy made no difference "
            "(below 0.05 reads as clear), ")
    if n == 1:
        return what + "with no adjustment, as only one ratio has a p-value."
    return what + f"adjusted (Holm's correction) for the {n} ratios that have one."


def _hazard_cells(r: pd.Series) -> tuple[str, str]:
    """The hazard ratio's cell and its note. An estimate without an interval is not printed as a
    bare number: the cell says there is no interval and the note gives the estimate, marked."""
    hr, lo, hi = float(r["hr"]), float(r["low"]), float(r["high"])
    note = r["note"] or ""
    if not math.isfinite(hr):
        return "not estimable", note
    if math.isfinite(lo) and math.isfinite(hi):
        return f"{hr:.2f} ({lo:.2f}-{hi:.2f})", note
    if hr == 0.0:  # no relapse under the strategy: the note says so
        return "no interval (none relapsed)", note
    why = note.removeprefix("no interval or p-value: ")
    lack = "no interval or p-value" if why != note else "no interval"
    return "no interval (see note)", f"point estimate {hr:.2f}, not a finding because it has {lack}" + (
        f": {why}" if why else "")


def build_document(result: ComparisonResult) -> Doc:
    """The report's content, as blocks: first what a director reads (the question, the answer in
    short and how to read it, in plain words), then the details, the caveats and the methods in
    brief, where each technical term is named and explained once."""
    spec = result.spec
    h = spec.horizon
    span = span_words(h)
    rank = MEASURES[spec.rank_by]
    what = plain_measure(spec.rank_by, h)
    # no best strategy without a measured one, no runner-up without two: nothing below names them then
    tb = spec.strategy(result.best).called if result.best is not None else ""
    tr = spec.strategy(result.runner_up).called if result.runner_up is not None else ""
    tbase = spec.strategy(spec.baseline).title
    k = len(spec.strategies) - 1
    ranked = result.runner_up is not None  # two strategies could be measured
    doc = Doc(spec.title)
    doc.p(f"Scenario: {spec.scenario.title}. An illustrative model, not a forecast: the scenario's values are "
          "illustrative, not estimates of a real case.")

    doc.h(1, "The question")
    doc.p(spec.question)
    if spec.description:
        doc.p(" ".join(spec.description.split()))
    doc.p(f"Strategies are ranked by {what}; {'higher' if rank.higher_is_better else 'lower'} is better.")

    doc.h(1, "The answer in short")
    doc.ul(answer_lines(result))

    doc.h(1, "How to read this report")
    doc.ul(reading_guide(result))

    doc.h(1, "The strategies")
    doc.p(f"Each strategy is a set of changes to the scenario '{spec.scenario.title}'. The baseline, against which "
          f"the others are compared, is '{tbase}'.")
    for s in spec.strategies:
        doc.h(2, s.title + (" (baseline)" if s.key == spec.baseline else ""))
        doc.p(" ".join(s.description.split()))
        doc.p("Changes to the scenario:")
        doc.ul(s.changes)
        doc.p(f"Source: {' '.join(s.source.split())}")

    doc.h(1, "Ranked table")
    doc.p("The columns of the table:")
    doc.ul(_column_words(result))
    header = ["rank", "strategy"] + [f"{MEASURES[m].text(h)}" for m in MEASURES] + ["first in re-draws"]
    rows = []
    places = rank_labels(result)
    for s in result.ranking:
        row = [places[s], spec.strategy(s).title + (" (baseline)" if s == spec.baseline else "")]
        for m in MEASURES:
            r = result.value(s, m)
            cell = fmt_value(m, r["estimate"], unit=False)
            if math.isfinite(float(r["estimate"])):
                cell += f" ({fmt_interval(m, r['low'], r['high'])})".replace(" months", "")
            rows_note = "" if not r["note"] else " *"
            row.append(cell + rows_note)
        row.append(_first_share(result, s))
        rows.append(row)
    doc.table(header, rows, caption=f"Each estimate with its 95% interval in brackets; months in months, violence on "
                                    f"the model's 0-1 scale. Ranked by {rank.text(h)} ('=': the same value; '-': not "
                                    "measurable). First in re-draws: how often the strategy had the best value when "
                                    f"{'the worlds and seeds' if spec.worlds > 1 else 'the seeds'} were drawn "
                                    "again (ties shared"
                                    + (f"; out of the {result.rank_resamples:,} of {spec.bootstrap:,} re-draws in "
                                       "which two strategies could be measured"
                                       if 0 < result.rank_resamples < spec.bootstrap else "")
                                    + ("; '-' throughout: fewer than two strategies could be measured"
                                       if len(result.measured) < 2 else "")
                                    + "). A value marked with an asterisk has a note below.")
    grouped: dict[tuple[str, str], list[str]] = {}
    for _, r in result.table.iterrows():
        if r["note"]:
            grouped.setdefault((r["strategy"], plain_note(r["note"])), []).append(MEASURES[r["measure"]].text(h))
    if grouped:
        doc.p("Notes:")
        # the same reason for the same measures under several strategies is said once, naming them
        together: dict[tuple[str, tuple[str, ...]], list[str]] = {}
        for (s, note), labels in grouped.items():
            together.setdefault((note, tuple(labels)), []).append(s)
        items = []
        for (note, labels), keys in together.items():
            others = [k for k in spec.keys if k not in keys]
            who = ("Every strategy" if not others else
                   f"Every strategy but '{spec.strategy(others[0]).title}'" if len(others) == 1 and len(keys) > 2
                   else _and([spec.strategy(k).title for k in keys]))
            items.append(f"{who}, {_and(list(labels))}: {note}.")
        doc.ul(items)

    doc.h(1, "Findings")
    where = f" in each of the {spec.worlds} worlds" if spec.worlds > 1 else ""
    allowing = (f"and it is still clear after allowing for the number of comparisons made on the same measure (each "
                f"of the {k} strategies against the baseline, where it could be measured)" if k > 1 else
                "(with one strategy compared with the baseline there are no other comparisons on the same measure "
                "to allow for)")
    doc.p(f"Every strategy ran on the same {spec.seeds} seeds{where}, so each comparison is like for like (paired): "
          "the differences below are between strategies facing the same simulated futures. A difference is called "
          f"clear when its 95% interval lies wholly above or below zero {allowing}.")
    seen: set[str] = set()
    findings = []
    for s in result.ranking:
        if s != spec.baseline:
            findings.append(finding(result, spec.rank_by, s, spec.baseline, seen=seen))
    doc.ul(findings)
    if result.best is not None and result.best != spec.baseline:
        doc.p(f"{_upper(tb)} against the baseline on the other measures:")
        doc.ul([finding(result, m, result.best, spec.baseline, seen=seen) for m in MEASURES if m != spec.rank_by])
    gain = _pairing_gain(result)
    if gain:
        doc.p(gain)
    doc.table(["strategy"] + [MEASURES[m].text(h) for m in MEASURES],
              [[spec.strategy(s).title] + [_diff_cell(result, s, m) for m in MEASURES]
               for s in result.ranking if s != spec.baseline],
              caption=f"Difference from '{tbase}' with its 95% interval from the paired comparison (shares in "
                      "percentage points, months in months, violence on the 0-1 scale; where a strategy's value was "
                      "the same in every re-draw, the interval allows for its exact bound); ✓ a clear difference, "
                      "also after allowing for the number of comparisons made.")

    pw = result.pairwise
    if pw is not None and len(spec.strategies) > 2:
        rows, unmeasured = [], 0
        for _, r in pw[pw["measure"] == spec.rank_by].iterrows():
            if not math.isfinite(float(r["difference"])):
                unmeasured += 1
                continue
            rows.append([spec.strategy(r["strategy"]).title, spec.strategy(r["versus"]).title,
                         _pair_cell(spec.rank_by, r)])
        doc.h(2, "Every pair of strategies")
        if rows:
            k = int(pw.loc[pw["measure"] == spec.rank_by, "n_compared"].max())
            allow = (f"a difference is called clear after allowing for the {k} pairs compared" if k > 1
                     else "with one pair compared, no allowance for other comparisons is needed")
            doc.p(f"The same paired comparison on {what} for every pair of strategies that could be compared, not "
                  f"only against the baseline; {allow}.")
            doc.table(["strategy", "against", f"difference in {rank.text(h)} (95% interval)"], rows,
                      caption="First minus second, paired; ✓ a clear difference, also after allowing for the number "
                              "of pairs compared. Every measure for every pair is in pairwise.csv.")
        if unmeasured:
            lead = (f"The other {unmeasured} pairs cannot" if rows and unmeasured > 1 else
                    "The other pair cannot" if rows else f"None of the {unmeasured} pairs can")
            doc.p(f"{lead} be compared on {what}: under at least one of the two strategies it could not be measured "
                  "(the notes under the ranked table say why). Every measure for every pair is in pairwise.csv.")

    doc.h(1, "Figures")
    fig = km_figure(result)
    signed = len(result.episodes) > 0
    doc.figure("km.png", _png(fig), f"How long agreements hold: the share of agreements still holding, month by month "
                                    f"after signature, under each strategy (dotted line: {span}). These are "
                                    "Kaplan-Meier curves: an agreement still holding when its run ended counts as "
                                    "holding up to then, not as failed; a short upright tick marks each "
                                    "month at which one was." + km_coincide_words(result) if signed else
                                    "How long agreements hold: no agreement was signed in any run under any "
                                    "strategy, so there is no curve to draw.")
    # the ranking measure, or where no strategy can be compared with the baseline on it, the first
    # measure on which one can: an empty figure says nothing
    d = result.differences
    comparable = [m for m in MEASURES if np.isfinite(d.loc[d["measure"] == m, "difference"].to_numpy(float)).any()]
    shown = spec.rank_by if spec.rank_by in comparable or not comparable else comparable[0]
    fig = differences_figure(result, shown)
    instead = ("" if shown == spec.rank_by else
               f" (shown instead of {rank.text(h)}, on which no strategy could be compared with the baseline)")
    side = "right" if MEASURES[shown].higher_is_better else "left"
    doc.figure("differences.png", _png(fig), f"{_upper(MEASURES[shown].text(h))}{instead}: each strategy minus "
                                             f"'{tbase}' ({side} of zero: the strategy does better than the "
                                             f"baseline). Thick bar: the 95% interval of the paired comparison (the "
                                             "same seeds); thin line: the interval that runs on seeds of their own "
                                             "would have given, wider except where pairing gains nothing (then it "
                                             "lies under the thick bar); where a strategy's value was the same in "
                                             "every re-draw, both allow for its exact bound.")
    fig = measures_figure(result)
    doc.figure("measures.png", _png(fig), "Every measure for every strategy: the estimate (dot) with its 95% "
                                          "interval (bar).")

    doc.h(1, "When the ranking would change")
    if spec.conditions:
        doc.p(f"Conditions the policy maker does not control were drawn from the ranges below: {spec.worlds} worlds, "
              f"spread evenly over the ranges (a Latin hypercube sample: each range is cut into {spec.worlds} equal "
              "slices, and each slice is used once).")
        doc.table(["condition", "range explored"],
                  [[c.label, _range_words(c)] for c in spec.conditions])
    elif not ranked:  # a ranking says so itself, with what follows from it (below)
        doc.p("No uncertain conditions were sampled.")
    if not ranked:
        doc.p(f"The strategies could not be ranked by {what} (see the answer in short), so there is no ranking whose "
              "changes could be traced across the worlds.")
    else:
        if spec.conditions:
            search = ("" if spec.worlds < MIN_WORLDS_DISCOVERY else
                      " A search for shared conditions looks for ranges of the conditions in which the worlds where "
                      "it did not do better are concentrated. The search is PRIM (the Patient Rule Induction Method, "
                      "as used in scenario discovery); for each range it finds (a 'box') it gives the share of the "
                      "worlds inside the box in which the best strategy did not do better (the box's density) and the "
                      "share of all such worlds that lie inside it (its coverage).")
            doc.p(f"In each world we asked whether {tb} did better than the runner-up, {tr}, on {what}.{search}")
        doc.ul(box_sentences(result) + trend_sentences(result))
        if spec.conditions and len(result.trends) and _enough_worlds(result):
            several = _finite(result.trends["p"]) > 1  # (with one condition there is nothing to adjust for)
            doc.table(["condition", f"rank correlation with the lead of {tb}", "p, adjusted" if several else "p"],
                      [[r["meaning"], f"{r['rank_correlation']:+.2f}" if math.isfinite(float(r["rank_correlation"]))
                        else "-", _p_words(float(r["p_holm"]))]
                       for _, r in result.trends.iterrows()],
                      caption=f"Across the worlds: how the lead of {tb} over {tr} ({rank.text(h)}) moves with each "
                              "condition. Rank correlation (Spearman's), from -1 to +1: positive, the lead grows as "
                              "the condition rises; near 0, no steady relation. "
                              + ("p, adjusted" if several else "p") + ": how surprising a "
                              "correlation this strong would be if the condition made no difference"
                              + (f", adjusted for {_conditions(result.trends)} examined (Holm's correction)"
                                 if several else " (only one condition could be examined, so there is nothing to adjust for)")
                              + "; below 0.05 reads as clear. '-': not computable.")
        fig = worlds_figure(result)
        if fig is not None:
            unseen = int((~result.worlds["measured"].astype(bool)).sum())
            doc.figure("worlds.png", _png(fig), f"Each point is a world: blue where {tb} did better than {tr}, red "
                                                "crosses where it did not"
                                                + ("; the dashed rectangle is the first box found." if result.boxes
                                                   else ".")
                                                + ("" if not unseen else
                                                   f" {'The one world' if unseen == 1 else f'The {unseen} worlds'} in "
                                                   f"which the two could not be compared on {what} "
                                                   f"{'is' if unseen == 1 else 'are'} not shown."))

    doc.h(1, "How fast agreements break down: hazard ratios")
    doc.p(f"How fast agreements relapse under each strategy, compared with '{tbase}'. A hazard ratio below 1 means "
          "that agreements under the strategy relapse more slowly (0.5: at half the rate, on average over the "
          "years after signature, taking the ratio as the same at every time); above 1, faster. It comes from a Cox model of relapse over all agreements, with standard "
          "errors clustered by seed (agreements that share a seed are not independent)"
          + (" and a baseline rate of its own in every world, so that strategies are compared within worlds. "
             if spec.worlds > 1 else ". ")
          + _hazard_p_words(_finite(result.hazard["p"]) if len(result.hazard) else 0))
    base_eps = result.episodes[result.episodes["strategy"] == spec.baseline]
    doc.p(f"Each ratio rests on the agreements and relapses under the strategy (in the table) and under "
          f"'{tbase}': {len(base_eps)} agreement{'s' if len(base_eps) != 1 else ''}, "
          f"{int(base_eps['relapsed'].sum())} of them relapsed.")
    rows = []
    for _, r in result.hazard.iterrows():
        cell, note = _hazard_cells(r)
        agreements = f"{int(r['n_agreements'])}" if "n_agreements" in r else "-"
        relapses = f"{int(r['n_relapses'])}" if "n_relapses" in r else "-"
        rows.append([spec.strategy(r["strategy"]).title, agreements, relapses, cell,
                     _p_words(float(r["p_holm"])), note])
    doc.table(["strategy", "agreements", "relapses", "hazard ratio (95% interval)", "p, adjusted", "note"], rows,
              caption="Agreements and relapses under each strategy; the hazard ratio against the baseline with its "
                      "95% interval. A ratio is given only with its interval: where none could be computed (too few "
                      "seeds with agreements under both strategies for clustered standard errors, or no relapse at "
                      "all), the point estimate is in the note, marked as such, because a ratio from so few "
                      "independent cases can be far off and is not a finding. 'Not estimable': too few agreements or "
                      "relapses for any ratio.")

    doc.h(1, "Caveats")
    doc.ul([
        "peacesim is an illustrative model of how peace processes work, built from the mechanisms in the "
        "literature and the source documents; it is not a forecast of any real conflict, and its scenario values "
        "are illustrative.",
        "The intervals cover the model's own randomness and the ranges of conditions explored. They do not cover "
        "whether the model's rules are right, nor conditions outside those ranges." if spec.conditions else
        "The intervals cover the model's own randomness in the scenario as written. They do not cover whether the "
        "model's rules are right, nor other conditions than the scenario's.",
        "A strategy here is a set of changes to the model's settings chosen to express a recommendation; each is "
        "listed above with its source. Another way of expressing the same recommendation could give another answer.",
        f"The conditions under which the ranking changes are read from {spec.worlds} sampled worlds with "
        f"{spec.seeds} seeds each; a range of conditions found there (a box) describes those worlds and is a pointer "
        "to where to look, not a law." if spec.conditions else
        "No uncertain conditions were varied: the comparison holds for the scenario as written, and under which "
        "conditions the answer would change was not explored.",
    ] + ([  # (without a runner-up the report names neither)
        "The best strategy and the runner-up are picked from these same runs, which makes the gap between them look "
        "a little larger than it is; the comparisons with the baseline, fixed in advance, do not have this problem.",
    ] if ranked else []) + [
        f"{result.n_failed} of {spec.n_runs:,} runs failed." if result.n_failed else
        f"All {spec.n_runs:,} runs finished.",
    ])

    doc.h(1, "Methods in brief")
    doc.p("The technical names of what this report says in plain words, each explained once; docs/COMPARE.md gives "
          "the details and the references.")
    methods = [
        "Like for like: common random numbers. Every strategy runs on the same seeds in every world, so each "
        "comparison is paired within a world and a seed (a block)." if spec.worlds > 1 else
        "Like for like: common random numbers. Every strategy runs on the same seeds, so each comparison is paired "
        "within a seed (a block).",
        (f"Re-draws: bootstrap resamples. The pigeonhole bootstrap (Owen 2007) draws the worlds and the seeds again, "
         f"independently and with replacement, keeping every combination, {spec.bootstrap:,} times; " if spec.worlds > 1
         else f"Re-draws: bootstrap resamples. The bootstrap draws the seeds again, with replacement, "
              f"{spec.bootstrap:,} times (the pigeonhole bootstrap of docs/COMPARE.md, with no worlds to draw again, is this ordinary "
              "bootstrap over seeds); ")
        + "a 95% interval is the percentile interval of these resamples (their middle 95%), and the share of first "
          "places is counted over them.",
        "p: the bootstrap p-value that goes with the percentile interval, twice the smaller share of resamples on "
        "either side of zero (with the usual +1 correction), and never below 2 / 2^n for n runs of each strategy, "
        "the least that a sign-flip test over them could give: a handful of runs cannot make a difference clear.",
        "Allowing for the number of comparisons made: Holm's correction of the p-values (Holm 1979) within each "
        "family of comparisons (the strategies against the baseline on one measure; all the pairs; the conditions; "
        "the hazard ratios). 'p, adjusted' is the corrected p-value; a difference is clear when it is below 0.05 and "
        "the interval excludes zero.",
        f"The average months an agreement holds in its first {span}: the restricted mean survival time (RMST), the "
        f"area under the Kaplan-Meier curve up to {span}; the share of agreements still holding after {span} is read "
        "from the same curve.",
        "Kaplan-Meier curve: the share of agreements still holding over time, in which an agreement still holding "
        "when its run or its follow-up ended is censored (counted as holding up to then) rather than failed.",
        "Hazard ratio: from a Cox proportional-hazards model of relapse, the ratio of the rate at which agreements "
        "relapse under a strategy to the rate under the baseline, taken as constant over time; its standard errors "
        "are clustered by seed and need agreements under both strategies in enough seeds.",
        "A share of 0% or 100% gets an exact bound instead of a resampled interval, counting the seeds "
        + ("(or the worlds, where there are fewer) " if spec.worlds > 1 else "") + "as the independent cases. Where no agreement relapsed, the average months "
        "held get the bound that follows from the share's: at least the months of the horizon times the lowest "
        "share (the curve never falls below its value at the horizon).",
    ]
    if spec.conditions:
        methods += [
            "The worlds: a Latin hypercube sample of the ranges of the uncertain conditions (McKay, Beckman & "
            "Conover 1979).",
            "The search for shared conditions: PRIM, the Patient Rule Induction Method (Friedman & Fisher 1999), as "
            "used in scenario discovery (Bryant & Lempert 2010), which reports boxes with their density and "
            "coverage; the trends are Spearman's rank correlations across the worlds.",
        ]
    doc.ul(methods)

    doc.h(1, "How to reproduce this report")
    doc.code(result.command or f"peacesim compare {spec.ref}")
    prov = result.provenance
    commit = str(prov.get("git_commit", "?"))[:12] + (" with uncommitted changes to peacesim"
                                                       if prov.get("git_dirty") else "")
    digest = f" (SHA-256 {prov['comparison_sha256'][:16]})" if prov.get("comparison_sha256") else ""
    scen = f"; scenario '{prov['scenario']}'" if prov.get("scenario") else ""
    doc.p(f"{spec.n_runs:,} runs ({len(spec.strategies)} strategies x {_n(spec.worlds, 'world')} x {spec.seeds} seeds), "
          f"master seed {spec.master_seed}, {spec.bootstrap:,} bootstrap resamples; peacesim "
          f"{prov.get('peacesim_version', '?')}, commit {commit}; comparison file "
          f"{prov.get('comparison_file') or spec.path}{digest}{scen}. The runs are stored in {prov.get('runs_folder', 'runs/')}; the numbers in this report are in "
          "summary.csv, differences.csv, pairwise.csv, hazard_ratios.csv, worlds.csv, boxes.csv, trends.csv and "
          "comparison.json beside it. "
          "The method is described in docs/COMPARE.md.")
    return doc


def _p_words(p: float) -> str:
    """A p-value as a reader takes it in: '0.012', '< 0.001', '-' where there is none."""
    if not math.isfinite(p):
        return "-"
    return "< 0.001" if p < 0.001 else f"{p:.2g}" if p < 0.01 else f"{p:.2f}"


def _diff_cell(result: ComparisonResult, s: str, m: str) -> str:
    return _pair_cell(m, result.difference(s, m))


def _pair_cell(measure: str, r: pd.Series) -> str:
    """One pair's difference as a cell: signed, with its interval and ✓ when clear."""
    if not math.isfinite(float(r["difference"])):
        return "not measurable"
    if r["note"] and float(r["difference"]) == 0.0:
        return "none (the same in every run)"
    unit = MEASURES[measure].unit
    scale = 100 if unit == "share" else 1
    dec = 0 if unit == "share" else (1 if unit == "months" else 3)
    mark = " ✓" if bool(r["clear"]) else ""
    return (f"{_signed(scale * r['difference'], dec)} ({_signed(scale * float(r['low']), dec)} to "
            f"{_signed(scale * float(r['high']), dec)}){mark}")


def _pairing_gain(result: ComparisonResult) -> str:
    """How much narrower the paired interval is than the unpaired one, for the best strategy."""
    spec = result.spec
    if result.best is None or result.best == spec.baseline:
        return ""
    r = result.difference(result.best, spec.rank_by)
    w, wu = float(r["high"] - r["low"]), float(r["unpaired_high"] - r["unpaired_low"])
    if not (math.isfinite(w) and math.isfinite(wu)) or w <= 0 or r.get("bound"):
        return ""  # (an interval widened to an exact bound says nothing of what pairing bought)
    own = fmt_interval(spec.rank_by, r["unpaired_low"], r["unpaired_high"], difference=True)
    between = f"the 95% interval of the difference between {spec.strategy(result.best).called} and the baseline"
    if round(wu / w, 1) > 1.0:
        return (f"Because every strategy ran on the same seeds, {between} is {wu / w:.1f} times narrower than if "
                f"each strategy had run on seeds of its own ({own}).")
    # pairing gains nothing where the two strategies' runs on the same seed soon stop being alike;
    # 'narrower' would then claim a gain that is not there
    return (f"Every strategy ran on the same seeds, but here that did not narrow {between}: it is "
            f"{'about as wide as' if round(wu / w, 1) == 1.0 else 'wider than'} if each strategy had run on seeds of "
            f"its own ({own}), because the two strategies' runs on the same seed did not stay alike.")


def report_files(result: ComparisonResult) -> dict[str, str | bytes]:
    """The figures (``figures/*.png``), ``report.md`` and ``report.html``, by relative file name."""
    doc = build_document(result)
    files: dict[str, str | bytes] = {f"figures/{name}": png for name, png in doc.figures.items()}
    files["report.md"] = doc.markdown()
    files["report.html"] = doc.html()
    return files


def write_report(result: ComparisonResult, out: Path) -> list[Path]:
    """Write ``figures/*.png``, ``report.md`` and ``report.html`` into ``out`` (atomically, each)."""
    from .comparison import write_outputs

    return write_outputs(Path(out), report_files(result), replace=False)
