"""Funding continuity: grants of limited length, uncertain renewal and gaps (DESIGN 4.4; seed 003
challenge 2 and recommendation 8; seed 000 recommendation 3).

:class:`FundingStreams` is the grant state of every funded actor. Streams change state only when
a grant ends or a gap closes, so they are kept in a heap ordered by the month of their next
change: a month in which nothing is due costs one comparison. :class:`Funding` is the model's
part that owns them: which stream belongs to which third party, local mechanism or the
implementation programme, the events of lapses and renewals, and the interventions that cut or
restore money.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from .streams import geometric_from

if TYPE_CHECKING:  # pragma: no cover
    from .agents import ThirdParty
    from .model import PeaceModel

__all__ = ["FundingStreams", "Funding", "NEVER"]

_EMPTY: tuple[int, ...] = ()
#: The due month of a stream that waits for no month: cut until restored, or withdrawn.
NEVER = 10**9


class FundingStreams:
    """Grant state of every funded actor.

    Core-funded actors (UN, states, regional organisations) are always funded unless an
    intervention cuts them. A project-funded actor holds a grant of ``grant_length`` months; when
    it ends it is renewed at once with the renewal probability (thinned by
    ``post_signature_support`` once an agreement is signed), or is bridged by a contingency fund,
    or else falls into a gap of geometric length with mean ``gap_months``. In a gap the actor is
    inactive.

    ``funded`` is a list of booleans indexed by stream; ``changed`` says whether it changed in
    the last step. ``rng`` draws three uniforms at every grant's end (renewal, contingency, gap
    length), used or not; ``setup`` draws the first grant's end of each project stream.
    """

    def __init__(self, core: list[bool], grant_length: int, *, rng, setup):
        self.rng = rng
        self.core = [bool(c) for c in core]
        n = len(self.core)
        self.funded = [True] * n
        self.project = [i for i, c in enumerate(self.core) if not c]  # the project-funded streams
        self.in_gap = [False] * n
        self.due = [0] * n  # month at which the current grant ends or gap closes
        self._heap: list[tuple[int, int]] = []
        # Grants start at staggered points of their cycle so that they do not all end together.
        for i in range(n):
            if not self.core[i]:
                self.due[i] = setup.randrange(1, grant_length + 1)
                self._heap.append((self.due[i], i))
        heapq.heapify(self._heap)
        self.changed = True

    def __len__(self) -> int:
        return len(self.core)

    def months_left_in_gap(self, i: int, month: int) -> int:
        """Months until stream ``i``'s gap closes (0 if it is funded)."""
        return max(0, self.due[i] - month) if self.in_gap[i] else 0

    def due_by(self, month: int) -> bool:
        """Whether a grant ends or a gap closes by ``month``."""
        heap = self._heap
        return bool(heap) and heap[0][0] <= month

    def _unschedule(self, i: int) -> None:
        self._heap = [(d, j) for d, j in self._heap if j != i]
        heapq.heapify(self._heap)

    def restart(self, i: int, month: int, grant_length: int) -> None:
        """Give stream ``i`` a fresh grant from ``month`` (a programme funded at signature)."""
        self._unschedule(i)
        self.in_gap[i] = False
        self.funded[i] = True
        self.due[i] = month + grant_length
        heapq.heappush(self._heap, (self.due[i], i))
        self.changed = True

    def cut(self, i: int, month: int, months: int) -> None:
        """Stop stream ``i``'s money now: a gap of ``months`` months, or until restored if 0."""
        self._unschedule(i)
        self.in_gap[i] = True
        self.funded[i] = False
        self.due[i] = month + months if months > 0 else NEVER
        if months > 0:
            heapq.heappush(self._heap, (self.due[i], i))
        self.changed = True

    def restore(self, i: int, month: int, grant_length: int) -> None:
        """End stream ``i``'s gap now: a core stream is funded again, a project stream gets a
        fresh grant."""
        if self.core[i]:
            self._unschedule(i)
            self.in_gap[i] = False
            self.funded[i] = True
            self.changed = True
        else:
            self.restart(i, month, grant_length)

    def add(self, core: bool, month: int, grant_length: int) -> int:
        """A new stream, funded from ``month`` (a project stream with a fresh grant)."""
        i = len(self.core)
        self.core.append(bool(core))
        if not core:
            self.project.append(i)
        self.funded.append(True)
        self.in_gap.append(False)
        self.due.append(0)
        if not core:
            self.due[i] = month + grant_length
            heapq.heappush(self._heap, (self.due[i], i))
        self.changed = True
        return i

    def step(self, month: int, grant_length: int, renewal: float, gap_months: float,
             contingency: float) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Advance to ``month``. Returns the streams that lapsed and that resumed this month."""
        heap = self._heap
        self.changed = False
        if not heap or heap[0][0] > month:
            return _EMPTY, _EMPTY
        lapsed: list[int] = []
        resumed: list[int] = []
        draw = self.rng.random
        while heap and heap[0][0] <= month:
            _, i = heapq.heappop(heap)
            if self.in_gap[i]:
                self.in_gap[i] = False
                self.funded[i] = True
                resumed.append(i)
                if self.core[i]:
                    continue  # a core stream that was cut: funded again, and no grant to end
                self.due[i] = month + grant_length
                heapq.heappush(heap, (self.due[i], i))
                continue
            u_renew, u_bridge, u_gap = draw(), draw(), draw()
            if gap_months <= 0 or u_renew < renewal or u_bridge < contingency:
                self.due[i] = month + grant_length
            else:
                # Geometric gap with mean gap_months (at least one month once a gap opens).
                gap = geometric_from(u_gap, 1.0 / max(gap_months, 1.0))
                self.in_gap[i] = True
                self.funded[i] = False
                self.due[i] = month + gap
                lapsed.append(i)
            heapq.heappush(heap, (self.due[i], i))
        self.changed = bool(lapsed or resumed)
        return tuple(lapsed), tuple(resumed)


class Funding:
    """The model's money: one stream per third party, per funded local mechanism, and one for the
    implementation programme (ODD 7.4).

    ``funded`` (a boolean per stream) is what the rest of the model reads; ``gap_posts`` are the
    trust-matrix indices of third parties in a gap this month.
    """

    def __init__(self, model: PeaceModel, third_parties: list[ThirdParty], n_local_funded: int):
        self.model = model
        core = [tp.core_funded for tp in third_parties]
        for i, tp in enumerate(third_parties):
            tp.stream = i
        self.local_streams = list(range(len(core), len(core) + n_local_funded))
        core += [False] * n_local_funded
        self.programme = len(core)
        core.append(False)
        self.streams = FundingStreams(core, model.p.grant_length, rng=model.streams.funding, setup=model.streams.setup)
        self.funded = self.streams.funded
        self._owner: dict[int, ThirdParty] = {tp.stream: tp for tp in third_parties}
        #: whether the last step changed the funding of a third party, or of a local mechanism
        self.third_parties_changed = self.locals_changed = False
        self._changed()

    def step(self, month: int, implementing: bool) -> bool:
        """Grants end, are renewed or lapse into gaps; support thins after signature.

        Returns whether anyone's funding changed this month (and says whose in
        :attr:`third_parties_changed` and :attr:`locals_changed`)."""
        fs = self.streams
        if not fs.due_by(month):
            fs.changed = False
            return False
        m = self.model
        p = m.p
        renewal = p.renewal_probability * (p.post_signature_support if implementing else 1.0)
        lapsed, resumed = fs.step(month, p.grant_length, renewal, p.gap_months, p.contingency_fund)
        if not fs.changed:
            return False
        owner = self._owner
        tps = local = False
        if lapsed:
            n_local = 0
            for s in lapsed:
                tp = owner.get(s)
                if tp is not None:
                    tps = True
                    m.count("funding_gaps")
                    m.events.add(month, "funding_lapse", (tp.name,), months=fs.months_left_in_gap(s, month))
                elif s == self.programme:
                    if implementing:
                        m.events.add(month, "programme_lapse", (), months=fs.months_left_in_gap(s, month))
                else:
                    n_local += 1
            if n_local:
                local = True
                m.count("local_funding_gaps", n_local)
                m.events.add(month, "local_funding_lapse", (), count=n_local)
        for s in resumed:
            tp = owner.get(s)
            if tp is not None:
                tps = True
                m.events.add(month, "funding_resumed", (tp.name,))
            elif s != self.programme:
                local = True
        self._changed(third_parties=tps)
        self.third_parties_changed, self.locals_changed = tps, local
        return True

    def _changed(self, *, third_parties: bool = True) -> None:
        """Someone's funding changed: what is read every month is worked out once here (what
        concerns the third parties only when theirs did)."""
        funded = self.funded = self.streams.funded
        if third_parties:
            self.gap_posts = [tp.idx for s, tp in self._owner.items() if not funded[s]]
            active = {"mediator": 0, "diplomat": 0}
            for s, tp in self._owner.items():
                if funded[s]:
                    active[tp.kind] += 1
            self.active = active
        project = self.streams.project
        self._project_share = sum(map(funded.__getitem__, project)) / len(project) if project else 1.0

    # ---------------------------------------------------------------- reading
    @property
    def programme_funded(self) -> bool:
        return bool(self.funded[self.programme])

    def project_funded_share(self) -> float:
        """Share of project-funded streams (third parties, local mechanisms, programme) funded now."""
        return self._project_share

    def months_left(self, tp: ThirdParty, month: int) -> int:
        return self.streams.months_left_in_gap(tp.stream, month)

    # ---------------------------------------------------------------- changes
    def fund_programme(self, month: int) -> None:
        """Donors fund an implementation programme from signature; its renewals thin afterwards."""
        self.streams.restart(self.programme, month, self.model.p.grant_length)
        self._changed()

    def cut(self, tp: ThirdParty, month: int, months: int) -> None:
        """An intervention stops ``tp``'s money now, for ``months`` months or until restored (0)."""
        new_gap = not self.streams.in_gap[tp.stream]  # a cut during a gap changes its end, not the count
        self.streams.cut(tp.stream, month, months)
        if new_gap:
            self.model.count("funding_gaps")
        self._changed()

    def restore(self, tp: ThirdParty, month: int) -> None:
        self.streams.restore(tp.stream, month, self.model.p.grant_length)
        self._changed()

    def stop(self, tp: ThirdParty) -> None:
        """``tp`` leaves the field: its stream is closed for good."""
        self.streams.cut(tp.stream, 0, 0)
        self._changed()

    def add(self, tp: ThirdParty, month: int) -> None:
        """A stream for a third party that joins at ``month``."""
        tp.stream = self.streams.add(tp.core_funded, month, self.model.p.grant_length)
        self._owner[tp.stream] = tp
        self._changed()
