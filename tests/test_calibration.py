"""Calibration by iterated history matching (peacesim.calibration, ``peacesim calibrate``).

The arithmetic (implausibility, the NROY rule, the region) is checked on hand-computed numbers,
the wave sampler on its properties (inside the ranges, deterministic, near the points not ruled
out), and one small real calibration end to end: through the command, then again from Python with
the same arguments, which must reuse every stored run.
"""

from __future__ import annotations

import math
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from peacesim import analysis
from peacesim.calibration import (
    DEFAULT_RANGES,
    DEFAULT_TARGETS,
    CalibrationTarget,
    calibrate,
    evaluate,
    first_wave,
    implausibility,
    next_wave,
    not_ruled_out,
    region,
    share_floor,
)
from peacesim.cli import main
from peacesim.errors import InputError
from peacesim.params import REGISTRY
from peacesim.validation import Estimate, proportion

# A small calibration: two parameters that move the share reaching agreement and the months of
# talks, two waves of five points, 8 then 16 replicates (120 runs of the reference scenario).
SMALL = {"ripeness_threshold": (0.3, 0.55), "negotiation_rate": (0.1, 0.35)}
SMALL_ARGS = ["--param", "ripeness_threshold:0.3:0.55", "--param", "negotiation_rate:0.1:0.35", "--waves", "2",
              "--points", "5", "--replicates", "8", "--cutoff", "4", "--executor", "serial", "--quiet"]
SMALL_KW = dict(ranges=SMALL, waves=2, points=5, replicates=8, cutoff=4.0, executor="serial")


# ------------------------------------------------------------------------------------ arithmetic
def test_implausibility_on_hand_computed_numbers():
    # |0.43 - 0.33| / sqrt(0.05^2 + 0.03^2 + 0.04^2) = 0.1 / sqrt(0.005)
    assert implausibility(0.43, 0.33, 0.05, 0.03, 0.04) == pytest.approx(0.1 / math.sqrt(0.005))
    # |30 - 18| / sqrt(64 + 16 + 1) = 12 / 9, on either side of z
    assert implausibility(30, 18, 8, 4, 1) == pytest.approx(12 / 9)
    assert implausibility(6, 18, 8, 4, 1) == pytest.approx(12 / 9)
    # the model's own noise widens the denominator: more noise, less implausible
    assert implausibility(0.43, 0.33, 0.05, 0.03, 0.2) < implausibility(0.43, 0.33, 0.05, 0.03, 0.0)


def test_a_target_that_cannot_be_computed_rules_the_point_out():
    assert implausibility(math.nan, 0.33, 0.05, 0.03, 0.04) == math.inf
    assert not not_ruled_out(math.inf)
    # an ensemble sd that cannot be computed counts as no noise
    assert implausibility(0.43, 0.33, 0.05, 0.03, math.nan) == pytest.approx(0.1 / math.sqrt(0.0034))


def test_the_nroy_rule_is_i_max_at_most_the_cutoff():
    assert not_ruled_out(3.0) and not_ruled_out(0.0)
    assert not not_ruled_out(3.0001)
    assert not_ruled_out(3.5, cutoff=4.0) and not not_ruled_out(3.5, cutoff=3.0)


def _fixed_target(key: str, values: dict[int, float], z: float = 0.0) -> CalibrationTarget:
    """A target whose estimate at design point k is values[k], with observation sd 1 and no noise."""
    return CalibrationTarget(key, key, "test", z, 1.0, 0.0,
                             lambda results, where: Estimate(values[where["design_point"]], math.nan, math.nan))


def test_evaluate_takes_the_largest_implausibility_and_applies_the_cutoff():
    runs = pd.DataFrame({"design_point": [0, 0, 1, 1, 2, 2], "x": [0.1, 0.1, 0.2, 0.2, 0.3, 0.3]})
    a = _fixed_target("a", {0: 1.0, 1: -0.5, 2: math.nan})
    b = _fixed_target("b", {0: 12.0, 1: 13.5, 2: 10.0}, z=10.0)
    table, estimates = evaluate(SimpleNamespace(runs=runs), ["x"], [a, b], cutoff=3.0, wave=2)
    assert list(table["design_point"]) == [0, 1, 2] and list(table["x"]) == [0.1, 0.2, 0.3]
    assert list(table["I_a"]) == [1.0, 0.5, math.inf]
    assert list(table["I_b"]) == [2.0, 3.5, 0.0]
    assert list(table["I_max"]) == [2.0, 3.5, math.inf]
    assert list(table["nroy"]) == [True, False, False]
    assert set(table["wave"]) == {2}
    assert estimates[1, "b"].value == 13.5


def test_region_summarises_only_the_points_not_ruled_out():
    table = pd.DataFrame({"x": [0.1, 0.2, 0.3, 0.4, 0.5, 0.9], "nroy": [True] * 5 + [False]})
    r = region(table, {"x": (0.0, 1.0)}).set_index("parameter").loc["x"]
    assert (r["min"], r["median"], r["max"]) == pytest.approx((0.1, 0.3, 0.5))
    assert (r["q05"], r["q95"]) == pytest.approx((0.12, 0.48))
    # the share of the range is that of the 5-95% percentiles printed beside it, not of min to max
    assert r["share_of_range"] == pytest.approx(0.48 - 0.12)


def test_default_ranges_and_targets_are_well_formed():
    for name, (lo, hi) in DEFAULT_RANGES.items():
        p = REGISTRY[name]
        assert p.kind in ("float", "int") and p.low <= lo < hi <= p.high, name
        assert lo <= p.default <= hi, f"{name}: the default {p.default} is outside the range searched"
    assert [(t.z, t.obs_sd, t.disc_sd) for t in DEFAULT_TARGETS] == [
        (0.30, 0.05, 0.03), (0.40, 0.05, 0.03), (0.65, 0.10, 0.05), (18, 8, 4), (0.45, 0.10, 0.05)]


def test_a_share_that_every_replicate_gave_alike_still_counts_as_uncertain():
    """A bootstrap over replicates that all reached an agreement says 0; the floor is the binomial
    standard error at (n + 1/2) / (n + 1), which shrinks as replicates grow."""
    assert share_floor(1.0, 6) == pytest.approx(math.sqrt((6.5 / 7) * (0.5 / 7) / 6))
    assert share_floor(0.0, 6) == pytest.approx(share_floor(1.0, 6))
    assert share_floor(0.5, 100) == pytest.approx(0.05)
    assert share_floor(1.0, 400) < share_floor(1.0, 6)
    assert math.isnan(share_floor(0.5, 0))


# ------------------------------------------------------------------------------------ the sampler
def test_the_first_wave_is_a_latin_hypercube_inside_the_ranges_and_fixed_by_the_seed():
    x = first_wave(DEFAULT_RANGES, 20, seed=7)
    lo = np.array([r[0] for r in DEFAULT_RANGES.values()])
    hi = np.array([r[1] for r in DEFAULT_RANGES.values()])
    assert x.shape == (20, len(DEFAULT_RANGES))
    assert np.all(x >= lo) and np.all(x <= hi)
    strata = np.floor((x - lo) / (hi - lo) * 20).astype(int)
    for column in strata.T:  # one point in each twentieth of every range
        assert sorted(column) == list(range(20))
    assert np.array_equal(x, first_wave(DEFAULT_RANGES, 20, seed=7))
    assert not np.array_equal(x, first_wave(DEFAULT_RANGES, 20, seed=8))


RANGES_2D = {"defection_rate": (0.01, 0.06), "violation_propensity": (0.05, 0.2)}
CLUSTER = np.array([[0.015, 0.19], [0.018, 0.185], [0.014, 0.178], [0.02, 0.195]])  # a corner of the ranges


def test_the_next_wave_stays_inside_the_ranges_and_is_fixed_by_the_seed():
    x = next_wave(CLUSTER, RANGES_2D, 40, seed=3, wave=2)
    assert x.shape == (40, 2)
    assert np.all(x >= [0.01, 0.05]) and np.all(x <= [0.06, 0.2])  # the cluster touches two edges
    assert len({tuple(r) for r in x}) == 40
    assert np.array_equal(x, next_wave(CLUSTER, RANGES_2D, 40, seed=3, wave=2))
    assert not np.array_equal(x, next_wave(CLUSTER, RANGES_2D, 40, seed=3, wave=3))
    assert not np.array_equal(x, next_wave(CLUSTER, RANGES_2D, 40, seed=4, wave=2))


def test_the_next_wave_draws_near_the_points_not_ruled_out():
    x = next_wave(CLUSTER, RANGES_2D, 40, seed=3, wave=2)
    span = np.array([0.05, 0.15])
    u, c = x / span, CLUSTER / span
    nearest = np.sqrt(((u[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
    assert nearest.max() < 0.15  # within 15% of the ranges of an NROY point
    inside_box = np.all((x >= CLUSTER.min(axis=0)) & (x <= CLUSTER.max(axis=0)), axis=1)
    assert inside_box.sum() >= 20  # the uniform half lies in the NROY points' bounding box
    # a uniform design over the ranges would lie much farther away
    uniform = first_wave(RANGES_2D, 40, seed=3) / span
    far = np.sqrt(((uniform[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
    assert np.median(nearest) < np.median(far) / 4


def test_one_point_not_ruled_out_still_gives_a_wave_of_distinct_points_and_integers_are_rounded():
    ranges = {"mediators": (1, 8), "defection_rate": (0.01, 0.06)}
    x = next_wave(np.array([[3, 0.03]]), ranges, 10, seed=1, wave=2)
    assert len(x) == 10 and len({tuple(r) for r in x}) == 10
    assert np.all(x[:, 0] == np.round(x[:, 0])) and set(x[:, 0]) <= set(range(1, 9))
    assert np.all(np.abs(x[:, 1] - 0.03) < 0.01)


# ------------------------------------------------------------------------------------ refusals
@pytest.mark.parametrize(("kwargs", "expect"), [
    ({"ranges": {"gap_months": (1, 99)}}, "gap_months = 99 is not allowed; expected a number from 0 to"),
    ({"ranges": {"nope": (0, 1)}}, "'nope' is not a numeric model parameter"),
    ({"ranges": {"defection_rate": (0.05, 0.01)}}, "the low end must be below the high end"),
    ({"ranges": {"months": (12, 24)}}, "cannot be calibrated"),
    ({"waves": 0}, "waves = 0 is not allowed"),
    ({"points": 0}, "points = 0 is not allowed"),
    ({"replicates": 1.5}, "replicates = 1.5 is not allowed"),
    ({"cutoff": 0}, "cutoff = 0 is not allowed"),
])
def test_calibrate_refuses_bad_input_before_writing(tmp_path, kwargs, expect):
    with pytest.raises(InputError, match=expect) as err:
        calibrate(out=tmp_path / "c", executor="serial", **kwargs)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "c").exists()


def test_calibrate_refuses_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="files peacesim did not write"):
        calibrate(ranges={"defection_rate": (0.01, 0.06)}, waves=1, points=2, replicates=2, out=tmp_path,
                  executor="serial")
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize(("args", "expect"), [
    (["--param", "nope:0:1"], "--param 'nope:0:1': 'nope' is not a numeric model parameter"),
    (["--param", "gap_months:9:3"], "--param 'gap_months:9:3': gap_months from 9 to 3 is not allowed; the low end"),
    (["--param", "gap_months:1:99"], "--param 'gap_months:1:99': gap_months = 99 is not allowed; expected a number"),
    (["--param", "gap_months:1"], "--param 'gap_months:1' is not of the form NAME:LOW:HIGH"),
    (["--param", "defection_rate:x:0.1"], "defection_rate = 'x' is not allowed"),
    (["--waves", "0"], "--waves 0 is not allowed; expected a whole number of at least 1"),
    (["--points", "two"], "--points 'two' is not allowed"),
    (["--replicates", "-3"], "--replicates -3 is not allowed"),
    (["--cutoff", "0"], "--cutoff 0 is not allowed; expected a number above 0"),
    (["--cutoff", "-1.5"], "--cutoff -1.5 is not allowed"),
])
def test_the_command_refuses_bad_input_in_one_line_and_writes_nothing(tmp_path, capsys, args, expect):
    assert main(["calibrate", *args, "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("peacesim: error: ") and expect in err and err.count("\n") == 1
    assert not (tmp_path / "c").exists()


def test_the_installed_command_refuses_with_status_2(tmp_path):
    r = subprocess.run([sys.executable, "-m", "peacesim", "calibrate", "--param", "gap_months:1:99", "--out",
                        str(tmp_path / "c")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("peacesim: error: --param 'gap_months:1:99'")
    assert not (tmp_path / "c").exists()


# ------------------------------------------------------------------------------------ end to end
@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """The small calibration through the command, then again from Python with the same arguments."""
    out = tmp_path_factory.mktemp("calibration")
    r = subprocess.run([sys.executable, "-m", "peacesim", "calibrate", *SMALL_ARGS, "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("wave-*/*.parquet")}
    again = calibrate(out=out, **SMALL_KW)
    return out, r.stdout, stamps, again


def test_a_small_calibration_prints_its_waves_region_and_chosen_point(small):
    out, stdout, _, res = small
    lines = stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:3] == ["wave", "points", "replicates"])
    for w in res.waves:
        assert lines[header + w.number].split()[:5] == [str(w.number), "5", str(w.replicates), str(5 * w.replicates),
                                                        str(w.nroy)]
    assert res.chosen is not None, res.message
    assert f"Chosen point (smallest I_max, {res.waves[-1].best['I_max']:.2f})" in stdout
    for t in res.targets:
        assert f"  {t.name}: " in stdout
    assert f"Report: {out / 'calibration.md'}" in stdout


def test_calling_again_with_the_same_arguments_reuses_every_run(small):
    out, _, stamps, res = small
    assert [w.replicates for w in res.waves] == [8, 16]
    assert [(w.ran, w.skipped) for w in res.waves] == [(0, 40), (0, 80)]
    assert stamps and {p: p.stat().st_mtime_ns for p in out.glob("wave-*/*.parquet")} == stamps
    # the same waves: the command's table is the one computed again
    stored = pd.read_csv(out / "waves.csv")
    pd.testing.assert_frame_equal(stored, res.table.astype({"nroy": bool}), check_dtype=False)


def test_the_waves_table_is_consistent_and_the_second_wave_lies_near_the_first_ones_nroy_points(small):
    out, _, _, res = small
    t = pd.read_csv(out / "waves.csv")
    keys = [g.key for g in DEFAULT_TARGETS]
    assert list(t.columns) == ["wave", "design_point", *SMALL,
                               *[c for k in keys for c in (k, f"{k}_sd", f"I_{k}")], "I_max", "nroy"]
    assert len(t) == 10 and list(t["wave"]) == [1] * 5 + [2] * 5
    assert np.allclose(t["I_max"], t[[f"I_{k}" for k in keys]].max(axis=1))
    assert list(t["nroy"]) == list(t["I_max"] <= 4.0)
    for name, (lo, hi) in SMALL.items():
        assert t[name].between(lo, hi).all()
        first = t[(t["wave"] == 1) & t["nroy"]][name]
        margin = 0.2 * (hi - lo)
        assert t[t["wave"] == 2][name].between(first.min() - margin, first.max() + margin).all()


def test_each_point_is_measured_on_its_own_runs_with_common_seeds(small):
    out, _, _, res = small
    results = analysis.load_results(out / "wave-2")
    runs = results.ok_runs
    seeds = runs.groupby("design_point")["seed"].apply(lambda s: tuple(sorted(s)))
    assert seeds.nunique() == 1 and len(seeds.iloc[0]) == 16  # the same 16 seeds at every point
    wave1 = analysis.load_results(out / "wave-1").ok_runs
    assert not set(wave1["seed"]) & set(runs["seed"])  # waves do not share seeds
    table = res.waves[1].table.set_index("design_point")
    for k, g in runs.groupby("design_point"):
        assert table.loc[k, "agreement"] == pytest.approx(g["agreement_reached"].astype(bool).mean())
        eps = results.ok_episodes[results.ok_episodes["run_id"].isin(g["run_id"])]
        if len(eps):
            assert table.loc[k, "ceasefire_share"] == pytest.approx((eps["scope"] == "ceasefire").mean())
            lower_median = np.sort(eps["talks_months"])[(len(eps) - 1) // 2]  # validation's weighted median
            assert table.loc[k, "talks_months"] == lower_median
        assert table.loc[k, "agreement_sd"] == pytest.approx(max(  # at least a binomial standard error
            proportion(results, {"design_point": k}, "agreement_reached").se,
            share_floor(g["agreement_reached"].astype(bool).mean(), len(g))))


def test_the_report_figure_and_chosen_point(small):
    out, _, _, res = small
    report = (out / "calibration.md").read_text()
    for words in ("history matching", "ABC-SMC", "discrepancy", "Pukelsheim", "## Chosen point",
                  "peacesim/params.py", "--set ripeness_threshold="):
        assert words in report, words
    for t in DEFAULT_TARGETS:
        assert t.name in report and t.source in report
    assert (out / "nroy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    last = res.waves[-1].table
    best = last[last["nroy"]].sort_values("I_max").iloc[0]
    assert res.chosen == {n: pytest.approx(best[n]) for n in SMALL}
    assert res.chosen_implausibility["agreement"] == pytest.approx(best["I_agreement"])
    e = res.chosen_estimates["agreement"]
    assert e.low <= e.value <= e.high
    assert set(res.region["parameter"]) == set(SMALL) and res.region["share_of_range"].between(0, 1).all()
    assert "| share of the range, 5-95% |" in report and "from the 5% to the 95% percentile" in report


def test_fresh_runs_every_wave_again(tmp_path):
    kw = {**SMALL_KW, "waves": 1, "points": 3, "replicates": 4}
    assert [(w.ran, w.skipped) for w in calibrate(out=tmp_path, **kw).waves] == [(12, 0)]
    assert [(w.ran, w.skipped) for w in calibrate(out=tmp_path, **kw).waves] == [(0, 12)]
    assert [(w.ran, w.skipped) for w in calibrate(out=tmp_path, fresh=True, **kw).waves] == [(12, 0)]


def test_no_point_meeting_the_targets_stops_and_names_the_target(tmp_path):
    impossible = CalibrationTarget("agreement", "share of runs reaching any agreement", "test", 5.0, 0.01, 0.01,
                                   lambda results, where: proportion(results, where, "agreement_reached"))
    res = calibrate(ranges={"defection_rate": (0.01, 0.06)}, targets=[DEFAULT_TARGETS[3], impossible], waves=3,
                    points=3, replicates=4, out=tmp_path, executor="serial")
    assert len(res.waves) == 1 and res.chosen is None
    # three points say nothing about every point of the ranges: the message speaks of those sampled
    assert res.message.startswith("None of the 3 points sampled in wave 1 meets the targets")
    assert "No point in the ranges" not in res.message
    assert "share of runs reaching any agreement (smallest implausibility" in res.message
    assert ("3 points are few for 1 parameter (a space-filling design needs about 10 a parameter, 10 here; "
            "Loeppky, Sacks & Welch 2009): sample more points (--points) before concluding") in res.message
    assert "No sampled point meets the targets" in (tmp_path / "calibration.md").read_text()
    assert len(pd.read_csv(tmp_path / "waves.csv")) == 3


def test_one_sampled_point_is_not_the_ranges(tmp_path):
    """'--points 1' cannot rule out the ranges: the command's conclusion is about the one point."""
    impossible = CalibrationTarget("agreement", "share of runs reaching any agreement", "test", 5.0, 0.01, 0.01,
                                   lambda results, where: proportion(results, where, "agreement_reached"))
    res = calibrate(ranges={"defection_rate": (0.01, 0.06), "pain_decay": (0.02, 0.07)},
                    targets=[DEFAULT_TARGETS[3], impossible], waves=2, points=1, replicates=4, out=tmp_path,
                    executor="serial")
    assert res.message.startswith("The only point sampled in wave 1 does not meet the targets: its I_max is above 3")
    assert "1 point is few for 2 parameters" in res.message and "Widen" not in res.message


def test_the_patterns_filter_picks_the_first_point_whose_effects_all_point_the_stated_way():
    from types import SimpleNamespace

    from peacesim.calibration import pick_by_patterns, pointing_the_stated_way

    checked = pd.DataFrame({"design_point": [4, 9, 2, 7], "I_max": [0.5, 0.6, 0.7, 0.8],
                            "checked": [9, 9, 9, 9], "directions": [8, 9, 9, 9], "held": [7, 5, 6, 6]})
    assert pick_by_patterns(checked) == 2  # all nine pointing the stated way, most held, then smaller I_max
    assert pick_by_patterns(checked.assign(directions=8)) is None
    assert pick_by_patterns(checked.iloc[:0]) is None

    def check(pointing, expected="positive"):
        return SimpleNamespace(pointing=pointing, expected=expected)

    assert pointing_the_stated_way(check(True)) and not pointing_the_stated_way(check(False))
    assert not pointing_the_stated_way(check(True, "n/a"))  # a pattern not measured cannot pass the filter


def test_a_check_points_the_stated_way_only_when_every_required_contrast_does():
    """Pattern 3 needs both 'sooner' and 'less durable': a strong 'sooner' does not make up for a
    durability cost pointing the wrong way, whichever contrast is the headline."""
    import numpy as np

    import peacesim.validation as v

    def est(value):
        return v.Estimate(value, value - 1.0, value + 1.0, np.full(10, value))

    fake = {("leverage", "t"): est(80.0), ("facilitative", "t"): est(140.0),
            ("leverage", "r"): est(50.0), ("facilitative", "r"): est(49.5)}
    old_t, old_r = v.time_to_agreement, v.rmst
    try:
        v.time_to_agreement = lambda r, where: fake[where["mediator.style"], "t"]
        v.rmst = lambda r, where: fake[where["mediator.style"], "r"]
        c = v._p3_judge(None)
        assert not c.pointing and not c.passed  # durability +0.5: the wrong way
        fake["leverage", "r"] = est(48.0)
        c = v._p3_judge(None)
        assert c.pointing
    finally:
        v.time_to_agreement, v.rmst = old_t, old_r


def test_patterns_must_be_a_whole_number(tmp_path):
    r = subprocess.run([sys.executable, "-m", "peacesim", "calibrate", "--patterns", "-1", "--out", str(tmp_path / "c")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stdout == ""
    assert "--patterns -1 is not allowed; expected a whole number of at least 0" in r.stderr
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("args,expect", [
    (["--points", "5000", "--replicates", "200"], "wave 3: 5,000 design points x 800 replicates = 4,000,000 runs"),
    (["--param", "handover_quality:0.1:0.9", "--patterns", "2"],
     "--patterns cannot judge points that set handover_quality: the pattern checks set or vary it themselves"),
])
def test_what_a_later_wave_or_the_pattern_checks_could_not_do_is_refused_before_anything_starts(tmp_path, args, expect):
    r = subprocess.run([sys.executable, "-m", "peacesim", "calibrate", *args, "--out", str(tmp_path / "c")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stdout == ""
    assert expect in r.stderr
    assert not (tmp_path / "c").exists()
