"""The peace-process model: a Mesa model whose ``step()`` follows docs/ODD.md section 3.

:class:`PeaceModel` owns the agents and the month's order of events, and delegates each kind of
state to the part that owns it: the trust network (:mod:`peacesim.trust`), funding
(:mod:`peacesim.funding`), tables and coordination (:mod:`peacesim.tables`), local mechanisms
(:mod:`peacesim.local_mechanisms`), spoiler violence (:mod:`peacesim.spoilers`), the talks
(:mod:`peacesim.negotiation`) and the agreement in force (:mod:`peacesim.agreement`). It does no
file I/O and no plotting; it exposes what it reports (the reporters below, the episodes and the
event log), which :mod:`peacesim.records` reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from . import rules
from .agents import (
    ALLOWED_TRANSITIONS,
    CONFLICT,
    CONSOLIDATED,
    IMPLEMENTATION,
    TALKS,
    ConflictParty,
    Diplomat,
    Mediator,
    Phase,
    Spoiler,
    ThirdParty,
)
from .agreement import Agreement, Implementation
from .events import ACTOR_SEPARATOR, EventLog
from .diplomacy import Diplomacy
from .facilitation import SHUTTLE_SHARE, Facilitation
from .errors import InputError
from .funding import Funding
from .interventions import INTERVENTIONS, Planned, Roster, as_plan, check_arguments, check_plan, mediator_spec
from .local_mechanisms import LocalMechanisms
from .negotiation import Negotiation
from .records import COUNTERS, PARTY_SERIES, Recorder
from .scenario import Scenario, prepare
from .spoilers import SpoilerActivity
from .streams import RandomStreams, normal_from, picklable
from .tables import Coordination, Table
from .words import words
from .trust import TrustNetwork

__all__ = ["PeaceModel", "Table", "TALKS_RESTRAINT", "BIAS_TRUST_SHIFT", "RELAPSE_TRUST_COST",
           "RELAPSE_COOLDOWN_FACTOR", "SHUTTLE_SHARE"]

# Fixed constants of the model-level rules (docs/ODD.md 5, 7.1, 7.2, 7.9).
#: How far engagement at the table lowers a main party's fighting: x · (1 - TALKS_RESTRAINT · ripeness).
TALKS_RESTRAINT = 0.6
#: Initial shift of a party's trust in a biased third party, per unit bias (favoured up, others down).
BIAS_TRUST_SHIFT = 0.3
#: Trust between the parties lost when an agreement breaks down.
RELAPSE_TRUST_COST = 0.15
#: After a relapse every third party waits this many cooldowns before proposing talks again.
RELAPSE_COOLDOWN_FACTOR = 2
#: From how many trust values perception averages a month (each party's trust in the other main
#: parties) they are added up with array operations.
PERCEPTION_ARRAY_SIZE = 64


class PeaceModel(mesa.Model):
    """Agent-based model of a peace process.

    Build it from a scenario and a seed, then step it month by month (``model.step()``, as Mesa
    and SolaraViz do) or run it to the horizon (``model.run()``)::

        model = PeaceModel("reference", rng=7, overrides={"coordination": "none"},
                           interventions=[{"month": 24, "kind": "rotate", "actor": "the UN envoy"}])
        for _ in range(36):
            model.step()
        model.intervene("cut_funding", actor="the mediation NGO", months=12)
        model.run()                      # the rest of the way; running is False at the horizon
        model.datacollector.get_model_vars_dataframe()   # the months so far

    Parameters
    ----------
    scenario_ref:
        The scenario: a shipped scenario's short name (``"reference"``), a path to a TOML file, or
        a :class:`~peacesim.scenario.Scenario`. (Mesa reserves the keyword ``scenario`` for its
        own Scenario objects, which SolaraViz passes when it resets a model.)
    rng:
        The run's seed, a whole number >= 0 (Mesa's name for it; a text of digits, as a form
        gives it, is read as one); None takes the scenario file's own ``seed`` if it has one
        (as ``peacesim run`` does), else draws one from the operating system's entropy, and
        ``model.seed`` tells which. Each process of the model
        draws from its own stream spawned from it (:mod:`peacesim.streams`).
    overrides:
        Parameter overrides, as a mapping or ``name=value`` texts (see ``peacesim params``).
    interventions:
        Interventions to apply at their months, besides those the scenario plans: dicts like a
        ``[[intervention]]`` table, ``--intervene`` texts or :class:`~peacesim.interventions.Planned`.
    months:
        The horizon, if not the scenario's.
    shared_stream:
        Draw every process from one stream instead of one each (only to measure what separate
        streams buy; benchmarks/bench_streams.py).
    """

    def __init__(self, scenario_ref: str | Path | Scenario = "reference", *, rng: int | None = None,
                 overrides: Mapping[str, Any] | list[str] | None = None,
                 interventions: Iterable[Any] | None = None, months: int | None = None,
                 shared_stream: bool = False):
        scenario = prepare(scenario_ref, months=months, overrides=overrides)
        # a scenario file's own seed (a dashboard session's re-run file) is the run's when none is given
        seed = _seed(rng if rng is not None or scenario.seed is None else scenario.seed)
        super().__init__(rng=seed)
        extra = as_plan(interventions)
        self.plan: list[Planned] = check_plan([*scenario.interventions, *extra], scenario.actors,
                                              scenario.params["months"], where=scenario.path or scenario.name)
        self.scenario_spec = scenario
        #: the scenario's parameters as this run began (results report these)
        self.start_params = dict(scenario.params)
        self.seed = seed
        self.streams = RandomStreams(seed, shared=shared_stream, months=scenario.params["months"])
        self._u_fight: list[float] = []
        self.p = p = _Params(scenario.params)
        self.months = p.months
        self.month = 0
        self.phase = CONFLICT
        self.events = EventLog()
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.applied_interventions: list[dict[str, Any]] = []
        self._next_planned = 0

        a = scenario.actors
        # One agent per actor, numbered in this order: their numbers index the trust matrix.
        idx = 0
        built: dict[str, list] = {}
        for kind, cls in (("party", ConflictParty), ("spoiler", Spoiler), ("mediator", Mediator),
                          ("diplomat", Diplomat)):
            built[kind] = [cls(self, spec, idx + k) for k, spec in enumerate(a[kind])]
            idx += len(a[kind])
        self.parties: list[ConflictParty] = built["party"]
        self.spoilers: list[Spoiler] = built["spoiler"]
        self.mediators: list[Mediator] = built["mediator"]
        self.diplomats: list[Diplomat] = built["diplomat"]
        self.third_parties: list[ThirdParty] = self.mediators + self.diplomats
        for tp, spec in zip(self.third_parties, a["mediator"] + a["diplomat"], strict=True):
            self._place(tp, spec)
        self.at_table = [q for q in self.parties if q.at_table]

        self.local = LocalMechanisms(self, a["local"], idx)
        self.n_actors = idx + len(self.local)
        self.funding = Funding(self, self.third_parties, self.local.n_funded)
        self.local.assign_streams(self.funding.local_streams)
        self.trust = TrustNetwork(self.n_actors, p.trust_baseline, [q.idx for q in self.at_table],
                                  n_parties=len(self.parties),
                                  tracked=[q.idx for q in self.parties] + [tp.idx for tp in self.third_parties])
        # the main parties and their columns in the trust rows, in order
        self._main_cols = [(q.idx, self.trust.col[q.idx]) for q in self.at_table]
        self._initial_trust()

        self.coordination = Coordination(self)
        self.facilitation = Facilitation(self)
        self.diplomacy = Diplomacy(self)
        self.negotiation = Negotiation(self)
        self.implementation = Implementation(self)
        self.spoiler_activity = SpoilerActivity(self)
        self.violence = 0.0
        self.war_violence = 0.0
        self._refresh_derived()
        self.recorder = Recorder(self, p.months)

    def __getstate__(self) -> dict:
        """What pickling and copying keep: everything but the views of the trust values that
        perception keeps, which are made again at the next month."""
        state = picklable(self.__dict__)
        state["_perception"] = None
        return state

    # ------------------------------------------------------------------ set-up
    def _place(self, tp: ThirdParty, spec: dict[str, Any]) -> None:
        """A third party's bias and channels, fixed by who may talk to proscribed groups (seed 003)."""
        names = {q.name: q.idx for q in self.parties}
        tp.bias_toward = names.get(spec["bias_toward"]) if spec["bias_toward"] else None
        tp.reach = frozenset(q.idx for q in self.parties if tp.can_talk_to(q))
        main = [q for q in self.parties if q.at_table and q.idx in tp.reach]
        tp.reach_rows = [q.idx for q in main]
        tp.disfavoured = [1.0 if q.idx != tp.bias_toward else 0.0 for q in main]

    def _initial_trust(self) -> None:
        trust = self.trust
        for q in self.parties:
            for r in self.parties:
                if q is not r:
                    trust.set(q.idx, r.idx, self.scenario_spec.actors["party"][q.idx]["trust"])
        for tp in self.third_parties:
            self._bias_trust(tp)

    def _bias_trust(self, tp: ThirdParty) -> None:
        """The favoured party trusts a biased third party more at the start, the others less."""
        if tp.bias_toward is not None and tp.bias > 0:
            for q in self.parties:
                delta = BIAS_TRUST_SHIFT * tp.bias * (1.0 if q.idx == tp.bias_toward else -1.0)
                self.trust.set(q.idx, tp.idx, self.trust[q.idx, tp.idx] + delta)

    def _refresh_derived(self) -> None:
        """Recompute what is derived from parameters and the cast of actors."""
        p = self.p
        self._retained = rules.retained_share(p.institutional_share, p.team_continuity, p.handover_overlap)
        self.trust.baseline = float(p.trust_baseline)  # what trust drifts toward (a `set` may change it)
        self._blocks = None  # the month's blocks of draws, worked out at the next draw (the cast may have changed)
        for tp in self.third_parties:
            tp.tenure = getattr(p, tp.tenure_param)
        self.facilitation.refresh()
        self._perception = self._leaders_seen = None  # worked out again at the next perception
        self.diplomacy.refresh()

        self.coordination.refresh()
        self.local.refresh()

    # ------------------------------------------------------------------ the month
    def step(self) -> None:
        """One month, in the order of docs/ODD.md section 3 (process overview and scheduling).

        At the horizon the agreement in force is censored and ``running`` turns false; stepping
        further does nothing."""
        if not self.running:
            return
        self.month += 1
        month = self.month
        self.apply_planned(month)
        self.draw_month()
        self.fund(month)
        self.rotate_staff(month)
        self.coordination.form()
        self.diplomacy.step(month)
        self.facilitate()
        self.fight()
        self.local.act(month, self.phase)
        self.spoiler_activity.act(month)
        self.suffer()
        self.perceive()
        if self.phase is CONFLICT:
            self.pre_talks(month)
        elif self.phase is TALKS:
            self.negotiate(month)
        elif self.phase is IMPLEMENTATION:
            self.implement(month)
        self.violence = rules.clip01(self.war_violence + self.local.violence + self.spoiler_activity.violence)
        self.trust.drift(self.p.trust_drift)
        self.recorder.record()
        self._end_month()
        if month >= self.months:
            self.close()

    def run(self) -> None:
        """Run to the horizon (from wherever the model is).

        When nothing but the monthly step is scheduled (no simulator, no events of the user's),
        the months are stepped directly, with ``steps`` and ``time`` advanced as Mesa's own
        scheduling would, and the step schedule is resumed afterwards; otherwise every month goes
        through ``step()`` and Mesa's event list."""
        schedule = self._default_schedule
        if (self._simulator is not None or not schedule.is_active or schedule._paused
                or len(self._event_list) != 1):
            while self.running:
                self.step()
            return
        month = self._user_step
        schedule.pause()
        try:
            while self.running:
                self.time += 1.0
                self.steps += 1
                month()
        finally:
            schedule.resume()

    def close(self) -> None:
        """End the run here: censor the agreement in force (once) and stop."""
        if self.implementation.agreement is not None:
            self.implementation.end(self.month, relapsed=False, cause="censored at the horizon", consolidated=False)
        self.running = False

    def draw_month(self) -> None:
        """This month's random numbers: a fixed block for each process that draws every month
        (docs/ODD.md 4.9), so that two runs of one seed use the same numbers month by month.
        Each part says how many it draws (``block``), which depends only on the cast."""
        s = self.streams
        blocks = self._blocks
        if blocks is None:
            blocks = self._blocks = (2 * len(self.parties), self.spoiler_activity.block(), self.local.block(),
                                     self.negotiation.block(), self.implementation.block())
        fight, (attacks, custody), local, talks, implementation = blocks
        self._u_fight = s.fighting.uniforms(fight)
        self.spoiler_activity.draw(s.spoilers.uniforms(attacks), s.custody.uniforms(custody))
        self.local.draw(s.local.uniforms(local))
        self.negotiation.draw(s.negotiation.uniforms(talks))
        self.implementation.draw(s.implementation.uniforms(implementation), s.retaliation)

    def _end_month(self) -> None:
        """Counters that belong to one month start again for the next."""
        self.spoiler_activity.new_month()
        self.implementation.blamed_attacks = 0

    def count(self, counter: str, n: int = 1) -> None:
        """Add ``n`` to one of the run's counters (declared in :data:`peacesim.records.COUNTERS`)."""
        self.counters[counter] += n

    # ------------------------------------------------------------------ funding (ODD 7.4)
    def fund(self, month: int) -> None:
        """Grants end, are renewed or lapse into gaps; support thins after signature (ODD 7.4)."""
        funding = self.funding
        if funding.step(month, self.phase is IMPLEMENTATION):
            if funding.third_parties_changed:
                self.coordination.check()
            if funding.locals_changed:
                self.local.funding_changed(funding.funded)
        if self.funding.gap_posts:
            # Relationships of third parties in a gap decay: nobody is there to keep them.
            self.trust.fade(self.funding.gap_posts, self.p.gap_trust_decay)

    # ------------------------------------------------------------------ rotation (ODD 7.3)
    def rotate_staff(self, month: int) -> None:
        ramp = self.p.context_ramp_months
        learning = False
        for tp in self.third_parties:
            if tp.knowledge < 1.0:
                learning = True
            if tp.serve(ramp) and not tp.withdrawn:
                self.rotate(tp, month)
        if learning:
            # a newcomer learning the context may now be the most effective mediator (the lead
            # where no lead is designated)
            self.coordination.check()

    def rotate(self, tp: ThirdParty, month: int | None = None) -> None:
        """A new person takes the post and inherits part of the predecessor's relationship capital."""
        month = self.month if month is None else month
        p = self.p
        share = self._retained
        rows = self.trust.parties
        before = self.trust.toward(tp.idx, rows)
        self.trust.hand_over(tp.idx, share)
        tp.rotate()
        self.coordination.refresh()
        self.count("rotations")
        after = self.trust.toward(tp.idx, rows)
        drop = [b - a for b, a in zip(before, after, strict=True)]
        k = drop.index(max(drop))
        self.events.add(month, "rotation", (tp.name, self.at_table[k].name), share=share,
                        before=float(before[k]), after=float(after[k]), person=tp.person)
        tb = self.negotiation.table
        if (self.phase is TALKS and p.coordination == "hierarchical" and tb is not None
                and tp is tb.leader):
            # Single point of failure: the whole table waits for the new lead to take over.
            loss = self.negotiation.progress * p.lead_rotation_setback * (1.0 - share)
            self.negotiation.progress -= loss
            self.events.add(month, "lead_rotation_setback", (tp.name,), lost=loss)

    # ------------------------------------------------------------------ diplomats (ODD 7.7)
    @property
    def pressure(self) -> list[float]:
        """This month's diplomatic pressure on each party (by party index)."""
        return self.diplomacy.pressure

    @property
    def incentives(self) -> list[float]:
        """This month's incentives offered to each party (by party index, at most 1)."""
        return self.diplomacy.incentives

    # ------------------------------------------------------------------ facilitation (ODD 7.2)
    def facilitate(self) -> None:
        """Funded mediators in post build trust in small steps: the 'gold digging' of seed 003
        (:meth:`peacesim.facilitation.Facilitation.step`)."""
        self.facilitation.step()

    # ------------------------------------------------------------------ fighting and ripeness (ODD 7.1)
    def fight(self) -> None:
        p = self.p
        phase = self.phase
        parties = self.parties
        n = len(parties)
        u = self._u_fight
        volatility = p.battlefield_volatility
        for q in parties:
            q.shift_base(normal_from(u[n + q.idx]), volatility)
        fighting = phase is CONFLICT or phase is TALKS
        warring = parties if fighting else [q for q in parties if q.excluded]
        war = 0.0
        if warring:
            # The first party listed is the incumbent; every other party fights it, and it fights
            # them all together.
            incumbent = parties[0]
            challengers = sum([q.strength for q in parties[1:] if fighting or q in warring])
            talks = phase is TALKS
            intens = []
            for q in warring:
                x = q.resolve(p)
                if talks and q.at_table:
                    x *= 1.0 - TALKS_RESTRAINT * q.eff_ripeness  # engaging at the table lowers the fighting
                if not fighting:
                    x *= q.strength  # an excluded party fights as an armed spoiler
                intens.append(x)
                q.fight(challengers if q is incumbent else incumbent.strength, u[q.idx], p)
            war = sum(intens) / n
        if phase is IMPLEMENTATION:
            war += self.implementation.signatory_violence
        self.war_violence = war

    def suffer(self) -> None:
        """Pain accumulates from this month's violence and diplomats' pressure, and fades."""
        p = self.p
        fighting = self.phase is CONFLICT or self.phase is TALKS
        hurt = self.war_violence + self.spoiler_activity.violence
        pressure = self.pressure
        for q in self.parties:
            q.feel_pain(hurt, pressure[q.idx] if fighting else 0.0, p)

    def perceive(self) -> None:
        """Each party's ripeness (ODD 7.1): its highest trust in the leader of a table that has a
        channel to it, its mean trust in the other main parties, the diplomats' incentives and,
        for a main party during talks, the draft text on the table."""
        p = self.p
        tables = self.coordination.tables
        index = self._perception
        if index is None or index[0] != self.trust.generation:
            index = self._perception = self._perception_index()
        seen = self._leaders_seen
        if seen is None or seen[0] is not tables:  # the columns of the leaders each party can reach
            col = self.trust.col
            heads = [(tb.channels, col[tb.leader.idx]) for tb in tables]
            seen = self._leaders_seen = (tables, [[c for channels, c in heads if q.idx in channels]
                                                  for q in self.parties])
        option = self.negotiation.progress if self.phase is TALKS else 0.0
        incentives = self.diplomacy.incentives
        groups = index[2]
        if groups is not None:  # a large cast: the means of trust in the other main parties at once
            flat = self.trust.values.ravel()
            means = [0.0] * len(self.parties)
            for at, cells, n in groups:
                # a cumulative sum along each row adds in the loop's order below, to the same bits
                for k, x in zip(at, (np.cumsum(flat.take(cells), axis=1)[:, -1] / n).tolist()):
                    means[k] = x
        for k, ((q, row, others), leaders) in enumerate(zip(index[1], seen[1])):
            best = 0.0
            for c in leaders:
                v = row[c]
                if v > best:
                    best = v
            if groups is not None:
                mean = means[k]
            elif others:  # mean trust in the other main parties, added in order
                total = 0.0
                for c in others:
                    total += row[c]
                mean = total / len(others)
            else:
                mean = 0.0
            q.perceive(best, mean, incentives[q.idx], option if q.at_table else 0.0, p)

    def _perception_index(self) -> tuple:
        """What perception reads, worked out once per cast and trust store: each party's row and
        the columns of the other main parties; for a large cast (:data:`PERCEPTION_ARRAY_SIZE`
        values or more), those columns as flat indices into the trust values, grouped by how many
        other main parties a party has (so that each group is one rectangular array)."""
        rows = self.trust.rows
        entries = [(q, rows[q.idx], [c for j, c in self._main_cols if j != q.idx]) for q in self.parties]
        groups = None
        if sum(len(others) for _, _, others in entries) >= PERCEPTION_ARRAY_SIZE:
            width = self.trust.values.shape[1]
            by_size: dict[int, tuple[list[int], list[list[int]]]] = {}
            for k, (q, _, others) in enumerate(entries):
                if others:
                    at, cells = by_size.setdefault(len(others), ([], []))
                    at.append(k)
                    cells.append([q.idx * width + c for c in others])
            groups = [(at, np.array(cells, dtype=np.intp), float(n)) for n, (at, cells) in by_size.items()]
        return self.trust.generation, entries, groups

    # ------------------------------------------------------------------ phases (ODD 7.9)
    def set_phase(self, new: Phase) -> None:
        if new not in ALLOWED_TRANSITIONS[self.phase]:
            raise RuntimeError(f"illegal phase transition {self.phase.name} -> {new.name}")
        self.phase = new

    def pre_talks(self, month: int) -> None:
        """Mediators estimate ripeness and propose talks; a premature proposal costs trust."""
        tb = self.negotiation.propose(month)
        if tb is not None:
            self.open_talks(month, tb)

    def open_talks(self, month: int, tb: Table) -> None:
        self.set_phase(TALKS)
        self.negotiation.open(tb)
        for q in self.parties:
            q.low_months = 0
        self.count("talks_opened")
        self.events.add(month, "talks_open", (tb.leader.name,),
                        ripeness=min(q.ripeness for q in self.at_table), tables=len(self.coordination))

    def negotiate(self, month: int) -> None:
        """Talks advance with ripeness and the table's effectiveness; they can leak, shift or collapse."""
        verdict = self.negotiation.advance(month)
        if verdict is None:
            return
        what, why = verdict
        if what == "collapse":
            self.collapse_talks(month, why)
        else:
            self.sign(month)

    def collapse_talks(self, month: int, why: str) -> None:
        self.negotiation.collapse()
        self.count("breakdowns")
        self.set_phase(CONFLICT)
        for q in self.parties:
            q.eff_ripeness = q.ripeness
        self.events.add(month, "talks_collapse", (), why=why)

    def sign(self, month: int) -> None:
        """The parties that are ripe enough sign; those left out may turn spoiler (seed 001)."""
        drafted = self.negotiation.draft(month, len(self.episodes) + 1)
        if drafted is None:
            return
        agreement, guarantor = drafted
        for q in self.parties:
            if q.name in agreement.signatories:
                q.sign()
            else:
                q.stay_out()
        self.set_phase(IMPLEMENTATION)
        # Donors fund an implementation programme from signature; its renewals thin afterwards.
        self.funding.fund_programme(month)
        self.implementation.start(agreement, guarantor)
        self.events.add(month, "signed", (agreement.mediator,) + agreement.signatories,
                        scope=agreement.scope, inclusion=agreement.inclusion,
                        pressure_share=agreement.pressure_share,
                        left_out=ACTOR_SEPARATOR.join(agreement.left_out), verification=agreement.verification,
                        guarantee=agreement.guarantee)

    def implement(self, month: int) -> None:
        """Implementation advances with commitment, funding, verification and follow-through."""
        verdict = self.implementation.advance(month)
        if verdict is None:
            return
        what, cause = verdict
        if what == "relapse":
            self.relapse(month, cause)
        else:
            self.implementation.end(month, relapsed=False, cause="consolidated", consolidated=True)
            self.set_phase(CONSOLIDATED)
            self.events.add(month, "consolidated", (), implementation=self.implementation.progress)

    def relapse(self, month: int, cause: str) -> None:
        p = self.p
        self.implementation.end(month, relapsed=True, cause=cause, consolidated=False)
        self.set_phase(CONFLICT)
        self.trust.cut_between_parties(RELAPSE_TRUST_COST)
        for q in self.parties:
            q.agreement_ended()
        for tp in self.third_parties:
            tp.cooldown = RELAPSE_COOLDOWN_FACTOR * p.proposal_cooldown
        self.negotiation.table = None
        self.events.add(month, "relapse", (), cause=cause, implementation=self.implementation.progress)

    # ------------------------------------------------------------------ interventions
    def apply_planned(self, month: int) -> None:
        """Apply the interventions planned for the start of ``month``."""
        plan = self.plan
        while self._next_planned < len(plan) and plan[self._next_planned].month <= month:
            x = plan[self._next_planned]
            self._next_planned += 1
            self._apply(x.kind, x.args, month)

    def intervene(self, kind: str, /, **arguments: Any) -> None:
        """Apply an intervention now, between steps: it takes effect at the start of the next month.

        ``kind`` is one of :data:`peacesim.interventions.INTERVENTIONS` (``peacesim
        interventions`` lists them with their arguments). Bad arguments raise
        :class:`~peacesim.errors.InputError` with one line saying what is allowed.
        """
        where = f"{kind} at month {self.month + 1}"
        if not self.running:
            raise InputError(f"{where}: the run has ended (month {self.month} of {self.months})")
        args = check_arguments(kind, arguments, where=where, roster=self.roster())
        self._check_rest_of_plan(kind, args, where)
        self._apply(kind, args, self.month + 1)

    def _check_rest_of_plan(self, kind: str, args: dict[str, Any], where: str) -> None:
        """Refuse an intervention by hand that would leave a planned one impossible (one that
        names a third party this withdraws, or adds a mediator under a name this takes), as the
        same two in one plan are refused: the planned one could not be carried out, and a replay
        of the session would be refused."""
        roster = self.roster()
        roster.after(kind, args)
        for x in self.plan[self._next_planned:]:
            label = f"the planned intervention {x.label or x.kind!r} of month {x.month}"
            try:
                roster.after(x.kind, check_arguments(x.kind, x.args, where=label, roster=roster))
            except InputError as exc:
                why = str(exc).removeprefix(f"{label}: ")
                raise InputError(f"{where}: not possible, because {label} could then not be carried out: "
                                 f"{why}") from None

    def roster(self) -> Roster:
        """The actors interventions may name now (withdrawn third parties excluded)."""
        roster = Roster({"party": [{"name": q.name} for q in self.parties],
                         "spoiler": [{"name": s.name} for s in self.spoilers],
                         "mediator": [{"name": x.name} for x in self.mediators],
                         "diplomat": [{"name": x.name} for x in self.diplomats],
                         "local": [{"name": g} for g in self.local.groups]})
        roster.withdrawn = {tp.name for tp in self.third_parties if tp.withdrawn}
        return roster

    def actor(self, name: str):
        """The agent called ``name``."""
        for a in (*self.parties, *self.spoilers, *self.third_parties):
            if a.name == name:
                return a
        raise KeyError(name)

    def _apply(self, kind: str, args: dict[str, Any], month: int) -> None:
        """Carry out a validated intervention at the start of ``month`` and log it (before the
        events it causes)."""
        mark = len(self.events)
        actors, effect = INTERVENTIONS[kind].apply(self, args, month)
        self.count("interventions")
        self.applied_interventions.append({"month": month, "kind": kind, **args})
        self.events.insert(mark, month, "intervention", actors, intervention=kind, **args, **effect)

    # The operations interventions are made of; each changes one part's state through its methods.
    def cut_funding(self, tp: ThirdParty, month: int, months: int) -> None:
        """``tp``'s money stops at ``month``, for ``months`` months (0: until restored)."""
        self.funding.cut(tp, month, months)
        self._funding_changed()

    def restore_funding(self, tp: ThirdParty, month: int) -> None:
        self.funding.restore(tp, month)
        self._funding_changed()

    def withdraw(self, tp: ThirdParty) -> None:
        """``tp`` leaves the field for good: its post stays vacant."""
        tp.withdrawn = True
        self.funding.stop(tp)
        self._funding_changed()

    def set_parameter(self, name: str, value: Any) -> Any:
        """A model-wide parameter takes a new value from now on; returns the old one."""
        old = getattr(self.p, name)
        setattr(self.p, name, value)
        self._refresh_derived()
        return old

    def stage_attack(self, spoiler: Spoiler, month: int) -> None:
        """``spoiler`` attacks now; whether it is attributed is drawn from the interventions' stream."""
        self.spoiler_activity.strike(month, spoiler, spoiler.capacity, self.streams.interventions.random())

    def start_campaign(self, kind: str, party: ConflictParty, strength: float, month: int, months: int) -> None:
        """Pressure or incentives on ``party`` from ``month`` for ``months`` months (applied by
        :meth:`peacesim.diplomacy.Diplomacy.step`)."""
        self.diplomacy.campaigns.append((kind, party.idx, strength, month + months - 1))

    def _funding_changed(self) -> None:
        self.coordination.check()
        self.local.funding_changed(self.funding.funded)

    def add_mediator(self, args: dict[str, Any], month: int) -> Mediator:
        """A mediator joins the field at ``month`` (an intervention)."""
        spec = mediator_spec(args)
        idx = self.trust.grow(1)[0]
        self.n_actors += 1
        if spec["lead"]:
            for x in self.mediators:
                x.lead = False
        tp = Mediator(self, spec, idx, arriving=True)
        self.mediators.append(tp)
        self.third_parties = self.mediators + self.diplomats
        self._place(tp, spec)
        self._bias_trust(tp)
        self.funding.add(tp, month)
        self._refresh_derived()
        return tp

    # ------------------------------------------------------------------ reading the model while it runs
    @property
    def datacollector(self) -> SeriesView:
        """The months recorded so far, with Mesa's ``DataCollector`` reading methods
        (``get_model_vars_dataframe()`` is what SolaraViz's plot components call). A subclass may
        set a ``mesa.DataCollector`` of its own instead."""
        own = self.__dict__.get("_own_collector")
        return own if own is not None else SeriesView(self)

    @datacollector.setter
    def datacollector(self, collector) -> None:
        self.__dict__["_own_collector"] = collector

    def network(self):
        """A snapshot of the actor network at the current month, for drawing: a
        ``networkx.DiGraph`` whose nodes are the actors (by name) with ``kind``, ``state``,
        ``funded`` and ``vacant``, and whose edges ``(a, b)`` carry ``trust``, how far ``a``
        trusts ``b``, between every two of the parties, spoilers, mediators and diplomats. Local
        mechanisms are nodes without trust edges (no rule reads their trust)."""
        import networkx as nx

        g = nx.DiGraph(month=self.month, phase=self.phase.label)
        lead = self.negotiation.table.leader if self.negotiation.table is not None else None
        talks = self.phase is TALKS
        for q in self.parties:
            state = ("signatory" if q.signatory else "left out" if q.excluded
                     else "negotiating" if talks and q.at_table else "fighting" if self.phase < IMPLEMENTATION
                     else "outside")
            g.add_node(q.name, kind="party", state=state, funded=True, vacant=False, ripeness=q.ripeness,
                       commitment=q.commitment, strength=q.strength, idx=q.idx)
        for sp in self.spoilers:
            g.add_node(sp.name, kind="spoiler", state=sp.type.value, funded=True, vacant=False,
                       capacity=sp.capacity, inside=sp.inside, idx=sp.idx)
        for tp in self.third_parties:
            state = "withdrawn" if tp.withdrawn else "active" if tp.active else "in a funding gap"
            g.add_node(tp.name, kind=tp.kind, state=state, funded=tp.active, vacant=tp.withdrawn,
                       leading=tp is lead, person=tp.person, knowledge=tp.knowledge, idx=tp.idx)
        for lm in self.local.agents:
            g.add_node(lm.name, kind="local", state="linked" if lm.linked else "unlinked", funded=lm.funded,
                       vacant=False, protected=lm.protected, capacity=lm.capacity, idx=lm.idx)
        get = self.trust.get
        actors = [*self.parties, *self.spoilers, *self.third_parties]
        for a in actors:
            for b in actors:
                if a is not b:
                    g.add_edge(a.name, b.name, trust=float(get(a.idx, b.idx)))
        return g

    # ------------------------------------------------------------------ what the model reports
    @property
    def episodes(self) -> list[Agreement]:
        """Agreement episodes that have ended (and, after the horizon, the one censored there)."""
        return self.implementation.episodes

    @property
    def agreement(self) -> Agreement | None:
        """The agreement in force, or None."""
        return self.implementation.agreement

    @property
    def phase_code(self) -> int:
        return int(self.phase)

    @property
    def signatory_violence(self) -> float:
        return self.implementation.signatory_violence if self.phase is IMPLEMENTATION else 0.0

    @property
    def local_violence(self) -> float:
        return self.local.violence

    @property
    def trust_parties(self) -> float:
        """Mean trust between the main parties."""
        return self.trust.between_parties()

    @property
    def negotiation_progress(self) -> float:
        return self.negotiation.progress if self.phase is TALKS else 0.0

    @property
    def implementation_progress(self) -> float:
        return self.implementation.progress if self.phase is IMPLEMENTATION else 0.0

    @property
    def spoiler_capacity(self) -> float:
        return sum([s.capacity for s in self.spoilers])

    @property
    def attacks(self) -> int:
        """Attacks carried out this month."""
        return self.spoiler_activity.attacks

    @property
    def mediators_active(self) -> int:
        return self.funding.active["mediator"]

    @property
    def diplomats_active(self) -> int:
        return self.funding.active["diplomat"]

    @property
    def project_funded(self) -> float:
        return self.funding.project_funded_share()

    @property
    def locals_linked(self) -> int:
        return self.local.n_linked

    @property
    def public_support(self) -> float:
        return self.local.public_support

    @property
    def early_warning(self) -> float:
        return self.local.early_warning

    @property
    def tables(self) -> list[Table]:
        """This month's negotiating tables."""
        return self.coordination.tables


class _Params:
    """The model-wide parameters as attributes (``p.handover_quality``); an intervention may change
    one from a month on (:meth:`PeaceModel.intervene`)."""

    def __init__(self, values: dict[str, Any]):
        self.__dict__.update(values)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _seed(rng: Any) -> int:
    """The run's seed: a whole number >= 0, or one drawn from the operating system if None."""
    if rng is None:
        return int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0] >> 1)
    if isinstance(rng, str) and rng.strip().isdigit():  # typed into a form (SolaraViz's InputText)
        rng = int(rng.strip())
    if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)) or rng < 0:
        raise InputError(f"rng = {words(rng)} is not allowed; expected the run's seed, a whole number >= 0")
    return int(rng)


class SeriesView:
    """A ``mesa.DataCollector``-compatible view of the months a model has recorded so far.

    It reads the model's recorder (one row per month, written by every step
    anyway), so it costs nothing until it is read.
    """

    def __init__(self, model: PeaceModel):
        self._model = model

    def collect(self, model: PeaceModel | None = None) -> None:
        """Nothing to do: every step records its month."""

    @property
    def model_vars(self) -> dict[str, list]:
        """Column -> values for the months so far (as ``DataCollector.model_vars``)."""
        df = self.get_model_vars_dataframe()
        return {c: df[c].tolist() for c in df.columns}

    def get_model_vars_dataframe(self):
        """The per-month series so far, indexed by month (1, 2, ...)."""
        return self._model.recorder.frame().set_index("month")

    def get_agent_vars_dataframe(self):
        """Per-party series so far (ripeness, commitment, pain, belief in victory), indexed by
        (Step, AgentID) as Mesa's agent reporters are."""
        import pandas as pd

        m = self._model
        df = m.recorder.frame()
        rows = []
        for q, sl in zip(m.parties, m.recorder.party_slugs, strict=True):
            part = df[["month", *(f"{v}_{sl}" for v in PARTY_SERIES)]].copy()
            part.columns = ["Step", *PARTY_SERIES]
            part.insert(1, "AgentID", q.unique_id)
            part.insert(2, "name", q.name)
            rows.append(part)
        return pd.concat(rows, ignore_index=True).set_index(["Step", "AgentID"]).sort_index()
