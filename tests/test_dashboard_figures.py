"""The dashboard's live figures, written directly as SVG: what they show must follow the run."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from peacesim.dashboard.session import ClassroomModel, model_kwargs, spread
from peacesim.dashboard.figures import Canvas, Panel, marker_path, network_svg, nice_ticks, spread_svg, timeline_svg
from peacesim.plotting import INTERVENTION_COLOUR, PHASE_COLOURS
from peacesim.result import RunResult
from peacesim.scenario import list_scenarios, load_scenario

NS = "{http://www.w3.org/2000/svg}"


def parse(svg: bytes) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, or this raises


def by_id(root: ET.Element, ident: str) -> ET.Element | None:
    return next((e for e in root.iter() if e.get("id") == ident), None)


def path_points(d: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in re.findall(r"[ML](-?[\d.]+),(-?[\d.]+)", d)]


@pytest.fixture(scope="module")
def stepped():
    m = ClassroomModel(**model_kwargs(load_scenario("reference"), 4))
    for _ in range(30):
        m.step()
    m.intervene("cut_funding", actor=m.scenario_spec.actors["mediator"][0]["name"])
    for _ in range(10):
        m.step()
    return m


def test_nice_ticks_are_round_and_cover_the_range():
    assert nice_ticks(0, 1, 5) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0, 240, 12, integer=True) == list(range(0, 241, 20))
    assert nice_ticks(0, 3, 4, integer=True) == [0, 1, 2, 3]
    assert nice_ticks(0, 0.336, 4) == [0, 0.1, 0.2, 0.3]
    assert nice_ticks(1, 1) == [1]


def test_a_panel_maps_data_to_its_box_and_breaks_lines_at_nan():
    c = Canvas(100, 100)
    p = Panel(c, (10, 20, 80, 60), (0, 8), (0, 1))
    assert (p.X(0), p.X(8), p.Y(0), p.Y(1)) == (10, 90, 80, 20)
    p.line([1, 2, 3, 4, 5], [0.5, 0.5, np.nan, 1.0, 1.0], "#000000", gid="l")
    d = by_id(parse(c.to_bytes()), "l").get("d")
    assert d.count("M") == 2 and len(path_points(d)) == 4  # two pieces, the NaN month left out
    assert path_points(d)[0] == (20.0, 50.0)


def test_markers_are_closed_shapes_of_their_kind():
    assert marker_path("s", 0, 0, 1).endswith("Z") and marker_path("^", 0, 0, 1).count("L") == 2
    assert marker_path("h", 0, 0, 1).count("L") == 5 and marker_path("*", 0, 0, 1).count("L") == 9
    assert "a" in marker_path("o", 0, 0, 1)


def test_the_timeline_follows_the_run(stepped):
    r = RunResult.from_model(stepped)
    root = parse(timeline_svg(r, title="reference, seed 4"))
    # one curve per series, one ripeness curve per party, ending at the model's month
    for ident in ("violence", "trust_parties", "mediators_active", *(f"ripeness:{p}" for p in r.parties)):
        assert by_id(root, ident) is not None, ident
    xs = [x for x, _ in path_points(by_id(root, "violence").get("d"))]
    assert len(xs) == stepped.month == 40 and xs == sorted(xs)
    # the facilitator's intervention: a line at the start of month 31, named in the first panel
    line = by_id(root, "intervention:31")
    assert line is not None and line.get("stroke") == INTERVENTION_COLOUR
    labels = [e.text for e in root.iter(f"{NS}text") if e.get("class") == "intervention-label"]
    assert labels and "cut funding" in labels[0]
    # the phase bands: the colours of the phases the run went through, and no other
    fills = {e.get("fill") for e in root.iter(f"{NS}rect")}
    seen = set(r.series["phase"].astype(str))
    assert {PHASE_COLOURS[p] for p in seen} <= fills
    assert not ({PHASE_COLOURS[p] for p in PHASE_COLOURS if p not in seen} & fills)
    # the y-axis of violence covers the run's worst month: no point above the first panel's top
    top = min(float(e.get("y")) for e in root.iter(f"{NS}rect") if e.get("fill") in PHASE_COLOURS.values())
    assert min(y for _, y in path_points(by_id(root, "violence").get("d"))) >= top


def test_the_timeline_draws_an_agreement_and_implementation_where_there_was_one():
    from peacesim import run_scenario

    r = next(r for seed in range(1, 60) if len((r := run_scenario("contact_group", seed=seed)).episodes))
    root = parse(timeline_svg(r))
    impl = by_id(root, "implementation")
    assert impl is not None
    months_in = int((r.series["phase"].astype(str) == "implementation").sum())
    assert len(path_points(impl.get("d"))) == months_in  # drawn only in implementation
    assert any(e.get("stroke") == "#1a7f37" for e in root.iter(f"{NS}path"))  # agreement signed


def test_the_network_shows_every_actor_in_its_kind_and_greys_the_unfunded(stepped):
    g = stepped.network()
    root = parse(network_svg(g, title="The actors"))
    nodes = [e for e in root.iter(f"{NS}path") if (e.get("class") or "").startswith("node ")]
    assert len(nodes) == g.number_of_nodes()
    cut = stepped.scenario_spec.actors["mediator"][0]["name"]
    node = next(e for e in nodes if e.find(f"{NS}title").text.startswith(cut + ":"))
    assert "inactive" in node.get("class") and node.get("fill") == "#bdbdbd"
    kinds = {e.get("class").split()[1] for e in nodes}
    assert {"party", "spoiler", "mediator", "local"} <= kinds
    n_parties = sum(d["kind"] == "party" for _, d in g.nodes(data=True))
    n_third = sum(d["kind"] not in ("party", "spoiler", "local") for _, d in g.nodes(data=True))
    edges = list(by_id(root, "trust-edges"))
    assert len(edges) == n_parties * (n_parties - 1) // 2 + n_parties * n_third


def test_the_spread_draws_the_fan_and_our_run_on_top(stepped):
    sp = spread(stepped.base_scenario, stepped.overrides)
    root = parse(spread_svg(sp, RunResult.from_model(stepped)))
    assert len(path_points(by_id(root, "our-run").get("d"))) == stepped.month
    assert len(path_points(by_id(root, "median").get("d"))) == len(sp.months)
    assert by_id(root, "in-force") is not None
    bare = parse(spread_svg(sp))
    assert by_id(bare, "our-run") is None


def test_the_figures_reference_nothing_outside_themselves(stepped):
    r = RunResult.from_model(stepped)
    for svg in (timeline_svg(r), network_svg(stepped.network()),
                spread_svg(spread(stepped.base_scenario, stepped.overrides), r)):
        text = svg.decode("utf-8")
        assert re.findall(r"https?://[^\"']+", text) == ["http://www.w3.org/2000/svg"]
        assert "<script" not in text and "@import" not in text and "href=" not in text


@pytest.mark.parametrize("name", [p.stem for p in list_scenarios()])
def test_every_shipped_scenario_draws_at_month_0_partway_and_at_its_horizon(name):
    m = ClassroomModel(**model_kwargs(load_scenario(name), 3))
    for month in (0, m.months // 2, m.months):
        while m.month < month:
            m.step()
        r = RunResult.from_model(m)
        tl = parse(timeline_svg(r, title=name))
        nw = parse(network_svg(m.network()))
        assert (by_id(tl, "violence") is not None) == (month > 0)
        assert len([e for e in nw.iter(f"{NS}path") if (e.get("class") or "").startswith("node ")]) \
            == m.network().number_of_nodes()
        if month:
            assert len(path_points(by_id(tl, "violence").get("d"))) == month


def test_parties_whose_names_give_one_slug_keep_their_own_curves():
    from peacesim.dashboard.session import load_upload
    from peacesim.plotting import plot_timeline

    text = open(load_scenario("reference").path, encoding="utf-8").read()
    text = text.replace("the armed group", "Армия").replace("the splinter faction", "Войско")
    m = ClassroomModel(**model_kwargs(load_upload("cyrillic.toml", text.encode()), 2))
    for _ in range(30):
        m.step()
    r = RunResult.from_model(m)
    root = parse(timeline_svg(r))
    a, b = (path_points(by_id(root, f"ripeness:{n}").get("d")) for n in ("Армия", "Войско"))
    assert a != b  # two series, not the first one twice
    fig = plot_timeline(r)
    lines = {ln.get_gid(): ln.get_ydata() for ax in fig.axes for ln in ax.get_lines() if ln.get_gid()}
    assert not np.array_equal(lines["ripeness:Армия"], lines["ripeness:Войско"])


def test_interventions_of_one_month_make_one_line_and_a_label_that_fits_the_panel():
    m = ClassroomModel(**model_kwargs(load_scenario("reference"), 1))
    names = m.scenario_spec.actors["mediator"]
    m.step()
    m.intervene("rotate", actor=names[0]["name"])
    m.intervene("pressure", party="the armed group")
    m.intervene("incentives", party="the government")
    m.intervene("attack")
    m.intervene("set", name="post_signature_support", value=0.9)
    for _ in range(12):
        m.step()
    root = parse(timeline_svg(RunResult.from_model(m)))
    assert [e.get("id") for e in root.iter() if e.get("id") == "intervention:2"] == ["intervention:2"]
    label = next(e.text for e in root.iter(f"{NS}text") if e.get("class") == "intervention-label")
    assert label.endswith("…") and len(label) < 30
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids))  # every id once


def test_no_tick_outside_the_panel():
    c = Canvas(200, 100)
    p = Panel(c, (20, 10, 160, 60), (0.5, 12.5), (0, 1))
    p.frame(xticks=nice_ticks(0, 12, 6, integer=True), yticks=[0, 1])
    xs = [float(e.get("x")) for e in parse(c.to_bytes()).iter(f"{NS}text")]
    assert xs and min(xs) >= 20 - 8 and "0" not in [e.text for e in parse(c.to_bytes()).iter(f"{NS}text")
                                                    if float(e.get("y")) > 70]


def label_boxes(svg: bytes) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Each actor's label in the network and the box it covers, from the SVG's own text elements
    (their place, anchor, size and lines; the width of DejaVu Sans estimated on the wide side)."""
    from peacesim.dashboard.figures import label_box

    out = []
    for e in parse(svg).iter(f"{NS}text"):
        if e.get("class") != "node-label":
            continue
        lines = [t.text for t in e.iter(f"{NS}tspan")] or [e.text]
        out.append(("\n".join(lines), label_box(float(e.get("x")), float(e.get("y")), "\n".join(lines),
                                                float(e.get("font-size")), e.get("text-anchor"))))
    return out


@pytest.mark.parametrize("name", [p.stem for p in list_scenarios()])
def test_no_two_labels_of_the_network_overlap(name):
    """Mediators' names were written over each other in contact_group, myanmar_support_org and
    crowded_field."""
    m = ClassroomModel(**model_kwargs(load_scenario(name), 1))
    for month in (0, 240):
        while m.month < month and m.running:
            m.step()
        g = m.network()
        svg = network_svg(g, title=f"The actors at month {m.month}")
        boxes = label_boxes(svg)
        assert len(boxes) == sum(d["kind"] != "local" for _, d in g.nodes(data=True))
        for i, (a, ba) in enumerate(boxes):
            assert 0 <= ba[0] and ba[2] <= 605 and ba[3] <= 535, (name, month, a, ba)  # off the bar and legend
            for b, bb in boxes[i + 1:]:
                w = min(ba[2], bb[2]) - max(ba[0], bb[0])
                h = min(ba[3], bb[3]) - max(ba[1], bb[1])
                assert w <= 0 or h <= 0, (name, month, a, b)


def test_the_threshold_in_the_live_timeline_follows_a_set_intervention():
    """A facilitator who lowers the ripeness threshold at month 25 sees the dashed line drop there,
    and its legend says so; before, it stayed at the start value over the whole run."""
    m = ClassroomModel(**model_kwargs(load_scenario("reference"), 4))
    for _ in range(24):
        m.step()
    m.intervene("set", name="ripeness_threshold", value=0.3)
    for _ in range(6):
        m.step()
    svg = timeline_svg(RunResult.from_model(m))
    root = parse(svg)
    line = by_id(root, "ripeness_threshold")
    pts = path_points(line.get("d"))
    ys = sorted({round(y, 2) for _, y in pts})
    assert len(ys) == 2  # two heights: the start value, then 0.3 from month 25
    xs = [x for x, _ in pts]
    assert len(pts) == 4 and xs[1] == xs[2] and min(xs) < xs[1] < max(xs)
    start = m.start_params["ripeness_threshold"]
    # the legend's entry on two lines, the values on the second (the same width as the others)
    assert ">ripeness threshold<" in svg.decode() and f">({start:.2f}, 0.30 from month 25)<" in svg.decode()
    # without a set intervention: one straight line at the start value, as before
    plain = parse(timeline_svg(RunResult.from_model(ClassroomModel(**model_kwargs(load_scenario("reference"), 4)))))
    assert by_id(plain, "ripeness_threshold").get("d").count("h") == 1


def test_labels_of_interventions_in_near_months_are_not_written_over_each_other():
    """As in timeline.png: the dashboard's timeline gives interventions a few months apart one label."""
    m = ClassroomModel(**model_kwargs(load_scenario("reference"), 3))
    for month, (kind, args) in {23: ("rotate", {"actor": "UN envoy"}), 24: ("attack", {}),
                                26: ("withdraw", {"actor": "the mediation NGO"}),
                                119: ("attack", {})}.items():
        while m.month < month:
            m.step()
        m.intervene(kind, **args)
    for _ in range(10):
        m.step()
    root = parse(timeline_svg(RunResult.from_model(m)))
    labels = [e for e in root.iter(f"{NS}text") if e.get("class") == "intervention-label"]
    xs = sorted(float(e.get("x")) for e in labels)
    assert len(xs) == 2 and xs[1] - xs[0] > 13, [e.text for e in labels]
    assert labels[0].text.startswith("rotate: UN envoy, a"), labels[0].text  # and the rest, as far as it fits


def test_a_long_party_name_stays_inside_the_live_timeline(tmp_path):
    """A party's name goes on several lines of the legend, as in timeline.png: a long one (names
    may be 200 characters) ran past the right edge of the page's timeline."""
    import re

    from peacesim import run_scenario
    from peacesim.dashboard.figures import text_width
    from peacesim.scenario import resolve_scenario

    text = resolve_scenario("reference").read_text(encoding="utf-8")
    long = "the " + " ".join(["armed"] * 32)
    path = tmp_path / "long.toml"
    path.write_text(text.replace('"the armed group"', f'"{long}"'), encoding="utf-8")
    svg = timeline_svg(run_scenario(path, seed=1, months=24), title="long").decode()
    width = float(re.search(r'viewBox="0 0 ([\d.]+)', svg).group(1))
    texts = []  # (x, size, line) of every line of text, one line or several (tspans)
    for x, size, body in re.findall(r'<text x="([\d.]+)"[^>]*font-size="([\d.]+)"[^>]*>(.*?)</text>', svg):
        texts += [(float(x), float(size), t) for t in (re.findall(r"<tspan[^>]*>([^<]*)</tspan>", body) or [body])]
    assert any(t.startswith("the armed armed") for _, _, t in texts)
    for x, size, t in texts:
        assert x + text_width(t, size) <= width, t
