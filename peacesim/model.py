"""The peace-process model: a Mesa model whose ``step()`` follows docs/ODD.md section 3.

The model is a function of (scenario parameters, seed). It does no file I/O and no plotting; it
fills preallocated arrays and an event list that :mod:`peacesim.records` turns into tidy tables.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import mesa
import numpy as np

from . import rules
from .agents import (
    ALLOWED_TRANSITIONS,
    ConflictParty,
    Diplomat,
    LocalMechanism,
    Mediator,
    Phase,
    Spoiler,
    SpoilerType,
    ThirdParty,
)
from .funding import FundingStreams
from .records import EventLog, Recorder
from .scenario import Scenario

__all__ = ["PeaceModel", "Table"]

_MILESTONES = (0.25, 0.5, 0.75, 1.0)


class Table:
    """One negotiating table: the mediators (and diplomats) working it together this month.

    Membership, channels and leverage change only when funding or staff change; effectiveness
    depends on this month's trust and context knowledge and is computed when talks need it.
    """

    __slots__ = ("leader", "members", "diplomats", "leverage", "channels", "style", "coordinated")

    def __init__(self, leader, members, diplomats, leverage, channels, style, coordinated):
        self.leader = leader
        self.members = members
        self.diplomats = diplomats
        self.leverage = leverage
        self.channels = channels  # set of party indices it can talk to
        self.style = style
        self.coordinated = coordinated


class PeaceModel(mesa.Model):
    """Agent-based model of a peace process.

    Parameters
    ----------
    scenario:
        A validated :class:`~peacesim.scenario.Scenario` (overrides already applied).
    rng:
        Seed or ``numpy.random.Generator``; every random draw in the run comes from it.
    """

    def __init__(self, scenario: Scenario, *, rng: Any = None):
        super().__init__(rng=rng)
        self.scenario_spec = scenario
        self.p = p = SimpleNamespace(**scenario.params)
        self.months = p.months
        self.phase = Phase.CONFLICT
        self.events = EventLog()

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
        party_index = {q.name: q.idx for q in self.parties}
        for tp, spec in zip(self.mediators + self.diplomats, a["mediator"] + a["diplomat"]):
            tp.bias_toward = party_index.get(spec["bias_toward"]) if spec["bias_toward"] else None
        self.third_parties: list[ThirdParty] = self.mediators + self.diplomats
        for tp in self.third_parties:
            # Channels are fixed by who may talk to proscribed groups (seed 003).
            tp.reach = frozenset(q.idx for q in self.parties if tp.can_talk_to(q))
            tp.reach_rows = np.array([q.idx for q in self.parties if q.at_table and q.idx in tp.reach], dtype=np.int64)
            tp.disfavoured = np.array([q.idx != tp.bias_toward for q in self.parties if q.at_table and q.idx in tp.reach], dtype=float)

        # Local mechanisms: agents for identity, arrays for the vectorised monthly rule.
        self.locals: list[LocalMechanism] = []
        cap, leg, linked, funded, protected = [], [], [], [], []
        for spec in a["local"]:
            for k in range(spec["count"]):
                name = spec["name"] if spec["count"] == 1 else f"{spec['name']} #{k + 1}"
                self.locals.append(LocalMechanism(self, {"name": name}, idx, len(cap)))
                idx += 1
                cap.append(spec["capacity"])
                leg.append(spec["legitimacy"])
                linked.append(spec["linked"])
                funded.append(spec["funded"])
                protected.append(spec["protected"])
        self.local_capacity = np.array(cap, dtype=float)
        self.local_legitimacy = np.array(leg, dtype=float)
        self.local_linked = np.array(linked, dtype=bool)
        self.local_has_funding = np.array(funded, dtype=bool)
        self.local_protected = np.array(protected, dtype=bool)
        self.n_actors = idx

        # Funding streams: third parties, funded local mechanisms, and the implementation programme.
        core = [tp.core_funded for tp in self.third_parties]
        for i, tp in enumerate(self.third_parties):
            tp.stream = i
        n_tp = len(core)
        self._local_stream = np.full(len(cap), -1, dtype=np.int64)
        for li in np.flatnonzero(self.local_has_funding):
            self._local_stream[li] = len(core)
            core.append(False)
        self._programme_stream = len(core)
        core.append(False)
        self.funding = FundingStreams(core, self.rng, p.grant_length)
        self._n_tp = n_tp
        self.local_funded_now = self.local_has_funding.copy()

        # Directed trust between every pair of actors (row trusts column).
        self.trust = self._initial_trust()
        self.at_table = [q for q in self.parties if q.at_table]
        self._pair_index = [(q.idx, r.idx) for q in self.at_table for r in self.at_table if q is not r]
        self._table_rows = [q.idx for q in self.at_table]
        self._local_dirty = True
        self._gap_cols: list[int] = []
        self._tables_dirty = True
        self._retained = rules.retained_share(p.institutional_share, p.handover_quality, p.team_continuity)

        # Process state.
        self.month = 0
        self.table: Table | None = None
        self.tables: list[Table] = []
        self.progress = 0.0
        self.talk_months = 0
        self.implementation = 0.0
        self.signatory_violence = 0.0
        self.high_violence_months = 0
        self.next_milestone = 0
        self.last_milestone_month = -999
        self.signed_month = -1
        self.agreement: dict[str, Any] | None = None
        self._guarantor_agent: Diplomat | None = None  # the diplomat guaranteeing the current agreement
        self.episodes: list[dict[str, Any]] = []
        self.public_support = 0.0
        self.local_strength = 0.0
        self.early_warning = 0.0
        self.incentives = [0.0] * len(self.parties)
        self.violence = 0.0
        self.war_violence = 0.0
        self.local_violence = 0.0
        self.attacks = 0
        self._attack_violence = 0.0
        self._pressure = [0.0] * len(self.parties)
        self._blamed_attacks = 0
        self.counters = dict(talks_opened=0, premature_proposals=0, breakdowns=0, attacks=0, foiled=0,
                             rotations=0, funding_gaps=0, local_funding_gaps=0, forum_shifts=0, leaks=0, violations=0)
        self._mediator_pos = {m.idx: k for k, m in enumerate(self.mediators)}
        self._time_share = np.ones(len(self.mediators))
        self._facil = self._facilitation_index()
        self.management_effects = {
            "inducement": p.inducement_effect,
            "socialization": p.socialization_effect,
            "coercion": p.coercion_effect,
            "backfire": p.backfire,
        }
        self.recorder = Recorder(self, p.months)

    # ------------------------------------------------------------------ set-up
    def _initial_trust(self) -> np.ndarray:
        p = self.p
        n = self.n_actors
        t = np.full((n, n), p.trust_baseline)
        np.fill_diagonal(t, 1.0)
        for q in self.parties:
            for r in self.parties:
                if q is not r:
                    t[q.idx, r.idx] = self.scenario_spec.actors["party"][q.idx]["trust"]
        for tp in self.third_parties:
            if tp.bias_toward is not None and tp.bias > 0:
                for q in self.parties:
                    delta = 0.3 * tp.bias * (1.0 if q.idx == tp.bias_toward else -1.0)
                    t[q.idx, tp.idx] = rules.clip01(t[q.idx, tp.idx] + delta)
        return t

    def _facilitation_index(self) -> dict[str, Any] | None:
        """Index arrays for the batched facilitation rule (fixed for the run)."""
        rows, cols, owner, cost = [], [], [], []
        parties = self._table_rows
        pos = {q: k for k, q in enumerate(parties)}
        pairs = np.zeros((len(self.mediators), len(parties), len(parties)))
        for k, m in enumerate(self.mediators):
            for q, dis in zip(m.reach_rows.tolist(), m.disfavoured.tolist()):
                rows.append(q)
                cols.append(m.idx)
                owner.append(k)
                cost.append(self.p.bias_trust_cost * m.bias * dis if m.bias_toward is not None else 0.0)
            r = [pos[q] for q in m.reach_rows.tolist()]
            pairs[k][np.ix_(r, r)] = 1.0
        if not rows:
            return None
        for k in range(len(parties)):
            pairs[:, k, k] = 0.0  # self-trust is not built by facilitation
        return {
            "rows": np.array(rows), "cols": np.array(cols), "owner": np.array(owner),
            "bias_cost": np.array(cost), "reach_pairs": pairs.reshape(len(self.mediators), -1),
            "block_shape": (len(parties), len(parties)),
            "skill": np.array([m.skill for m in self.mediators]),
            "streams": np.array([m.stream for m in self.mediators]),
            "party_block": np.ix_(parties, parties),
        }

    # ------------------------------------------------------------------ the month
    def step(self) -> None:
        """One month, in the order of docs/ODD.md section 3 (process overview and scheduling)."""
        self.month = self.steps
        self.attacks = 0
        self._blamed_attacks = 0
        self.fund()
        self.rotate_staff()
        self.form_tables()
        self.diplomacy()
        self.facilitate()
        self.fight()
        self.local_mechanisms()
        self.spoiler_activity()
        self.suffer()
        self.perceive()
        if self.phase is Phase.CONFLICT:
            self.pre_talks()
        elif self.phase is Phase.TALKS:
            self.negotiate()
        elif self.phase is Phase.IMPLEMENTATION:
            self.implement()
        self.violence = rules.clip01(self.war_violence + self.local_violence + self._attack_violence)
        rules.drift_toward(self.trust, self.p.trust_baseline, self.p.trust_drift)
        self.recorder.record(self.month - 1)

    def run(self) -> None:
        """Run to the horizon."""
        for _ in range(self.months):
            self.step()
        self.close()

    def close(self) -> None:
        """Censor an agreement still running at the horizon."""
        if self.agreement is not None:
            self._end_episode(relapse=False, cause="censored at the horizon", consolidated=False)

    # ------------------------------------------------------------------ funding (ODD 7.4)
    def fund(self) -> None:
        """Grants end, are renewed or lapse into gaps; support thins after signature (ODD 7.4)."""
        p = self.p
        renewal = p.renewal_probability
        if self.phase is Phase.IMPLEMENTATION:
            renewal *= p.post_signature_support
        fs = self.funding
        lapsed, resumed = fs.step(self.month, p.grant_length, renewal, p.gap_months, p.contingency_fund)
        if lapsed:
            n_local = 0
            for s in lapsed:
                if s < self._n_tp:
                    self.counters["funding_gaps"] += 1
                    self.events.add(self.month, "funding_lapse", (self.third_parties[s].name,),
                                    months=fs.months_left_in_gap(s, self.month))
                elif s == self._programme_stream:
                    if self.phase is Phase.IMPLEMENTATION:
                        self.events.add(self.month, "programme_lapse", (), months=fs.months_left_in_gap(s, self.month))
                else:
                    n_local += 1
            if n_local:
                self.counters["local_funding_gaps"] += n_local
                self.events.add(self.month, "local_funding_lapse", (), count=n_local)
        for s in resumed:
            if s < self._n_tp:
                self.events.add(self.month, "funding_resumed", (self.third_parties[s].name,))
        funded = fs.funded
        if fs.changed:
            self._tables_dirty = True
            has = self.local_has_funding
            if has.any():
                self.local_funded_now = has.copy()
                self.local_funded_now[has] = funded[self._local_stream[has]]
                self._local_dirty = True
            self._gap_cols = [tp.idx for tp in self.third_parties if not funded[tp.stream]]
        if self._gap_cols:
            # Relationships of third parties in a gap decay: nobody is there to keep them.
            cols = self.trust[:, self._gap_cols]
            self.trust[:, self._gap_cols] = cols + p.gap_trust_decay * (p.trust_baseline - cols)

    # ------------------------------------------------------------------ rotation (ODD 7.3)
    def rotate_staff(self) -> None:
        for tp in self.third_parties:
            if tp.serve():
                self.rotate(tp)

    def rotate(self, tp: ThirdParty) -> None:
        """A new person takes the post and inherits part of the predecessor's relationship capital."""
        p = self.p
        share = self._retained
        t = self.trust
        before = t[[q.idx for q in self.at_table], tp.idx].copy()
        t[:, tp.idx] = rules.handover(t[:, tp.idx], p.trust_baseline, share)
        t[tp.idx, :] = rules.handover(t[tp.idx, :], p.trust_baseline, share)
        t[tp.idx, tp.idx] = 1.0
        tp.rotate()
        self._tables_dirty = True
        self.counters["rotations"] += 1
        after = t[[q.idx for q in self.at_table], tp.idx]
        k = int(np.argmax(before - after))
        self.events.add(self.month, "rotation", (tp.name, self.at_table[k].name), share=share,
                        before=float(before[k]), after=float(after[k]), person=tp.person)
        if (self.phase is Phase.TALKS and p.coordination == "hierarchical" and self.table is not None
                and tp is self.table.leader):
            # Single point of failure: the whole table waits for the new lead to take over.
            loss = self.progress * p.lead_rotation_setback * (1.0 - share)
            self.progress -= loss
            self.events.add(self.month, "lead_rotation_setback", (tp.name,), lost=loss)

    # ------------------------------------------------------------------ tables and coordination (ODD 7.5)
    def form_tables(self) -> None:
        """Group the active third parties into negotiating tables under the coordination strategy.

        Tables are rebuilt only when someone's funding status changed or a post rotated.
        """
        if not self._tables_dirty:
            return
        self._tables_dirty = False
        strategy = self.p.coordination
        active_m = [m for m in self.mediators if m.active]
        quasi = [d for d in self.diplomats if d.quasi and d.active]
        support_d = [d for d in self.diplomats if d.active and not d.quasi]
        # Each table: (leader, members, supporting diplomats, coordinated).
        specs: list[tuple] = []
        if strategy == "none":
            specs = [(m, [m], [], False) for m in active_m]
        elif active_m:
            if strategy == "contact_group":
                support_d = support_d + quasi
                quasi = []
            lead = self._lead(active_m, strategy)
            if lead is not None:
                specs.append((lead, active_m, support_d, True))
        specs += [(d, [d], [], False) for d in quasi]
        # Every other table is a forum the parties can play against this one (leverage dilution).
        competing = len(specs) - 1
        self.tables = [self._table(*s, competing=competing) for s in specs]
        # Coordinated mediators spend part of their time coordinating: less is left for the parties.
        share = np.ones(len(self.mediators))
        for leader, members, diplomats, coordinated in specs:
            if coordinated:
                n = len(members) + (len(diplomats) if strategy == "contact_group" else 0)
                s = self._coordination_share(n)
                for mm in members:
                    share[self._mediator_pos[mm.idx]] = s
        self._time_share = share

    def _lead(self, active: list[Mediator], strategy: str) -> Mediator | None:
        designated = [m for m in self.mediators if m.lead]
        if strategy == "hierarchical" and designated:
            # Under a hierarchical lead, no one else can step in while the lead is out.
            return designated[0] if designated[0].active else None
        if designated and designated[0].active:
            return designated[0]
        return max(active, key=lambda m: m.skill * m.knowledge + m.leverage)

    def _table(self, leader, members, diplomats, coordinated: bool, *, competing: int) -> Table:
        p = self.p
        channels = set().union(*(m.reach for m in members))
        if coordinated:
            levs = sorted((x.leverage for x in members + diplomats), reverse=True)
            lev = rules.clip01(levs[0] + 0.25 * sum(levs[1:]))
            for d in diplomats:
                channels |= d.reach
        else:
            lev = leader.leverage
        lev = rules.diluted_leverage(lev, competing, p.leverage_dilution)
        return Table(leader, members, diplomats, lev, channels, leader.style, coordinated)

    def effectiveness(self, tb: Table) -> float:
        """How much a table moves the talks this month (ODD 7.5).

        A member's effectiveness is its skill and context knowledge scaled by the main parties'
        trust in it; supporting mediators and diplomats add with diminishing returns, and
        coordination costs grow with the number of members.
        """
        p = self.p
        t = self.trust
        rows = self._table_rows

        def party_trust(tp: ThirdParty) -> float:
            return sum(t[i, tp.idx] for i in rows) / len(rows)

        e_lead = tb.leader.effectiveness(party_trust(tb.leader))
        if not tb.coordinated:
            return e_lead
        support = sum(m.effectiveness(party_trust(m)) for m in tb.members if m is not tb.leader)
        support += sum(0.5 * d.leverage * d.knowledge for d in tb.diplomats)
        n = len(tb.members) + (len(tb.diplomats) if p.coordination == "contact_group" else 0)
        eff = rules.support_gain(e_lead, support, p.support_returns)
        return eff * self._coordination_share(n)

    def _coordination_share(self, n: int) -> float:
        """Share of a coordinated mediator's time left for the parties (ODD 7.5)."""
        p = self.p
        return rules.coordination_efficiency(n, p.coordination_cost * (1.0 - p.coordination_earmark), p.coordination,
                                             p.coordination_exponent)

    # ------------------------------------------------------------------ diplomats (ODD 7.7)
    def diplomacy(self) -> None:
        """Pressure (pain), incentives (way out), and the trust cost of partial public statements."""
        p = self.p
        war = self.phase in (Phase.CONFLICT, Phase.TALKS)
        inc = [0.0] * len(self.parties)
        self._pressure = [0.0] * len(self.parties)
        t = self.trust
        for d in self.diplomats:
            if not d.active:
                continue
            lev = d.leverage * d.knowledge
            for q in self.parties:
                if q.idx not in d.reach and not war:
                    continue
                favoured = d.bias_toward == q.idx
                weight = (1.0 - d.bias) if (d.bias_toward is not None and not favoured) else 1.0
                if war:
                    # Pressure lands hardest on the side the diplomat does not favour.
                    self._pressure[q.idx] += p.pressure_rate * lev * d.pressure_share * (1.0 if not favoured else 1.0 - d.bias)
                if q.idx in d.reach:
                    inc[q.idx] += lev * (1.0 - d.pressure_share) * weight
                if d.bias_toward is not None and not favoured:
                    t[q.idx, d.idx] = max(0.0, t[q.idx, d.idx] - p.bias_trust_cost * d.bias)
        self.incentives = [min(1.0, x) for x in inc]

    # ------------------------------------------------------------------ facilitation (ODD 7.2)
    def facilitate(self) -> None:
        """Funded mediators in post build trust in small steps: the 'gold digging' of seed 003.

        Trust of each main party a mediator can reach rises by ``gain`` of its gap to 1, where
        ``gain = facilitation_gain · skill · knowledge``; trust between two parties it reaches rises
        by half that (shuttling); a biased mediator first loses ``bias_trust_cost · bias`` of the
        trust of each party it does not favour. All mediators act at once, as a product of their
        effects, so a month costs a few array operations however many mediators there are.
        """
        fc = self._facil
        if fc is None:
            return
        p = self.p
        t = self.trust
        funded = self.funding.funded
        active = funded[fc["streams"]]
        if not active.any():
            return
        gain = (p.facilitation_gain * fc["skill"] * np.array([m.knowledge for m in self.mediators]) * active
                * self._time_share)
        # party -> mediator trust
        rows, cols, owner, cost = fc["rows"], fc["cols"], fc["owner"], fc["bias_cost"]
        v = np.maximum(0.0, t[rows, cols] - cost * active[owner])
        g = gain[owner]
        t[rows, cols] = v + g * (1.0 - v)
        # party <-> party trust: coordinated mediators divide the labour, so the gap to 1 shrinks by
        # the product of (1 - gain/2) over the mediators reaching both parties; uncoordinated ones
        # duplicate each other's shuttling (seed 003), so only the strongest effort counts.
        if p.coordination == "none":
            keep = 1.0 - 0.5 * (gain[:, None] * fc["reach_pairs"]).max(axis=0)
        else:
            keep = np.exp(np.log1p(-0.5 * gain) @ fc["reach_pairs"])
        ix = fc["party_block"]
        t[ix] = 1.0 - (1.0 - t[ix]) * keep.reshape(fc["block_shape"])

    # ------------------------------------------------------------------ fighting (ODD 7.1)
    def fight(self) -> None:
        p = self.p
        phase = self.phase
        fighting = phase in (Phase.CONFLICT, Phase.TALKS)
        warring = self.parties if fighting else [q for q in self.parties if q.excluded]
        war = 0.0
        if warring:
            u = self.rng.random(len(warring))
            # The first party listed is the incumbent; every other party fights it, and it fights
            # them all together.
            incumbent = self.parties[0]
            challengers = sum(q.strength for q in self.parties[1:] if q in warring or fighting)
            intens = []
            for k, q in enumerate(warring):
                x = q.resolve()
                if phase is Phase.TALKS and q.at_table:
                    x *= 1.0 - 0.6 * q.eff_ripeness  # engaging at the table lowers the fighting
                if not fighting:
                    x *= q.strength  # an excluded party fights as an armed spoiler
                intens.append(x)
                enemy = challengers if q is incumbent else incumbent.strength
                q.fight(enemy, u[k])
            war = sum(intens) / len(self.parties)
        if phase is Phase.IMPLEMENTATION:
            war += self.signatory_violence
        self.war_violence = war

    def suffer(self) -> None:
        """Pain accumulates from this month's violence and diplomats' pressure, and fades."""
        fighting = self.phase in (Phase.CONFLICT, Phase.TALKS)
        hurt = self.war_violence + self._attack_violence
        for q in self.parties:
            q.feel_pain(hurt, self._pressure[q.idx] if fighting else 0.0)

    # ------------------------------------------------------------------ local mechanisms (ODD 7.8)
    def local_mechanisms(self) -> None:
        """Local dispute resolution, public support, early warning, linkage and exposure (seeds 000, 001, 003)."""
        p = self.p
        conflict_factor = 1.0 if self.phase is Phase.CONFLICT else 0.6
        if not self.locals:
            self.public_support = self.local_strength = self.early_warning = 0.0
            self.local_violence = p.local_violence_base * conflict_factor
            return
        if self._local_dirty:
            self._local_aggregates()
        self.local_violence = p.local_violence_base * (1.0 - self.local_strength) * conflict_factor
        rng = self.rng
        # Vertical linkage: multi-track mediators link one more mechanism to track I now and then.
        if self.phase is not Phase.CONSOLIDATED and self._n_unlinked:
            for m in self.mediators:
                if m.links_local and m.active and rng.random() < p.linking_rate:
                    free = np.flatnonzero(~self.local_linked)
                    if free.size:
                        li = int(free[rng.integers(free.size)])
                        self.local_linked[li] = True
                        self._local_dirty = True
                        self.events.add(self.month, "local_linked", (m.name, self.locals[li].name))
        # Drawn into the national process without protection, a mechanism becomes a target (seed 003).
        if self._exposed.size and self.spoilers:
            threat = min(1.0, sum(s.capacity * s.resolve for s in self.spoilers if not s.inside))
            k = int(rng.binomial(self._exposed.size, p.target_risk * threat))
            if k:
                hit = rng.choice(self._exposed, size=k, replace=False)
                self.local_capacity[hit] *= 0.5
                self._local_dirty = True
                self.events.add(self.month, "local_targeted", (), count=k)

    def _local_aggregates(self) -> None:
        """Recompute what the local mechanisms add up to; only needed when one of them changed."""
        p = self.p
        eff = self.local_capacity * np.where(self.local_funded_now, 1.0, p.unfunded_capacity)
        legit = eff * self.local_legitimacy
        linked = self.local_linked
        self.local_strength = rules.saturating(float(legit.sum()), 0.5)
        self.public_support = rules.saturating(float((legit * (0.3 + 0.7 * linked)).sum()), 0.5)
        self.early_warning = p.early_warning * rules.saturating(float(eff[linked].sum()), 1.0)
        self._n_unlinked = int((~linked).sum())
        self._exposed = np.flatnonzero(linked & ~self.local_protected & (self.local_capacity > 0.05))
        self._local_dirty = False

    # ------------------------------------------------------------------ ripeness (ODD 7.1)
    def perceive(self) -> None:
        t = self.trust
        tables = self.tables
        option = self.progress if self.phase is Phase.TALKS else 0.0
        for q in self.parties:
            best = 0.0
            for tb in tables:
                if q.idx in tb.channels:
                    best = max(best, t[q.idx, tb.leader.idx])
            row = t[q.idx]
            others = [row[r.idx] for r in self.at_table if r is not q]
            other_trust = float(sum(others) / len(others)) if others else 0.0
            q.perceive(best, other_trust, self.incentives[q.idx], option if q.at_table else 0.0)

    # ------------------------------------------------------------------ spoilers (ODD 7.6)
    def spoiler_activity(self) -> None:
        p = self.p
        phase = self.phase
        self._attack_violence = 0.0
        if phase is Phase.CONSOLIDATED and not self.spoilers:
            return
        grievance = [q.grievances for q in self.parties if q.excluded or not q.at_table]
        grievance = sum(grievance) / len(grievance) if grievance else 0.3
        trust = self.mean_party_trust()
        milestone = (
            (phase is Phase.TALKS and self.talk_months <= 3)
            or (phase is Phase.IMPLEMENTATION
                and (self.month - self.signed_month <= 6 or self.month - self.last_milestone_month <= 2))
        )
        for s in self.spoilers:
            s.recruit(grievance, self.public_support, self.local_strength)
            self._maybe_attack(s, s.attack_chance(milestone, trust), s.capacity)
        if phase is Phase.IMPLEMENTATION:
            for q in self.parties:
                if q.excluded:
                    chance = rules.attack_probability(p.attack_rate, q.strength, q.hardliners, milestone, p.milestone_boost, trust)
                    self._maybe_attack(q, chance, q.strength)
        if phase in (Phase.TALKS, Phase.IMPLEMENTATION):
            self.manage_spoilers()

    def _maybe_attack(self, actor, chance: float, capacity: float) -> None:
        p = self.p
        rng = self.rng
        phase = self.phase
        if phase is Phase.CONFLICT:
            chance *= 0.5  # in open war attacks are part of the fighting, not a strategy against a process
        if rng.random() >= chance:
            return
        if phase in (Phase.TALKS, Phase.IMPLEMENTATION) and rng.random() < self.early_warning:
            self.counters["foiled"] += 1
            self.events.add(self.month, "attack_foiled", (actor.name,))
            return
        self.attacks += 1
        self.counters["attacks"] += 1
        self._attack_violence += 0.1 + 0.3 * capacity
        attributed = rng.random() < (p.attribution_with_verification if self._verified() else p.attribution_without)
        setback = 0.0
        if phase is Phase.IMPLEMENTATION:
            setback = min(self.implementation, p.attack_setback * (0.5 + capacity))
            self.implementation -= setback
        if not attributed and phase in (Phase.TALKS, Phase.IMPLEMENTATION):
            # Nobody can say who did it: the parties suspect each other (Kydd & Walter 2002).
            for i, j in self._pair_index:
                self.trust[i, j] = max(0.0, self.trust[i, j] - p.attack_trust_cost)
            if phase is Phase.IMPLEMENTATION:
                self._blamed_attacks += 1
        if phase is Phase.TALKS:
            for q in self.at_table:
                q.hardliners = min(1.0, q.hardliners + 0.02)
        self.events.add(self.month, "attack", (actor.name,), attributed=attributed, setback=setback,
                        phase=phase.label)

    def _verified(self) -> bool:
        return self.agreement is not None and self.agreement["verification"]

    def manage_spoilers(self) -> None:
        """The process's custodian diagnoses each spoiler and manages it (Stedman 1997)."""
        p = self.p
        tb = self._current_table() or (self.tables[0] if self.tables else None)
        if tb is None or not self.spoilers:
            return
        custodian = tb.leader
        joint = p.joint_analysis if (tb.coordinated and len(tb.members) > 1) else 0.0
        for s in self.spoilers:
            who = (custodian.idx, custodian.person)
            if s.diagnosed is None or s.diagnosed_by != who or self.month - s.diagnosed_month >= 12:
                wrong = self.rng.random() < p.diagnosis_error * (1.0 - 0.6 * custodian.skill * custodian.knowledge) * (1.0 - joint)
                if wrong:
                    others = [x for x in SpoilerType if x is not s.type]
                    diag = others[int(self.rng.integers(len(others)))]
                else:
                    diag = s.type
                if diag is not s.diagnosed:
                    self.events.add(self.month, "diagnosis", (custodian.name, s.name), read_as=diag.value,
                                    true_type=s.type.value)
                s.diagnosed, s.diagnosed_by, s.diagnosed_month = diag, who, self.month
            strategy = p.spoiler_strategy if p.spoiler_strategy != "diagnose" else rules.STRATEGY_FOR_TYPE[s.diagnosed.value]
            talks = any(m.can_talk_to(s) for m in tb.members)
            if strategy != "coercion" and not talks:
                continue  # inducement and socialization need a channel to the group
            s.be_managed(strategy, tb.leverage)

    # ------------------------------------------------------------------ phases (ODD 7.9)
    def set_phase(self, new: Phase) -> None:
        if new not in ALLOWED_TRANSITIONS[self.phase]:
            raise RuntimeError(f"illegal phase transition {self.phase.name} -> {new.name}")
        self.phase = new

    def mean_party_trust(self) -> float:
        t = self.trust
        return sum(t[i, j] for i, j in self._pair_index) / len(self._pair_index)

    def pre_talks(self) -> None:
        """Mediators estimate ripeness and propose talks; a premature proposal costs trust."""
        p = self.p
        rng = self.rng
        t = self.trust
        table_ids = {q.idx for q in self.at_table}
        for tp in self.third_parties:
            if tp.cooldown > 0:
                tp.cooldown -= 1
        for tb in self.tables:
            m = tb.leader
            if m.cooldown > 0:
                continue
            if not table_ids <= tb.channels:
                continue  # no channel to every main party: no proposal possible
            joint = p.joint_analysis if (tb.coordinated and len(tb.members) > 1) else 0.0
            sd = m.estimate_error(joint)
            # A leverage-heavy table brings parties to the table with carrots and sticks: what
            # counts is their ripeness with that push (Beardsley 2008), not only their own.
            push = p.leverage_push * tb.leverage if tb.style == "leverage" else 0.0
            estimate = min(rules.effective_ripeness(q.ripeness, push) + sd * rng.standard_normal()
                           for q in self.at_table)
            if estimate < p.ripeness_threshold:
                continue
            m.cooldown = p.proposal_cooldown
            unripe = [q for q in self.at_table if rules.effective_ripeness(q.ripeness, push) < p.ripeness_threshold]
            if unripe:
                self.counters["premature_proposals"] += 1
                for q in unripe:
                    t[q.idx, m.idx] = max(0.0, t[q.idx, m.idx] - p.premature_proposal_cost)
                for i, j in self._pair_index:
                    t[i, j] = max(0.0, t[i, j] - p.premature_proposal_cost / 3.0)
                self.events.add(self.month, "premature_proposal", (m.name, unripe[0].name),
                                ripeness=unripe[0].ripeness)
                continue
            self.open_talks(tb)
            return

    def open_talks(self, tb: Table) -> None:
        self.set_phase(Phase.TALKS)
        self.table = tb
        self.progress = 0.0
        self.talk_months = 0
        for q in self.parties:
            q.low_months = 0
        self.counters["talks_opened"] += 1
        self.events.add(self.month, "talks_open", (tb.leader.name,),
                        ripeness=min(q.ripeness for q in self.at_table), tables=len(self.tables))

    def _current_table(self) -> Table | None:
        if self.table is None:
            return None
        for tb in self.tables:
            if tb.leader is self.table.leader:
                return tb
        return None

    def negotiate(self) -> None:
        """Talks advance with ripeness and the table's effectiveness; they can leak, shift or collapse."""
        p = self.p
        rng = self.rng
        self.talk_months += 1
        tb = self._current_table()
        n_tables = len(self.tables)
        # Confidential pre-talks leak more easily the more uncoordinated actors are around.
        if self.talk_months <= 6 and n_tables > 1 and rng.random() < p.leak_risk * (n_tables - 1):
            self.counters["leaks"] += 1
            self.events.add(self.month, "leak", (), tables=n_tables)
            self.collapse_talks("confidential pre-talks leaked")
            return
        push = 0.0
        if tb is not None:
            self.table = tb
            if tb.style == "leverage":
                push = p.leverage_push * tb.leverage
        hard = None
        for q in self.at_table:
            q.eff_ripeness = rules.effective_ripeness(q.ripeness, push)
            if q.eff_ripeness < p.breakdown_ripeness:
                q.low_months += 1
            else:
                q.low_months = 0
            if q.eff_ripeness < p.ripeness_threshold and (hard is None or q.eff_ripeness < hard.eff_ripeness):
                hard = q
        if tb is not None:
            r_min = min(q.eff_ripeness for q in self.at_table)
            self.progress += p.negotiation_rate * self.effectiveness(tb) * r_min * (1.0 - 0.4 * p.specificity)
        # Forum shopping: at a hard moment a party takes the process to another table.
        if hard is not None and n_tables > 1 and rng.random() < p.forum_shopping:
            alternatives = [x for x in self.tables if x is not tb and hard.idx in x.channels]
            if alternatives:
                new = max(alternatives, key=lambda x: self.trust[hard.idx, x.leader.idx])
                old = self.table.leader.name if self.table is not None else ""
                self.progress *= 0.6
                self.table = new
                self.counters["forum_shifts"] += 1
                self.events.add(self.month, "forum_shift", (hard.name, old, new.leader.name))
        if any(q.low_months >= p.breakdown_months for q in self.at_table):
            quitter = max(self.at_table, key=lambda q: q.low_months)
            self.collapse_talks(f"{quitter.name} walked away")
            return
        if self.progress >= 1.0:
            self.sign()

    def collapse_talks(self, why: str) -> None:
        p = self.p
        for i, j in self._pair_index:
            self.trust[i, j] = max(0.0, self.trust[i, j] - 0.05)
        self.counters["breakdowns"] += 1
        self.set_phase(Phase.CONFLICT)
        if self.table is not None:
            self.table.leader.cooldown = p.proposal_cooldown
        self.table = None
        self.progress = 0.0
        for q in self.parties:
            q.eff_ripeness = q.ripeness
        self.events.add(self.month, "talks_collapse", (), why=why)

    def sign(self) -> None:
        """The parties that are ripe enough sign; those left out may turn spoiler (seed 001)."""
        p = self.p
        signers = [q for q in self.at_table if q.eff_ripeness >= p.sign_threshold]
        if len(signers) < 2:
            self.progress = 0.8  # the text is ready but a party will not sign yet
            return
        tb = self.table
        ripe = sum(q.ripeness for q in signers) / len(signers)
        scope = "comprehensive" if self.rng.random() < ripe else "ceasefire"
        total_cap = float(self.local_capacity.sum())
        inclusion = float(self.local_capacity[self.local_linked].sum()) / total_cap if total_cap > 0 else 0.0
        pressure_share = sum((q.eff_ripeness - q.ripeness) / max(q.eff_ripeness, 1e-9) for q in signers) / len(signers)
        guarantor = self._guarantor()
        self._guarantor_agent = guarantor
        for q in self.parties:
            q.signatory = q in signers
            q.excluded = not q.signatory
            if q.signatory:
                q.genuine = q.ripeness
                q.pressured = q.eff_ripeness - q.ripeness
                q.commitment = q.eff_ripeness
                # Concessions extracted by pressure strengthen the party's hardliners (seed 001:
                # agreements signed under international pressure; Beardsley 2008).
                q.hardliners = min(1.0, q.hardliners + p.pressure_backlash * q.pressured)
            else:
                q.genuine = q.pressured = q.commitment = 0.0
        self.set_phase(Phase.IMPLEMENTATION)
        # Donors fund an implementation programme from signature; its renewals thin afterwards.
        self.funding.restart(self._programme_stream, self.month, p.grant_length)
        self.signed_month = self.month
        self.implementation = 0.0
        self.signatory_violence = 0.0
        self.high_violence_months = 0
        self.next_milestone = 0
        self.agreement = dict(
            episode=len(self.episodes) + 1,
            signed_month=self.month,
            scope=scope,
            signatories=";".join(q.name for q in signers),
            left_out=";".join(q.name for q in self.parties if not q.signatory),
            n_signatories=len(signers),
            inclusion=inclusion,
            verification=bool(p.verification),
            guarantee=guarantor is not None,
            guarantor=guarantor.name if guarantor is not None else "",
            specificity=p.specificity,
            power_sharing=p.power_sharing,
            pressure_share=pressure_share,
            mediator=tb.leader.name if tb is not None else "",
            mediators_active=sum(1 for m in self.mediators if m.active),
            coordination=p.coordination,
            talks_months=self.talk_months,
        )
        self.events.add(self.month, "signed", (tb.leader.name if tb else "",) + tuple(q.name for q in signers),
                        scope=scope, inclusion=inclusion, pressure_share=pressure_share,
                        left_out=self.agreement["left_out"], verification=bool(p.verification),
                        guarantee=guarantor is not None)

    def _guarantor(self) -> Diplomat | None:
        if not self.p.guarantee:
            return None
        active = [d for d in self.diplomats if d.active]
        return max(active, key=lambda d: d.leverage) if active else None

    def implement(self) -> None:
        """Implementation advances with commitment, funding, verification and follow-through."""
        p = self.p
        rng = self.rng
        t = self.trust
        ag = self.agreement
        signers = [q for q in self.parties if q.signatory]
        verified = 1.0 if ag["verification"] else 0.0
        # Diplomatic follow-through and the guarantee (Walter 2002).
        push = max((d.leverage * d.knowledge for d in self.diplomats if d.active), default=0.0)
        guarantor = self._guarantor_agent
        credibility = guarantor.leverage * guarantor.knowledge if guarantor is not None and guarantor.active else 0.0
        follow = p.follow_through * max(push, credibility)
        deterrence = rules.clip01(p.guarantee_deterrence * credibility + 0.3 * verified)
        comp = 1.0 if ag["scope"] == "comprehensive" else 0.4
        weakest = min(signers, key=lambda q: q.strength)
        for q in signers:
            others = [r.idx for r in signers if r is not q]
            trust_other = float(sum(t[q.idx, j] for j in others) / len(others))
            addressed = self.implementation * comp
            if q is weakest:
                addressed *= 0.5 + 0.5 * p.power_sharing
            target = rules.commitment_target(trust_other, addressed, self.public_support, q.hardliners, p.public_support_weight)
            q.update_commitment(target, follow)
        # Violations and retaliation between signatories.
        new_violence = 0.0
        for q in signers:
            if rng.random() < rules.violation_probability(q.commitment, q.hardliners, p.violation_propensity, deterrence):
                self.counters["violations"] += 1
                new_violence += 0.15 + 0.2 * q.hardliners
                for r in signers:
                    if r is not q:
                        t[r.idx, q.idx] = max(0.0, t[r.idx, q.idx] - p.violation_trust_cost)
                        new_violence += 0.3 * p.retaliation * (1.0 - t[r.idx, q.idx]) * (1.0 - 0.5 * verified) * (1.0 - deterrence)
                self.events.add(self.month, "violation", (q.name,), commitment=q.commitment)
            else:
                for r in signers:
                    if r is not q:
                        t[r.idx, q.idx] = min(1.0, t[r.idx, q.idx] + p.compliance_gain)
        for _ in range(self._blamed_attacks):
            for q in signers:
                suspicion = 1.0 - sum(t[q.idx, r.idx] for r in signers if r is not q) / max(1, len(signers) - 1)
                if rng.random() < suspicion:
                    new_violence += 0.3 * p.retaliation * suspicion * (1.0 - deterrence)
        self.signatory_violence = rules.clip01(p.violence_memory * self.signatory_violence + new_violence)
        # Implementation disputes: likelier under ambiguity, and where parallel uncoordinated tables
        # push their own readings of the text (seed 003: duplicated, contradictory proposals);
        # a mediator in post may resolve them.
        contradicting = max(0, len(self.tables) - 1)
        if rng.random() < p.dispute_rate * (1.0 - p.specificity) * (1.0 + p.contradiction * contradicting):
            resolver = max((m.skill * m.knowledge for m in self.mediators if m.active), default=0.0)
            if rng.random() < rules.clip01(resolver * (0.6 + 0.4 * verified)):
                self.events.add(self.month, "dispute_resolved", ())
            else:
                self.implementation = max(0.0, self.implementation - p.dispute_setback)
                for i, j in self._pair_index:
                    t[i, j] = max(0.0, t[i, j] - 0.02)
                self.events.add(self.month, "dispute_unresolved", ())
        programme = bool(self.funding.funded[self._programme_stream])
        funded = 1.0 if programme else 0.3
        mean_c = sum(q.commitment for q in signers) / len(signers)
        self.implementation = min(1.0, self.implementation + p.implementation_rate * mean_c * funded
                                  * (1.0 + 0.3 * verified) * (0.7 + 0.3 * push))
        if not programme:
            # Without money, programmes stall and slide back (cantonment, reintegration; DESIGN 4.6).
            self.implementation = max(0.0, self.implementation - p.gap_setback)
        while self.next_milestone < len(_MILESTONES) and self.implementation >= _MILESTONES[self.next_milestone]:
            self.last_milestone_month = self.month
            self.events.add(self.month, "milestone", (), level=_MILESTONES[self.next_milestone])
            self.next_milestone += 1
        for q in signers:
            q.grievances = max(0.0, q.grievances - 0.01 * comp * self.implementation)
        # Relapse: sustained violence between signatories, or a signatory defects.
        if self.signatory_violence > p.relapse_violence:
            self.high_violence_months += 1
        else:
            self.high_violence_months = 0
        defector = next((q for q in signers if q.commitment < p.defect_threshold), None)
        if defector is not None:
            self.relapse(f"{defector.name} defected")
        elif self.high_violence_months >= p.relapse_months:
            self.relapse("sustained violence between signatories")
        elif self.month - self.signed_month >= p.followup_months:
            self._end_episode(relapse=False, cause="consolidated", consolidated=True)
            self.set_phase(Phase.CONSOLIDATED)
            self.events.add(self.month, "consolidated", (), implementation=self.implementation)

    def relapse(self, cause: str) -> None:
        p = self.p
        self._end_episode(relapse=True, cause=cause, consolidated=False)
        self.set_phase(Phase.CONFLICT)
        for i, j in self._pair_index:
            self.trust[i, j] = max(0.0, self.trust[i, j] - 0.15)
        for q in self.parties:
            q.signatory = q.excluded = False
            q.commitment = q.genuine = q.pressured = 0.0
            q.eff_ripeness = q.ripeness
        for m in self.mediators + self.diplomats:
            m.cooldown = 2 * p.proposal_cooldown
        self.table = None
        self.signatory_violence = 0.0
        self.events.add(self.month, "relapse", (), cause=cause, implementation=self.implementation)

    def _end_episode(self, *, relapse: bool, cause: str, consolidated: bool) -> None:
        ag = self.agreement
        ag.update(
            end_month=self.month,
            months_survived=self.month - ag["signed_month"],
            relapsed=relapse,
            censored=not relapse,
            end_cause=cause,
            implementation_reached=self.implementation,
            consolidated=consolidated,
        )
        self.episodes.append(ag)
        self.agreement = None
