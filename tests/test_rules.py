"""Unit tests of each rule function, with hand-computed expectations."""

import math

import numpy as np
import pytest

from peacesim import rules


def test_hurting_is_half_at_tolerance_and_switches_with_width():
    assert rules.hurting(0.5, 0.5, 0.1) == pytest.approx(0.5)
    # one width above tolerance: logistic(1)
    assert rules.hurting(0.6, 0.5, 0.1) == pytest.approx(1 / (1 + math.exp(-1)))
    assert rules.hurting(0.0, 0.9, 0.01) == 0.0
    assert rules.hurting(1.0, 0.1, 0.01) == 1.0


def test_mhs_needs_both_pain_and_no_expectation_of_victory():
    # hurting but sure to win: no mutually hurting stalemate
    assert rules.mutually_hurting_stalemate(0.9, 0.3, 0.05, 1.0) == 0.0
    # hurting (~1) and no hope of winning: full stalemate
    assert rules.mutually_hurting_stalemate(0.9, 0.3, 0.05, 0.0) == pytest.approx(1.0, abs=1e-5)
    assert rules.mutually_hurting_stalemate(0.5, 0.5, 0.1, 0.4) == pytest.approx(0.5 * 0.6)


def test_way_out_weights_and_option():
    # base = 0.6*0.5 + 0.4*0.25 = 0.4; with incentive weight 0.25 and incentives 0.8: 0.75*0.4 + 0.25*0.8
    assert rules.way_out(0.5, 0.25, 0.8, 0.25) == pytest.approx(0.5)
    # a negotiated text half written closes a quarter of the remaining gap
    assert rules.way_out(0.5, 0.25, 0.8, 0.25, option=0.5) == pytest.approx(0.5 + 0.25 * 0.5)
    assert rules.way_out(1, 1, 1, 0.5, option=1) == 1.0


def test_ripeness_is_geometric_mean_and_zero_without_either_part():
    assert rules.ripeness(0.64, 0.25) == pytest.approx(0.4)
    assert rules.ripeness(0.0, 1.0) == 0.0
    assert rules.ripeness(1.0, 0.0) == 0.0


def test_effective_ripeness_closes_the_gap_by_push():
    assert rules.effective_ripeness(0.4, 0.5) == pytest.approx(0.7)
    assert rules.effective_ripeness(0.4, 0.0) == 0.4


def test_battle_win_probability():
    assert rules.battle_win_probability(0.6, 0.2, 0.0) == pytest.approx(0.75)
    assert rules.battle_win_probability(0.6, 0.2, 1.0) == pytest.approx(0.5)
    assert rules.battle_win_probability(0.6, 0.2, 0.2) == pytest.approx(0.1 + 0.8 * 0.75)


def test_victory_belief_from_win_rate():
    assert rules.victory_belief(0.5) == pytest.approx(0.3)
    assert rules.victory_belief(0.6) == pytest.approx(0.6)
    assert rules.victory_belief(0.3) == 0.0
    assert rules.victory_belief(0.9) == 1.0
    assert rules.victory_belief(rules.win_rate_for_belief(0.45)) == pytest.approx(0.45)
    assert rules.update_win_rate(0.5, True, 0.1) == pytest.approx(0.55)
    assert rules.update_win_rate(0.5, False, 0.1) == pytest.approx(0.45)


def test_pain_update():
    # 0.4 * 0.9 + 0.1 * 0.5 * 0.8 + 0.02
    assert rules.update_pain(0.4, 0.5, 0.1, 0.1, 0.8, 0.02) == pytest.approx(0.36 + 0.04 + 0.02)
    assert rules.update_pain(0.99, 1.0, 0.5, 0.0, 1.2, 0.3) == 1.0


def test_drift_moves_trust_toward_baseline_in_place():
    t = np.array([[1.0, 0.0], [0.5, 0.2]])
    rules.drift_toward(t, 0.2, 0.5)
    np.testing.assert_allclose(t, [[0.6, 0.1], [0.35, 0.2]])


def test_retained_share_and_handover():
    # institution keeps 0.3; of the personal 0.7, the team keeps 0.2 and two months of overlap pass
    # on 0.3 of what is still at stake each month: lost = 0.8 * 0.7 * 0.7
    assert rules.retained_share(0.3, 0.2, 2) == pytest.approx(0.3 + 0.7 * (1 - 0.8 * 0.49))
    assert rules.retained_share(0.0, 0.0, 0) == 0.0
    assert rules.retained_share(1.0, 0.0, 0) == 1.0
    # no overlap and no team: only the institution's share survives, whatever the notes say
    assert rules.retained_share(0.35, 0.0, 0) == pytest.approx(0.35)
    # relationships are never fully handed over by a finite overlap
    assert rules.retained_share(0.35, 0.2, 12) < 1.0
    out = rules.handover(np.array([0.8, 0.1]), 0.2, 0.5)
    np.testing.assert_allclose(out, [0.5, 0.15])


def test_arrival_knowledge_grows_with_notes_and_overlap():
    assert rules.arrival_knowledge(0.4, 0.0, 0, 8) == pytest.approx(0.4)
    # complete notes pass on the explicit 0.6 of the missing 0.6: 0.4 + 0.36
    assert rules.arrival_knowledge(0.4, 1.0, 0, 8) == pytest.approx(0.76)
    assert rules.arrival_knowledge(0.4, 0.5, 0, 8) == pytest.approx(0.58)
    # two months of overlap of an eight-month ramp from 0.58: 0.58 + 0.42 * 2 / 8
    assert rules.arrival_knowledge(0.4, 0.5, 2, 8) == pytest.approx(0.58 + 0.42 * 0.25)
    assert rules.arrival_knowledge(0.4, 0.0, 8, 8) == pytest.approx(1.0)


def test_context_knowledge_ramps_linearly():
    assert rules.context_knowledge(0, 0.4, 8) == pytest.approx(0.4)
    assert rules.context_knowledge(4, 0.4, 8) == pytest.approx(0.7)
    assert rules.context_knowledge(8, 0.4, 8) == 1.0
    assert rules.context_knowledge(0, 0.4, 0) == 1.0


def test_support_gain_saturates():
    assert rules.support_gain(0.5, 0.0, 1.0) == 0.5
    assert rules.support_gain(0.5, 1.0, 1.0) == pytest.approx(0.5 + 0.5 * (1 - math.exp(-1)))
    assert rules.support_gain(0.5, 100.0, 1.0) == pytest.approx(1.0)


def test_coordination_efficiency_by_strategy():
    assert rules.coordination_efficiency(1, 0.1, "hierarchical") == 1.0
    assert rules.coordination_efficiency(5, 0.1, "none") == 1.0
    assert rules.coordination_efficiency(3, 0.1, "hierarchical") == pytest.approx(1 / 1.2)
    assert rules.coordination_efficiency(3, 0.1, "contact_group") == pytest.approx(1 / 1.14)
    # network: pairs grow quadratically: (n-1)n/4 = 1.5 for n = 3; 5 for n = 5
    assert rules.coordination_efficiency(3, 0.1, "network") == pytest.approx(1 / 1.15)
    assert rules.coordination_efficiency(5, 0.1, "network") < rules.coordination_efficiency(5, 0.1, "hierarchical")


def test_diluted_leverage():
    assert rules.diluted_leverage(0.6, 0, 0.5) == 0.6
    assert rules.diluted_leverage(0.6, 2, 0.5) == pytest.approx(0.3)


def test_attack_probability_clusters_at_milestones_and_fragile_trust():
    base = rules.attack_probability(0.1, 0.5, 1.0, False, 3.0, 0.5)
    assert base == pytest.approx(0.1 * 1.0 * 0.8 * 1.0)
    assert rules.attack_probability(0.1, 0.5, 1.0, True, 3.0, 0.5) == pytest.approx(3 * base)
    assert rules.attack_probability(0.1, 0.5, 1.0, False, 3.0, 0.1) > base
    assert rules.attack_probability(0.1, 0.5, 0.0, True, 3.0, 0.1) == 0.0
    assert rules.attack_probability(1.0, 1.0, 1.0, True, 10.0, 0.0) == 1.0


@pytest.mark.parametrize(
    "strategy,kind,sign_resolve,sign_capacity",
    [
        ("inducement", "limited", -1, 0),
        ("inducement", "greedy", -1, +1),  # sometimes pockets the inducement
        ("inducement", "total", +1, +1),  # inducing a total spoiler emboldens it (Stedman 1997)
        ("socialization", "greedy", -1, 0),
        ("socialization", "total", +1, 0),  # a total spoiler is not socialised; it may harden
        ("coercion", "total", +1, -1),  # coercion cuts capacity, at the price of some hardening
        ("coercion", "limited", +1, -1),  # coercing a limited spoiler mostly alienates it
    ],
)
def test_management_expected_effect_signs_follow_stedman(strategy, kind, sign_resolve, sign_capacity):
    effects = {"inducement": 0.1, "socialization": 0.05, "coercion": 0.2, "backfire": 0.04}
    works, backfires = rules.management_chances(strategy, kind, capacity=0.3, leverage=0.5)
    assert 0.0 <= works and 0.0 <= backfires and works + backfires <= 1.0
    ok = rules.management_effect(strategy, "worked", effects)
    bad = rules.management_effect(strategy, "backfired", effects)
    dr = works * ok[0] + backfires * bad[0]
    dc = works * ok[1] + backfires * bad[1]
    assert np.sign(round(dr, 4)) == sign_resolve
    assert np.sign(round(dc, 4)) == sign_capacity


def test_management_chances_depend_on_state_and_leverage():
    # inducing a limited spoiler: 0.9, less for a strong one (half as receptive at full capacity)
    assert rules.management_chances("inducement", "limited", 0.0, 0.5) == pytest.approx((0.9, 0.0))
    assert rules.management_chances("inducement", "limited", 1.0, 0.5)[0] == pytest.approx(0.45)
    # inducing a total spoiler rarely works and mostly backfires: (1 - 0.05 * 0.9) * 0.7
    w, b = rules.management_chances("inducement", "total", 0.2, 0.5)
    assert w == pytest.approx(0.05 * 0.9) and b == pytest.approx((1 - w) * 0.7)
    # coercion needs leverage
    assert rules.management_chances("coercion", "total", 0.0, 0.5)[0] == pytest.approx(0.4)
    assert rules.management_chances("coercion", "total", 0.0, 0.0)[0] == 0.0


def test_management_effect_sizes():
    effects = {"inducement": 0.1, "socialization": 0.05, "coercion": 0.2, "backfire": 0.04}
    assert rules.management_effect("inducement", "worked", effects) == pytest.approx((-0.1, 0.0))
    assert rules.management_effect("inducement", "backfired", effects) == pytest.approx((0.04, 0.04))
    assert rules.management_effect("coercion", "worked", effects) == pytest.approx((0.0, -0.2))
    assert rules.management_effect("coercion", "backfired", effects) == pytest.approx((0.04, 0.0))
    assert rules.management_effect("socialization", "no effect", effects) == (0.0, 0.0)


def test_acceptance_is_graded_around_the_threshold():
    assert rules.acceptance(0.38, 0.38, 0.06) == pytest.approx(0.5)
    assert rules.acceptance(0.38 + 0.06, 0.38, 0.06) == pytest.approx(1 / (1 + math.exp(-1)))
    lo, hi = rules.acceptance(0.2, 0.38, 0.06), rules.acceptance(0.5, 0.38, 0.06)
    assert lo == pytest.approx(1 / (1 + math.exp(3))) and hi == pytest.approx(1 / (1 + math.exp(-2)))


def test_talks_crisis_probability():
    # 0.02 * (1 - 0.4) * (1 + 0.5) * (1 + 1 attack) * (3 - 1 parties)
    assert rules.talks_crisis_probability(0.02, 0.4, 0.5, 1, 3) == pytest.approx(0.02 * 0.6 * 1.5 * 2 * 2)
    assert rules.talks_crisis_probability(0.02, 1.0, 0.5, 3, 2) == 0.0
    assert rules.talks_crisis_probability(0.02, 0.0, 0.0, 0, 2) == pytest.approx(0.02)


def test_defection_probability():
    # 0.02 * (1 - 0.4) * 0.5 hardliners * (0.5 + 0.6 belief) * (1 - 0.25 deterrence)
    assert rules.defection_probability(0.4, 0.5, 0.02, 0.25, 0.6) == pytest.approx(0.02 * 0.6 * 0.5 * 1.1 * 0.75)
    assert rules.defection_probability(1.0, 0.5, 0.02, 0.0, 0.6) == 0.0
    assert rules.defection_probability(0.2, 0.0, 0.02, 0.0, 0.6) == 0.0
    assert rules.defection_probability(0.2, 0.5, 0.02, 1.0, 0.6) == 0.0


def test_commitment_target_and_violation_probability():
    # core = 0.5*0.6 + 0.5*0.2 = 0.4; 0.7*0.4 + 0.3*0.5 + 0.25 - 0.3*0.2
    assert rules.commitment_target(0.6, 0.2, 0.5, 0.2, 0.3) == pytest.approx(0.28 + 0.15 + 0.25 - 0.06)
    assert rules.commitment_target(0.0, 0.0, 0.0, 1.0, 0.3) == 0.0
    assert rules.violation_probability(0.5, 0.5, 0.2, 0.0) == pytest.approx(0.2 * 0.5 * 1.0)
    assert rules.violation_probability(0.5, 0.5, 0.2, 1.0) == 0.0
    assert rules.violation_probability(1.0, 1.0, 1.0, 0.0) == 0.0


def test_pairwise_sum_adds_in_numpy_order():
    """The model's list arithmetic gives the same bits as numpy's sum (contiguous or strided)."""
    import random

    rng = random.Random(5)
    for _ in range(2000):
        n = rng.randrange(0, 400)
        a = [rng.random() * rng.choice([1.0, 1e4, 1e-4]) for _ in range(n)]
        assert rules.pairwise_sum(a) == float(np.array(a).sum())
        if n:
            m = np.array([[rng.random() for _ in range(3)] for _ in range(n)])
            assert rules.pairwise_sum(m[:, 1].tolist()) == float(m[:, 1].sum())
            assert rules.pairwise_sum(a) / n == float(np.array(a).mean())
