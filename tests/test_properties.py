"""Property tests (hypothesis): invariants hold anywhere in the registry's parameter space."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peacesim import rules
from peacesim.agents import ALLOWED_TRANSITIONS
from peacesim.model import PeaceModel
from peacesim.params import REGISTRY
from peacesim.simulate import prepare

unit = st.floats(0.0, 1.0, allow_nan=False)


def _param_strategy(p):
    if p.kind == "float":
        return st.floats(p.low, p.high, allow_nan=False)
    if p.kind == "int":
        return st.integers(int(p.low), int(p.high))
    if p.kind == "bool":
        return st.booleans()
    return st.sampled_from(p.choices)


# A random subset of parameters set anywhere inside their bounds (the horizon is kept short).
overrides = st.fixed_dictionaries(
    {},
    optional={name: _param_strategy(p) for name, p in REGISTRY.items() if name not in ("months", "followup_months")},
)
scenario_names = st.sampled_from(["reference", "crowded_field", "contact_group", "fragile_implementation"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ov=overrides, seed=st.integers(0, 2**31 - 1), name=scenario_names)
def test_trust_and_shares_stay_in_bounds_and_phases_follow_the_diagram(ov, seed, name):
    scen = prepare(name, months=72, overrides=dict(ov, followup_months=24))
    model = PeaceModel(scen, rng=seed)
    previous = model.phase
    for _ in range(72):
        model.step()
        t = model.trust.matrix
        assert np.all(t >= 0.0) and np.all(t <= 1.0)
        assert model.phase == previous or model.phase in ALLOWED_TRANSITIONS[previous]
        previous = model.phase
        for q in model.parties:
            for v in (q.ripeness, q.eff_ripeness, q.commitment, q.pain, q.victory_belief, q.way_out, q.mhs):
                assert 0.0 <= v <= 1.0
        for s in model.spoilers:
            assert 0.0 <= s.capacity <= 1.0 and 0.0 <= s.resolve <= 1.0
        assert 0.0 <= model.violence <= 1.0
        assert 0.0 <= model.implementation.progress <= 1.0 and 0.0 <= model.negotiation_progress <= 1.0
        assert 0.0 <= model.public_support <= 1.0 and 0.0 <= model.early_warning <= 1.0
        # an actor in a funding gap is never at a table
        for tb in model.tables:
            assert all(m.active for m in tb.members)
    model.close()
    # no agent is lost
    assert len(model.agents) == model.n_actors


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_a_seed_reproduces_a_run_exactly(seed):
    scen = prepare("reference", months=60)
    a, b = PeaceModel(scen, rng=seed), PeaceModel(scen, rng=seed)
    a.run()
    b.run()
    np.testing.assert_array_equal(a.recorder.data, b.recorder.data)
    assert a.events.items == b.events.items


@given(pain=unit, tol=unit, width=st.floats(0.01, 0.5), belief=unit, mt=unit, ot=unit, inc=unit, w=unit, opt=unit)
def test_ripeness_is_a_probability_like_share(pain, tol, width, belief, mt, ot, inc, w, opt):
    mhs = rules.mutually_hurting_stalemate(pain, tol, width, belief)
    wo = rules.way_out(mt, ot, inc, w, opt)
    r = rules.ripeness(mhs, wo)
    assert 0.0 <= mhs <= 1.0 and 0.0 <= wo <= 1.0 and 0.0 <= r <= 1.0


@given(pain=unit, tol=unit, width=st.floats(0.01, 0.5), belief=unit, mt=unit, ot=unit, inc=unit, w=unit,
       opt=st.floats(-0.5, 1.5, allow_nan=False))
def test_a_partys_perception_in_one_function_is_the_small_rules_composed(pain, tol, width, belief, mt, ot, inc, w, opt):
    """The month's perception is written out in one function for speed; it must stay the rules'
    composition to the bit."""
    mhs = rules.mutually_hurting_stalemate(pain, tol, width, belief)
    wo = rules.way_out(mt, ot, inc, w, opt)
    assert rules.perceived_ripeness(pain, tol, width, belief, mt, ot, inc, w, opt) == (mhs, wo, rules.ripeness(mhs, wo))


@given(s=unit, e=unit, base=unit, rate=unit, u=unit, noise=unit, learning=unit, shift=st.floats(0.0, 0.2))
def test_a_partys_battle_in_one_function_is_the_small_rules_composed(s, e, base, rate, u, noise, learning, shift):
    won = u < rules.battle_win_probability(s, e, noise)
    new_rate = rules.update_win_rate(rate, won, learning)
    strength = s + ((shift if won else -shift) + rules.STRENGTH_RECOVERY * (base - s))
    strength = min(1.0, max(rules.STRENGTH_FLOOR, strength))
    assert rules.battle(s, e, base, rate, u, noise, learning, shift) == (strength, new_rate,
                                                                        rules.victory_belief(new_rate))


@given(rate=unit, cap=unit, res=unit, milestone=st.booleans(), boost=st.floats(1, 10), trust=unit,
       c=unit, h=unit, d=unit)
def test_probabilities_stay_in_unit_interval(rate, cap, res, milestone, boost, trust, c, h, d):
    assert 0.0 <= rules.attack_probability(rate, cap, res, milestone, boost, trust) <= 1.0
    assert 0.0 <= rules.violation_probability(c, h, rate, d) <= 1.0
    assert 0.0 <= rules.commitment_target(trust, c, res, h, d) <= 1.0


@given(t=st.lists(unit, min_size=1, max_size=20), base=unit, share=unit)
def test_handover_stays_between_baseline_and_old_trust(t, base, share):
    arr = np.array(t)
    out = rules.handover(arr, base, share)
    lo, hi = np.minimum(arr, base), np.maximum(arr, base)
    assert np.all(out >= lo - 1e-12) and np.all(out <= hi + 1e-12)


@given(inst=unit, cont=unit, overlap=st.integers(0, 12))
def test_retained_share_is_monotone_in_continuity_and_overlap(inst, cont, overlap):
    r = rules.retained_share(inst, cont, overlap)
    assert 0.0 <= r <= 1.0 + 1e-12
    assert rules.retained_share(inst, min(1.0, cont + 0.1), overlap) >= r - 1e-12
    assert rules.retained_share(inst, cont, overlap + 1) >= r - 1e-12
