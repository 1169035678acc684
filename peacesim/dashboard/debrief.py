"""The debrief of a classroom session: one self-contained HTML file (figures inline as data URIs,
no external link or resource) and the scenario file that re-runs the session exactly.

It holds the scenario (title, description, learning points), the parameters changed and the
seed, the facilitator's interventions with their months, the narrative, the timeline of the run
beside the same seed without the facilitator's interventions, where the run stands among many
seeds, the network at the last month and the command that re-runs it.
"""

from __future__ import annotations

import html
from typing import Any

from ..narrative import render, summary
from ..result import RunResult
from .figures import data_uri, network_svg, spread_svg, timeline_svg
from .session import Export, ClassroomModel, counterfactual, params_changed, replay_command, replay_toml, rerun_folder, spread

__all__ = ["debrief_html", "REPLAY_NAME"]

#: The name the re-run file is offered under (and the command in the debrief uses).
REPLAY_NAME = "peacesim-session.toml"

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;max-width:1200px;margin:1.5em auto;
padding:0 1em;color:#212121;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em} h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse} td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
.pair{display:flex;gap:1em;flex-wrap:wrap} .pair figure{flex:1 1 520px;margin:0}
img{max-width:100%;height:auto;border:1px solid #eee} figcaption{font-size:.9em;color:#555}
.iv{color:#ad1457;font-weight:600} pre{background:#f6f8fa;padding:.8em;overflow-x:auto;font-size:.85em}
.big{font-size:1.3em}
"""


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _lines(text: str) -> str:
    """Text of several lines (a run's summary) as HTML lines: in a paragraph they ran together."""
    return "<br>".join(_e(line.strip()) for line in text.splitlines() if line.strip())


def _args(x: dict[str, Any]) -> str:
    return ", ".join(f"{k} = {v}" for k, v in x.items() if k not in ("month", "kind"))


def debrief_html(model: ClassroomModel, *, with_spread: bool = True, export: Export | None = None) -> str:
    """The debrief of the session whose model is ``model`` (at its current month), as HTML text;
    ``export`` names its re-run file and the scenario's name in it (an export's number), by
    default the first export's."""
    scen = model.base_scenario
    result = RunResult.from_model(model)
    other = counterfactual(model)
    replay_name = export.replay_name if export is not None else REPLAY_NAME
    toml_text = replay_toml(model, filename=replay_name, name=export.scenario_name if export is not None else None)
    folder = export.folder if export is not None else rerun_folder(scen.name, model.seed)
    cmd = replay_command(replay_name, model.seed)
    changed = params_changed(scen, model.overrides)
    events = result.events
    horizon = result.months if result.reached_horizon else None  # a session played to its end
    lines = render(events, horizon=horizon)
    iv_lines = render(events, kinds={"intervention"}, horizon=horizon)

    out: list[str] = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
                      f"<title>Debrief: {_e(scen.title)} (seed {model.seed})</title>",
                      f"<style>{_STYLE}</style></head><body>"]
    out.append(f"<h1>Debrief: {_e(scen.title)}</h1>")
    out.append(f'<p class="big">Seed {model.seed}, month {model.month} of {model.months}; phase now: '
               f"<b>{_e(model.phase.label)}</b>.</p>")
    out.append(f"<p>{_lines(summary(result))}</p>")
    out.append(f"<h2>The scenario</h2><p>{_e(scen.description)}</p>")
    if scen.learning_points:
        out.append("<p><b>Learning points</b></p><ul>" + "".join(f"<li>{_e(p)}</li>" for p in scen.learning_points)
                   + "</ul>")
    if scen.note:
        out.append(f"<p><i>{_e(scen.note)}</i></p>")
    out.append("<h2>Settings</h2>")
    out.append(f"<p>Scenario <code>{_e(scen.name)}</code>, seed <b>{model.seed}</b>.</p>")
    if changed:
        out.append("<table><tr><th>parameter</th><th>scenario's value</th><th>this session</th></tr>"
                   + "".join(f"<tr><td>{_e(k)}</td><td>{_e(a)}</td><td>{_e(b)}</td></tr>" for k, (a, b) in changed.items())
                   + "</table>")
    else:
        out.append("<p>All parameters as the scenario sets them.</p>")
    out.append("<h2>Interventions of the facilitator</h2>")
    if model.facilitator:
        out.append("<table><tr><th>month</th><th>intervention</th><th>arguments</th></tr>"
                   + "".join(f"<tr><td>{x['month']}</td><td class=\"iv\">{_e(x['kind'])}</td><td>{_e(_args(x))}</td></tr>"
                             for x in model.facilitator) + "</table>")
    else:
        out.append("<p>None: the run went as the scenario plans it.</p>")
    if iv_lines:
        out.append("<ul>" + "".join(f"<li>{_e(s)}</li>" for s in iv_lines) + "</ul>")

    n = len(model.facilitator)
    fig_a = timeline_svg(result, title=f"Our run (seed {model.seed}, {n} intervention{'' if n == 1 else 's'})")
    fig_b = timeline_svg(other, title="Same seed, without our interventions")
    out.append("<h2>What if we had not intervened?</h2>")
    out.append(f"<p>The same scenario, parameters and seed without the facilitator's interventions, to month "
               f"{model.month}:<br>{_lines(summary(other))}</p>")
    ov, rv = other.outcome, result.outcome

    def count(r: RunResult, kind: str) -> int:  # so far, including an agreement still in force
        ev = r.events
        return int((ev["kind"] == kind).sum()) if len(ev) else 0
    out.append("<table><tr><th></th><th>our run</th><th>without our interventions</th></tr>"
               f"<tr><td>total violence</td><td>{rv['total_violence']:.1f}</td><td>{ov['total_violence']:.1f}</td></tr>"
               f"<tr><td>agreements signed</td><td>{count(result, 'signed')}</td><td>{count(other, 'signed')}</td></tr>"
               f"<tr><td>relapses</td><td>{count(result, 'relapse')}</td><td>{count(other, 'relapse')}</td></tr>"
               f"<tr><td>phase at month {model.month}</td><td>{_e(model.phase.label)}</td>"
               f"<td>{_e(other.series['phase'].iloc[-1] if len(other.series) else 'conflict')}</td></tr></table>")
    out.append('<div class="pair">'
               f'<figure><img alt="timeline of our run" src="{data_uri(fig_a)}"><figcaption>Our run.</figcaption></figure>'
               f'<figure><img alt="timeline without our interventions" src="{data_uri(fig_b)}">'
               "<figcaption>Without our interventions.</figcaption></figure></div>")
    if with_spread and model.month:
        sp = spread(scen, model.overrides)
        st = sp.standing(result)
        fig_s = spread_svg(sp, result, title=f"Where does our run stand? {sp.n} seeds of {scen.name}")
        out.append("<h2>Where does our run stand?</h2>")
        out.append(f"<p>By month {st['month']}, {st['less_violent_share']:.0%} of {sp.n} runs of the same scenario "
                   f"(without our interventions) had seen less violence than ours; {st['in_force_share']:.0%} had an "
                   f"agreement in force then, and ours {'did' if st['in_force'] else 'did not'}.</p>")
        out.append(f'<figure><img alt="spread over many seeds" src="{data_uri(fig_s)}"></figure>')
    fig_n = network_svg(model.network(), title=f"The actors at month {model.month}")
    out.append(f'<h2>The actors at month {model.month}</h2><figure><img alt="actor network" '
               f'src="{data_uri(fig_n)}"></figure>')
    out.append("<h2>What happened</h2><ol>" + "".join(
        f"<li{' class=\"iv\"' if 'Intervention' in s else ''}>{_e(s)}</li>" for s in lines) + "</ol>")
    out.append("<h2>Run it again</h2>")
    out.append(f"<p>Save the scenario file below as <code>{_e(replay_name)}</code> (the dashboard offers it for download "
               f"beside this report) and run:</p><pre>{_e(cmd)}</pre>"
               f"<p>It gives the same run, month for month, to the horizon, and writes it into "
               f"<code>{_e(folder)}</code>.</p>")
    out.append(f"<details><summary>{_e(replay_name)}</summary><pre>{_e(toml_text)}</pre></details>")
    out.append("</body></html>")
    return "\n".join(out)
