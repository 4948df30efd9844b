"""The core's tenant side: admission by tenant and data class, the quota gate, parking,
reclaim preemption and fair-share keys.

Functions of the `Scheduler` (passed as `core`), kept apart from the passes so each file reads
on its own; they use the core's internals and run only on the core's thread.
"""

from __future__ import annotations

import heapq
from bisect import insort
from collections.abc import Iterator
from dataclasses import replace
from itertools import chain
from typing import TYPE_CHECKING, Any

from gpufleet.errors import InvariantError
from gpufleet.fleet.state import Allocation
from gpufleet.policy.ordering import OrderKey
from gpufleet.scheduler.events import Decision, Preempt
from gpufleet.scheduler.sortedseq import SortedSeq
from gpufleet.tenancy.model import DATA_CLASSES
from gpufleet.tenancy.sovereignty import allowed_sites
from gpufleet.workload.job import Job

if TYPE_CHECKING:
    from gpufleet.scheduler.core import Scheduler, _Shape
    from gpufleet.scheduler.quota import Charge, Quota

# Jobs of one tenant looked at when its quota frees up (the rest wait for the next release).
UNPARK_SCAN = 64
KEEP = -1  # a park that waits on non-lending owners' guarantees, not on one node


def sovereign(core: Scheduler, job: Job) -> tuple[Job, str | None]:
    """Tie the job to its leaf and narrow its sites to those its data class allows."""
    key = (job.tenant, job.data_class, job.sites, job.models)
    found = core._admission.get(key)
    if found is None:
        assert core.quota is not None
        leaf = core.quota.tenancy.leaf.get(job.tenant)
        if leaf is None:  # not cached: a stream of unknown names must not grow the cache
            return job, f"job {job.id}: tenant {job.tenant!r} is not a tenant of the tree"
        found = core._admission[key] = (leaf, *admission_for(core, job, leaf))
    leaf, sites, most, why = found
    if why:
        return job, f"job {job.id}: {why}"
    if job.gpus > most:
        models = ", ".join(sorted({core._cluster_model[ci] for ci in core._clusters_for(job)}))
        return job, (
            f"job {job.id}: asks {job.gpus} GPUs, above what tenant {job.tenant} may ever "
            f"run at once ({most} GPUs of {models})"
        )
    if sites != job.sites:
        job = replace(job, sites=sites)
    return job, None


def admission_for(core: Scheduler, job: Job, leaf: int) -> tuple[tuple[str, ...], int, str]:
    """(sites the job may use, most GPUs its tenant may ever run there, why not or "")
    for one (tenant, data class, sites, models): the same for all such jobs, so cached."""
    assert core.quota is not None
    t = core.quota.tenancy
    unknown = [x for x in job.sites if x not in core._site_ids]
    if unknown:
        return job.sites, 1 << 62, ""  # the fleet check names the unknown sites
    dc = job.data_class or t.data_class(leaf)
    if dc not in DATA_CLASSES:
        return job.sites, 0, f"unknown data class {dc!r}"
    line = t.sites(leaf)
    ok = allowed_sites(core.fleet.sites, dc, t.owners(leaf))
    allowed = [x for x in ok if line is None or x in line]
    sites = tuple(x for x in job.sites if x in allowed) if job.sites else tuple(allowed)
    if not sites:
        return job.sites, 0, f"no site allowed for data class {dc} of tenant {job.tenant}"
    if len(sites) == len(core.fleet.sites):
        sites = ()  # every site: say "any", as jobs without constraints do
    probe = replace(job, sites=sites)
    names = {core._cluster_model[ci] for ci in core._clusters_for(probe)}
    most = max((core.quota.cap(leaf, m) for m in names), default=1 << 62)
    return sites, most, ""


def quota_gate(core: Scheduler, job: Job, shape: _Shape, now: float) -> tuple[int, ...] | None:
    q = core.quota
    if q is None:
        return shape.clusters
    leaf = core._leaf_of[job.tenant]
    if q.free_leaf[leaf]:
        return shape.clusters
    plans = core._gate_plan[leaf]
    plan = plans.get(shape.cset, _UNSEEN)
    if plan is _UNSEEN:
        plan = plans[shape.cset] = gate_plan(core, leaf, shape.clusters)
    if plan is None:  # nothing on the tenant's line can stop these models: the common case
        return shape.clusters
    fast, groups = plan
    used = q.used
    gpus = job.gpus
    if fast is not None:  # limits only, on every model: all with room is the common case
        for n, f, lim in fast:
            if used[n][f] + gpus > lim:
                break
        else:
            return shape.clusters
    why: list[tuple[int, str]] = []
    shut: list[str] = []  # models at a limit (limits-only groups): reasons only to park
    ok = 0  # bit i: the models of group i may start
    for i, (model, clusters, limits, simple) in enumerate(groups):
        if simple:  # limits only: checked here, the reason asked for only when the job parks
            for n, f, lim in limits:
                if used[n][f] + gpus > lim:
                    shut.append(model)
                    break
            else:
                ok |= 1 << i
            continue
        planned = core._planned(job, clusters[0]) if q.grant_node[leaf] >= 0 else 0.0
        v = q.blocked(leaf, model, gpus, planned, now)
        if v is None:
            ok |= 1 << i
        else:
            why.append(v)
    if not why and not shut:
        return shape.clusters
    if ok:
        return _open_clusters(core, leaf, shape, groups, ok)
    for model in shut:  # (all groups of a plan are limits-only, or none: `gate_plan`)
        v = q.blocked(leaf, model, gpus, 0.0, now)
        assert v is not None, "a limit blocked it a moment ago"
        why.append(v)
    park(core, job, leaf, why)
    return None


def _open_clusters(
    core: Scheduler, leaf: int, shape: _Shape, groups: GateGroups, ok: int
) -> tuple[int, ...]:
    """The shape's clusters (in order) of the groups whose bits are set in `ok`; kept, as
    the same few combinations come back at every pass while a tenant is at a limit."""
    key = (leaf, shape.cset, ok)
    found = core._gate_open.get(key)
    if found is None:
        allowed = {ci for i, g in enumerate(groups) if ok >> i & 1 for ci in g[1]}
        found = core._gate_open[key] = tuple(ci for ci in shape.clusters if ci in allowed)
    return found


_UNSEEN: Any = object()
# Per GPU model: (model, its clusters, the finite limits on the line, limits only?).
GateGroups = tuple[tuple[str, tuple[int, ...], tuple[tuple[int, int, int], ...], bool], ...]
# (every group's limits in one run when all groups are limits-only, else None; the groups)
GatePlan = tuple[tuple[tuple[int, int, int], ...] | None, GateGroups]


def gate_plan(core: Scheduler, leaf: int, clusters: tuple[int, ...]) -> GatePlan | None:
    """What the gate checks for one tenant and candidate set: per GPU model, its clusters,
    the finite limits on the line and whether limits are all (no grant, no kept guarantee).
    None when nothing can block: limits, grants and kept guarantees are fixed for a run."""
    q = core.quota
    assert q is not None
    by_model = models_of(core, clusters)
    if all(q.unlimited(leaf, m) for m, _ in by_model):
        return None
    simple = q.grant_node[leaf] < 0 and not q.keep
    groups = tuple((m, cs, q.limits(leaf, q.fid[m]), simple) for m, cs in by_model)
    fast = tuple(dict.fromkeys(x for g in groups for x in g[2])) if simple else None
    return fast, groups


def models_of(
    core: Scheduler, clusters: tuple[int, ...]
) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """Candidate clusters grouped by GPU model, in first-seen order."""
    by: dict[str, list[int]] = {}
    for ci in clusters:
        by.setdefault(core._cluster_model[ci], []).append(ci)
    return tuple((m, tuple(cs)) for m, cs in by.items())


def park(core: Scheduler, job: Job, leaf: int, why: list[tuple[int, str]]) -> None:
    """Hold a job back until usage falls on a node that blocks it (or a grant begins)."""
    jid = job.id
    key = core._key[jid]
    if jid in core._unqueued:
        core._unqueued.discard(jid)
    else:
        shape = core._job_shape[jid]
        shape.queue.remove((key, jid))
        if not shape.queue:
            del core._active[shape.key]  # the active set holds only shapes with queued jobs
    core._parked.setdefault(leaf, SortedSeq()).add((key, jid))
    unwatch(core, leaf, jid, key, job.gpus)
    core.park_reason[jid] = why[0][1]
    nodes = core._waits_of.setdefault(leaf, set())
    for node, _ in why:
        core._waiting_on.setdefault(node, set()).add(leaf)
        if node >= 0:
            core._waiting_bits |= 1 << node
        nodes.add(node)


def settle(core: Scheduler, leaf: int) -> None:
    """The tenant has no parked job left: releases need not wake it any more."""
    core._parked.pop(leaf, None)
    for node in core._waits_of.pop(leaf, ()):
        leaves = core._waiting_on.get(node)
        if leaves is not None:
            leaves.discard(leaf)
            if not leaves:
                del core._waiting_on[node]
                if node >= 0:
                    core._waiting_bits &= ~(1 << node)


def unpark(core: Scheduler, now: float) -> None:
    """Give parked jobs back to the queue where their quota has room again, in order."""
    q = core.quota
    assert q is not None
    bounds = q.boundaries
    if core._boundary < len(bounds) and now >= bounds[core._boundary]:
        while core._boundary < len(bounds) and now >= bounds[core._boundary]:
            core._boundary += 1
        core._recheck.update(core._parked)
    if not core._recheck:
        return
    leaves = sorted(core._recheck)
    core._recheck.clear()
    for leaf in leaves:
        parked = core._parked.get(leaf)
        if not parked:
            continue
        taken = 0  # GPUs already given back: later jobs must fit beside them
        for key, jid in parked.head(UNPARK_SCAN):
            job = core.pending[jid]
            if not has_room(core, job, leaf, taken, now):
                break
            parked.remove((key, jid))
            del core.park_reason[jid]
            core._unqueued.add(jid)
            core._new.append(job)
            taken += job.gpus
        if not parked:
            settle(core, leaf)


def has_room(core: Scheduler, job: Job, leaf: int, extra: int, now: float) -> bool:
    assert core.quota is not None
    shape = core._job_shape[job.id]
    seen: set[str] = set()
    for ci in shape.clusters:
        m = core._cluster_model[ci]
        if m in seen:
            continue
        seen.add(m)
        planned = core._planned(job, ci)
        if core.quota.blocked(leaf, m, job.gpus + extra, planned, now) is None:
            return True
    return False


def release_charge(core: Scheduler, c: Charge, ran: float) -> None:
    """Return a job's charge and mark the tenants waiting on the nodes it frees."""
    q = core.quota
    assert q is not None
    q.release(c, ran)
    line = c.line
    if line.held and core._gq:
        # A waiting job of g GPUs becomes newly guaranteed at node n only if
        # used_after + g <= G < used_before + g: for some g up to the largest job watched,
        # that needs room now and a node that was within that many GPUs of its guarantee
        # before. Far below its guarantee, nothing changed for anyone: no sweep.
        claims = q.claim_rows if q.claiming else None
        most, gpus = core._gq_most, c.gpus
        for row, f, g_n, n in line.held:
            after = row[f] + claims[n][f] if claims is not None else row[f]
            if after < g_n and g_n - (after + gpus) < most:
                core._fell |= q.gbit[n]
                core._gsweep = True
                before = core._fell_before.get((n, f), -1)
                if before < after + gpus:
                    core._fell_before[(n, f)] = after + gpus
    waiting = core._waiting_on
    if waiting:
        if core._waiting_bits & line.path_bits:  # someone waits on a node of this line
            for n in line.path:
                leaves = waiting.get(n)
                if leaves:
                    core._recheck |= leaves
        keep = waiting.get(KEEP)
        if keep:
            core._recheck |= keep


def reclaim(
    core: Scheduler, job: Job, clusters: tuple[int, ...], now: float, out: list[Decision]
) -> None:
    """Guaranteed work waits: preempt borrowed work on one cluster so that it fits.

    Victims are running jobs whose line is over its guarantee (or holds none), taken
    lowest priority first, then latest started (least progress lost); each gets the grace
    period. Tried at most once per instant per job (a pass may meet it more than once).
    """
    q = core.quota
    if q is None or not q.tenancy.preemption.reclaim or job.id in core._claims:
        return
    leaf = core._leaf_of[job.tenant]
    if not q.held_leaf[leaf] or core._reclaim_at.get(job.id) == now:
        return  # no guarantee on its line (most tenants' jobs), or tried at this instant
    core._reclaim_at[job.id] = now
    for ci in guaranteed_clusters(core, leaf, job.gpus, clusters):
        plan = victims_for(core, job, ci)
        if plan is not None:
            preempt(core, job, ci, plan, now, out)
            return


def guaranteed_clusters(
    core: Scheduler,
    leaf: int,
    gpus: int,
    clusters: tuple[int, ...],
    within: list[str] | None = None,
) -> tuple[int, ...]:
    """The clusters (in order) whose GPU model the leaf's guarantees cover for `gpus` more
    GPUs: asked once per model, as a job may list dozens of clusters of a few models (not
    at all when the caller knows the models covered, `within`)."""
    if within is not None:
        model_of = core._cluster_model
        return tuple(ci for ci in clusters if model_of[ci] in within)
    q = core.quota
    assert q is not None
    model_of = core._cluster_model
    covered: dict[str, bool] = {}
    out = []
    for ci in clusters:
        m = model_of[ci]
        ok = covered.get(m)
        if ok is None:
            ok = covered[m] = q.guaranteed(leaf, m, gpus)
        if ok:
            out.append(ci)
    return tuple(out)


def models_in(core: Scheduler, shape: _Shape) -> set[str]:
    """The GPU models of a shape's candidate clusters (kept per candidate set)."""
    models = core._cset_models.get(shape.cset)
    if models is None:
        models = core._cset_models[shape.cset] = {core._cluster_model[ci] for ci in shape.clusters}
    return models


def victims_for(core: Scheduler, job: Job, ci: int) -> tuple[list[int], Allocation] | None:
    """The fewest reclaimable jobs on cluster `ci`, in victim order, that make `job` fit,
    and where it will then go.

    A pass asks this for hundreds of waiting jobs, nearly always in vain, so two answers
    are remembered per cluster. Which jobs may be taken depends on the cluster and the
    lines, not on who asks, and many searches end on what the cluster could free at most
    (`reach`): free GPUs, the borrowers of lines over their guarantees, jobs leaving for no
    claim. That bound can grow only when GPUs of the cluster come back, a start takes a line
    over its guarantee (`Quota.rises`) or a claim changes; until then a larger job cannot fit.

    A search that walked every victim it could take and still found no room fails again
    until GPUs of the cluster come back, a start adds usage to a node over its guarantee
    (`Quota.grows`) or a claim changes. Between those, GPUs of the cluster are only taken,
    the victims that appear belong to lines with no guarantee (taken by every walk), and no
    node over its guarantee gains usage: a victim the later walk takes through a node was
    preceded there by every earlier victim through that node, so the earlier walk took it
    too. What the later walk frees is a subset of what the earlier one freed, and placements
    find a fit whenever one exists, so a failure holds for jobs of that topology (or a
    tighter one) at least as large.
    """
    q = core.quota
    assert q is not None
    state = core.state
    key = (state.cluster_returns[ci], q.grows, core._claims_epoch)
    failed = core._no_victims.get(ci)
    if failed is not None and failed[0] == key:
        least = failed[1]
        for t in _LOOSER[job.topology]:
            g = least.get(t)
            if g is not None and job.gpus >= g:
                return None
    known = core._reach.get(ci)
    if (
        known is not None
        and known[1] < job.gpus
        and known[0] == (state.cluster_returns[ci], q.rises, core._claims_epoch)
    ):
        return None
    found, reach = _search_victims(core, job, ci)
    if found is None:
        # the search put back every GPU it tried (counted as returns): key anew from here
        returns = state.cluster_returns[ci]
        core._reach[ci] = ((returns, q.rises, core._claims_epoch), reach)
        if reach >= job.gpus:
            key = (returns, q.grows, core._claims_epoch)
            failed = core._no_victims.get(ci)
            if failed is None or failed[0] != key:
                failed = core._no_victims[ci] = (key, {})
            least = failed[1]
            least[job.topology] = min(least.get(job.topology, job.gpus), job.gpus)
    return found


# A job that fits with topology t also fits with every looser one (one domain is in one
# block, which is in the cluster): a failure for a looser topology is one for t.
_LOOSER = {"domain": ("domain", "block", "any"), "block": ("block", "any"), "any": ("any",)}


def claims_changed(core: Scheduler) -> None:
    """Jobs leaving for a claim are not taken for another: a new or finished claim changes
    what a reclaim search can find."""
    core._claims_epoch += 1


def _search_victims(
    core: Scheduler, job: Job, ci: int
) -> tuple[tuple[list[int], Allocation] | None, int]:
    """The search itself, and the most GPUs the cluster could free (or a bound above it).

    What may be taken on a cluster does not depend on who asks, and a pass asks again and
    again with no GPU moved between: the reach, the victims in order and what they free are
    kept per cluster while no GPU has moved anywhere (`AllocationState.moves`: every start,
    end and hold moves some, and with them usage, borrowers and jobs leaving) and no claim
    has changed.
    """
    free = core.state.cluster_free[ci]
    bound = free + core._borrowed[ci]
    if bound < job.gpus:
        return None, bound
    key = (core.state.moves, core._claims_epoch)
    seen = core._victims_seen.get(ci)
    if seen is None or seen.key != key:
        seen = core._victims_seen[ci] = _reachable(core, ci, key)
    if seen.reach < job.gpus:
        return None, seen.reach
    if seen.freed is None:
        # Jobs already on their way out for a claim that no longer needs them (its job
        # started elsewhere or ended) come first: they cost nothing more. Then the lines
        # over their guarantee, their borrowers merged in victim order. Taking victims only
        # brings lines down, so a line found back within its guarantee stays there for the
        # rest of the search: its stream is dropped, not walked to the end.
        seen.leaving.sort()
        seen.order, seen.freed = _victim_order(core, ci, seen.leaving, seen.over)
    # Most searches fail. Whether the job could fit with every victim gone is a matter of
    # counts (a domain, a block or the cluster with enough GPUs), read without moving any
    # GPU; only when it could are the victims released one by one to find the fewest.
    if not _could_fit(core, job, ci, seen.freed):
        return None, seen.reach
    return _walk(core, job, ci, seen.order), seen.reach


class Reachable:
    """What reclaim could take on one cluster as things stand (see `_search_victims`).

    `reach`: free GPUs and what every victim would free; `leaving`: jobs leaving for no claim,
    by victim order; `over`: borrowing leaf -> over its guarantee now; `order` and `freed`:
    the victims and the GPUs they free per domain, once asked for.
    """

    __slots__ = ("freed", "key", "leaving", "order", "over", "reach")

    def __init__(
        self,
        key: tuple[int, int],
        reach: int,
        leaving: list[tuple[int, float, int, int]],
        over: dict[int, bool],
    ) -> None:
        self.key = key
        self.reach = reach
        self.leaving = leaving
        self.over = over
        self.order: list[int] = []
        self.freed: dict[int, int] | None = None


def _reachable(core: Scheduler, ci: int, key: tuple[int, int]) -> Reachable:
    q = core.quota
    assert q is not None
    model = core._cluster_model[ci]
    fm = q.fid[model]
    evicting = core._evicting
    claimed = set().union(*core._claims.values()) if core._claims else set()
    # Only the borrowers of lines over their guarantee now can be taken (taking victims only
    # brings lines down), and those already leaving. A busy cluster holds thousands of
    # borrowers, most on lines back within their guarantee: most searches end on the sum
    # of what they could free, and the rest walk only the lines still over.
    # Whether a line is over its guarantee changes only when usage crosses one (rarely,
    # against how often this is asked): kept per GPU model until `Quota.crossings` moves.
    if core._over_at != q.crossings:
        core._over_now.clear()
        core._over_at = q.crossings
    now_over = core._over_now.get(fm)
    if now_over is None:
        now_over = core._over_now[fm] = {}
    over: dict[int, bool] = {}
    reach = core.state.cluster_free[ci]
    for leaf, gpus in core._borrowed_by[ci].items():
        o = now_over.get(leaf)
        if o is None:
            o = now_over[leaf] = q.over_guarantee(leaf, model, _NOTHING)
        over[leaf] = o
        if o:
            reach += gpus
    leaving: list[tuple[int, float, int, int]] = []
    for v in evicting:
        run = core.running[v]
        if run.allocation.cluster == ci and v not in claimed:
            leaving.append((run.job.priority, -run.start, -v, v))
            assert run.charge is not None
            if not over[run.charge.line.leaf]:
                reach += run.job.gpus
    return Reachable(key, reach, leaving, over)


def _victim_order(
    core: Scheduler,
    ci: int,
    leaving: list[tuple[int, float, int, int]],
    over: dict[int, bool],
) -> tuple[list[int], dict[int, int]]:
    """Every job a walk on cluster `ci` would take, in the order it takes them, had no
    prefix of them made room already: the jobs `leaving` for no claim, then the borrowers
    of the lines `over` their guarantees while their line stays over; and the GPUs they
    would free per domain.

    Only a line's guarantees decide whether it is over, so only they are counted down as
    victims are taken (`less`), and each head's line is asked afresh: a victim may bring
    any line sharing a guaranteed node with it back within its guarantee.
    """
    running, evicting = core.running, core._evicting
    less: dict[tuple[int, int], int] = {}
    order: list[int] = []
    freed: dict[int, int] = {}
    for _, _, _, v in leaving:
        run = running[v]
        c = run.charge
        assert c is not None
        g = c.gpus
        for _, f, _, n in c.line.held:
            less[(n, f)] = less.get((n, f), 0) + g
        order.append(v)
        for d, k in run.allocation.parts:
            freed[d] = freed.get(d, 0) + k
    borrowers = core._borrowers[ci]
    streams: list[tuple[tuple[int, float, int, int], int, Iterator[Any]]] = []
    for leaf, o in over.items():
        if o:
            it = iter(borrowers[leaf])
            streams.append((next(it), leaf, it))
    heapq.heapify(streams)
    while streams:
        entry, leaf, it = streams[0]
        v = entry[3]
        # a borrower already leaving was taken above, or leaves for another claim
        if v not in evicting:
            run = running[v]
            c = run.charge
            assert c is not None
            held = c.line.held
            if held:
                for row, f, g, n in held:
                    if row[f] - less.get((n, f), 0) > g:
                        break  # still over at this guarantee
                else:
                    heapq.heappop(streams)  # the line is back within its guarantees: for good
                    continue
            g = c.gpus
            for _, f, _, n in held:
                less[(n, f)] = less.get((n, f), 0) + g
            order.append(v)
            for d, k in run.allocation.parts:
                freed[d] = freed.get(d, 0) + k
        nxt = next(it, None)
        if nxt is None:
            heapq.heappop(streams)
        else:
            heapq.heapreplace(streams, (nxt, leaf, it))
    return order, freed


def _could_fit(core: Scheduler, job: Job, ci: int, freed: dict[int, int]) -> bool:
    """Could `job` fit on cluster `ci` once GPUs `freed` (per domain) come back? By counts
    alone: every placement of a topology needs a domain, a block or the cluster with that
    many GPUs free (a necessary condition; the walk decides the rest)."""
    state, fleet = core.state, core.fleet
    g = job.gpus
    if job.topology == "domain":
        if g > fleet.clusters[ci].domain_gpus:
            return False
        if state.levels[ci] >> g:
            return True
        free = state.free
        return any(free[d] + n >= g for d, n in freed.items())
    if job.topology == "block":
        if g > fleet.cluster_block_gpus[ci]:
            return False
        block_free, domain_block = state.block_free, fleet.domain_block
        gained: dict[int, int] = {}
        for d, n in freed.items():
            b = domain_block[d]
            gained[b] = gained.get(b, 0) + n
        if any(block_free[b] + n >= g for b, n in gained.items()):
            return True
        return any(block_free[b] >= g for b in fleet.cluster_blocks(ci))
    return state.cluster_free[ci] + sum(freed.values()) >= g


def _walk(
    core: Scheduler, job: Job, ci: int, order: list[int]
) -> tuple[list[int], Allocation] | None:
    """Release `order` one job at a time until `job` fits; put every GPU back."""
    state, placement, running = core.state, core.policy.placement, core.running
    taken: list[int] = []
    found: Allocation | None = None
    for v in order:
        state.release(v)
        taken.append(v)
        found = placement(job.gpus, job.topology, (ci,), state, None)
        if found is not None:
            break
    for v in taken:
        state.take(v, running[v].allocation)
    return (taken, found) if found is not None else None


_NOTHING: dict[tuple[int, int], int] = {}  # nothing taken away (never written)


def preempt(
    core: Scheduler,
    job: Job,
    ci: int,
    plan: tuple[list[int], Allocation],
    now: float,
    out: list[Decision],
) -> None:
    """Preempt the victims (with grace) and hold, for `job`, the free GPUs of its planned
    allocation now and each victim's GPUs as it goes, so that nobody takes them meanwhile."""
    assert core.tenancy is not None
    victims, alloc = plan
    free = core.state.free
    part = tuple((d, min(n, free[d])) for d, n in alloc.parts if free[d])
    if part:
        hid = HOLD_BASE - 2 * job.id - 1
        core.state.take(hid, Allocation(ci, part))
        core._holds.setdefault(job.id, []).append(hid)
    at = now + core.tenancy.preemption.grace_s
    ends = core._ends[ci]
    for v in victims:
        run = core.running[v]
        if v in core._evicting:
            continue  # an orphan of an earlier claim: it already leaves, and sooner
        core._evicting[v] = at
        if run.planned_end > at:
            parts = run.allocation.parts
            ends.remove((run.planned_end, v, parts))
            run.planned_end = at
            ends.add((at, v, parts))
        out.append(Preempt(v, at, f"reclaimed for job {job.id} of {job.tenant}"))
    core._claims[job.id] = set(victims)
    claims_changed(core)
    model = core._cluster_model[ci]
    q = core.quota
    assert q is not None
    leaf = core._leaf_of[job.tenant]
    q.claim(leaf, model, job.gpus)
    core._claim_of[job.id] = (leaf, model, job.gpus)
    core._resv = None


def evict(core: Scheduler, job_id: int, now: float) -> None:
    """A preempted job's grace is over: free its GPUs, queue it again as it was."""
    run = core.running.get(job_id)
    if run is None or core._evicting.get(job_id) is None:
        raise InvariantError(f"eviction of job {job_id}, which is not being preempted")
    core._end(job_id, now, cancelled=True)
    core.preemptions[job_id] = core.preemptions.get(job_id, 0) + 1
    core._enqueue(run.job)


def claimed_starts(core: Scheduler, now: float) -> list[Decision]:
    """Start the jobs whose victims have all gone, before anyone else sees the GPUs."""
    out: list[Decision] = []
    for jid in sorted(j for j, vs in core._claims.items() if not vs):
        del core._claims[jid]
        claims_changed(core)
        release_holds(core, jid)
        job = core.pending.get(jid)
        if job is None or jid in core.park_reason:
            continue
        clusters = core._gate(job, core._job_shape[jid], now)
        if clusters is None:
            continue
        alloc = core._place(job, clusters, None)
        if alloc is not None:
            out.append(core._start(job, alloc, now))
            core._full_pass = True
    return out


# Allocation ids of held GPUs: HOLD_BASE - 2 x victim id for a victim's GPUs, and
# HOLD_BASE - 2 x job id - 1 for the free GPUs a claiming job holds from the start.
HOLD_BASE = -(1 << 40)


def hold_for_claim(core: Scheduler, victim: int, alloc: Allocation) -> None:
    """A victim of a claim is gone: keep its GPUs for the claiming job, so that nobody (the
    victim itself, queued again, least of all) takes them before the claim completes."""
    for claimer, victims in core._claims.items():
        if victim in victims:
            victims.discard(victim)
            hid = HOLD_BASE - 2 * victim
            core.state.take(hid, alloc)
            core._holds.setdefault(claimer, []).append(hid)
            return


def release_holds(core: Scheduler, claimer: int) -> None:
    """The claim of `claimer` is over (it starts, or it no longer waits): free what it held."""
    for hid in core._holds.pop(claimer, ()):
        core._dirty.add(core.state.release(hid).cluster)
    counted = core._claim_of.pop(claimer, None)
    if counted is not None and core.quota is not None:
        leaf, model, gpus = counted
        core.quota.claim(leaf, model, -gpus)


def drop_holds_on(core: Scheduler, domain: int) -> None:
    """GPUs of `domain` go out of service: free every hold that has some there. The claims
    go on; a claiming job is placed wherever it fits once its victims are gone, so it only
    loses the protection of those GPUs."""
    held = core.state.held
    for claimer, hids in list(core._holds.items()):
        keep = []
        for hid in hids:
            if any(d == domain for d, _ in held[hid].parts):
                core._dirty.add(core.state.release(hid).cluster)
            else:
                keep.append(hid)
        if keep:
            core._holds[claimer] = keep
        else:
            del core._holds[claimer]


def forget(core: Scheduler, job_id: int) -> None:
    """Drop what the tenancy side keeps about a job that has ended for good."""
    if core.quota is not None:
        if core._reclaim_at:
            core._reclaim_at.pop(job_id, None)
        if core._claims and core._claims.pop(job_id, None) is not None:
            claims_changed(core)  # its victims' evictions still run
        if core._holds or core._claim_of:
            release_holds(core, job_id)


def merged_key(core: Scheduler, job_id: int) -> OrderKey:
    """Under fair share: a pending job's key with its tenant's current rank in front."""
    assert core._fair is not None
    job = core.pending[job_id]
    return (core._fair.ranks[core._leaf_of[job.tenant]], *core._key[job_id])


def merged_keys(core: Scheduler, jobs: list[Job]) -> dict[int, OrderKey]:
    """`merged_key` of each of `jobs` still pending."""
    return {j.id: merged_key(core, j.id) for j in jobs if j.id in core._key}


def guaranteed_start(
    core: Scheduler,
    job: Job,
    clusters: tuple[int, ...],
    now: float,
    out: list[Decision],
    within: list[str] | None = None,
) -> bool:
    """A new job within its guarantees behind a blocked job: start it now, or reclaim for it.

    Order among tenants never costs a tenant its guarantee: a job whose whole line is within
    its guarantees does not wait behind another tenant's borrowing job (nor that job's
    reservation); it starts on free GPUs if they fit it, else it reclaims borrowed ones. A
    blocked job that is itself within its guarantees keeps its place and its reservation.
    Returns True when the job started. `within`: the models its guarantees cover now, when
    the caller has asked already.
    """
    blocked = core._blocked
    if blocked is None or blocked[1] == job.id or head_holds_order(core, now):
        return False
    mine = guaranteed_clusters(core, core._leaf_of[job.tenant], job.gpus, clusters, within)
    if not mine:
        return False
    alloc = core._place(job, mine, None)
    if alloc is not None:
        out.append(core._start(job, alloc, now))
        core._resv = None  # the reserved head's promise may no longer hold: plan it again
        return True
    reclaim(core, job, mine, now, out)
    return False


def head_holds_order(core: Scheduler, now: float) -> bool:
    """Is the blocked job within its guarantees (and not yet served by a claim)? Then the
    usual order and its reservation hold for everyone. Asked often, so kept per instant."""
    blocked = core._blocked
    if blocked is None:
        return False
    cached = core._head_verdict
    if cached is not None and cached[0] == blocked[1] and cached[1] == now:
        return cached[2]
    q = core.quota
    assert q is not None
    head = core.pending.get(blocked[1])
    holds = False
    if head is not None and head.id not in core._claims:
        hl = core._leaf_of[head.tenant]
        models = models_in(core, core._job_shape[head.id])
        holds = any(q.guaranteed(hl, m, head.gpus) for m in models)
    core._head_verdict = (blocked[1], now, holds)
    return holds


def watch(core: Scheduler, job_id: int) -> None:
    """Keep a waiting job of a tenant with a guarantee on its line where sweeps find it."""
    assert core.quota is not None
    leaf = core.pending_leaf(job_id)
    if core.quota.held_leaf[leaf]:
        found = core._gq.get(leaf)
        if found is None:
            found = core._gq[leaf] = SortedSeq()
            insort(core._gq_by_mask.setdefault(core.quota.path_mask[leaf], []), leaf)
        found.add((core._key[job_id], job_id))
        sizes = core._gq_gpus
        g = core._job_shape[job_id].gpus
        sizes[g] = sizes.get(g, 0) + 1
        if g > core._gq_most:
            core._gq_most = g


def unwatch(core: Scheduler, leaf: int, job_id: int, key: OrderKey, gpus: int) -> None:
    found = core._gq.get(leaf)
    if found is not None and (key, job_id) in found:
        found.remove((key, job_id))
        if not found:
            del core._gq[leaf]
            assert core.quota is not None
            mask = core.quota.path_mask[leaf]
            group = core._gq_by_mask[mask]
            group.remove(leaf)
            if not group:
                del core._gq_by_mask[mask]
        sizes = core._gq_gpus
        left = sizes[gpus] - 1
        if left:
            sizes[gpus] = left
        else:
            del sizes[gpus]
            if gpus == core._gq_most:
                core._gq_most = max(sizes, default=0)


GUARANTEE_SCAN = 4  # waiting jobs per tenant a sweep looks at
SWEEP_LEAVES = 16  # tenants a sweep looks at (taken in turn when more qualify)


def guarantee_sweep(core: Scheduler, now: float, out: list[Decision]) -> None:
    """After usage fell on a guaranteed line: waiting jobs now within their guarantees start
    or reclaim, wherever they sit in the queue (their shape's head may be another tenant's).
    Only tenants under a node whose usage fell are looked at, and only while the job they
    wait behind is not itself within its guarantees."""
    fell = core._fell
    core._fell = 0
    before = core._fell_before
    core._fell_before = {}
    everyone = core._sweep_all
    core._sweep_all = False
    if not everyone and not fell:
        return
    if core._blocked is None or head_holds_order(core, now):
        return
    q = core.quota
    assert q is not None
    # A job is within its guarantees only if every guarantee on its line has room: lines
    # through a full one are skipped (most of them, on a busy fleet). Tenants are taken by
    # the guaranteed nodes on their line (`Quota.path_mask`), in leaf order.
    full = q.full_guarantees()
    fell &= ~full
    if not everyone and not fell:
        return
    groups = [
        group
        for mask, group in core._gq_by_mask.items()
        if (everyone or mask & fell) and not mask & full
    ]
    leaves = list(groups[0]) if len(groups) == 1 else sorted(chain.from_iterable(groups))
    if len(leaves) > SWEEP_LEAVES:  # bounded work per pass; the next sweep goes on from here
        at = core._sweep_at % len(leaves)
        leaves = (leaves[at:] + leaves[:at])[:SWEEP_LEAVES]
        core._sweep_at += SWEEP_LEAVES
    for leaf in leaves:
        found = core._gq.get(leaf)
        if not found:
            continue
        # the first few, copied (starts take jobs out of `found`)
        for _, jid in found.head(GUARANTEE_SCAN):
            job = core.pending[jid]
            shape = core._job_shape[jid]
            within = [m for m in models_in(core, shape) if q.guaranteed(leaf, m, job.gpus)]
            if not within:
                break  # this tenant is at its guarantee: its later jobs are too
            if not everyone and not newly_guaranteed(q, leaf, job.gpus, within, before):
                continue  # within its guarantees before these releases too: tried then
            clusters = core._gate(job, shape, now)
            if clusters is None:
                continue  # parked on its limits
            started = guaranteed_start(core, job, clusters, now, out, within)
            if not started and job.id not in core._claims:
                break  # neither started nor claimed: later jobs of this tenant would not be


def newly_guaranteed(
    q: Quota, leaf: int, gpus: int, within: list[str], before: dict[tuple[int, int], int]
) -> bool:
    """Did the releases that led to this sweep bring `gpus` GPUs of one of the models
    `within` (those the leaf's guarantees now cover for them) within the guarantees of its
    line? (At some guarantee, usage before them left no room.) A job already within them
    before was looked at then, on arrival or by an earlier sweep."""
    for m in within:
        for n, f, g_n in q.guarantees(leaf, q.fid[m]):
            b = before.get((n, f))
            if b is not None and b + gpus > g_n:
                return True
    return False
