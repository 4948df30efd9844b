"""Quota, borrowing, lending and grants over the tenant tree: what the core asks before a start.

Usage is counted in running GPUs per (node, flavor); a job on GPU model m charges flavor m and
flavor `any` on every node from its leaf to the root. A start is allowed when, on that path:

- no node goes over its limit (a node that may not borrow has its guarantee as its limit);
- every grant the node holds for the flavor allows it (active now, GPUs or GPU-hours left);
- the unused guarantees of nodes that do not lend, outside the path, stay free fleet-wide.

A job *borrows* when some node on its path would go over its guarantee (or no node on its path
holds one): borrowed work is what reclaim preemption may take back. Kueue's cohorts work the
same way: nominal quota, borrowing limit, lending limit, reclaim within the cohort.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpufleet.fleet.model import Fleet
from gpufleet.tenancy.model import ANY, Grant, Tenancy

_INF = 1 << 62


@dataclass(slots=True)
class _GrantUse:
    grant: Grant
    node: int
    committed_s: float = 0.0  # planned GPU-seconds of running jobs charged here
    charged_s: float = 0.0  # GPU-seconds used by ended jobs
    running: int = 0  # GPUs of running jobs charged here


@dataclass(slots=True)
class Line:
    """A leaf's line to the root for one flavor: what every start and end of its jobs on that
    GPU model touches, gathered once so that they index lists and nothing else."""

    leaf: int
    flavor: int
    rows: tuple[list[int], ...]  # usage rows, leaf to root
    held: tuple[tuple[list[int], int, int, int], ...]  # guarantees: (row, flavor, GPUs, node)
    path: tuple[int, ...]  # the nodes, leaf to root
    path_bits: int  # bit n set for each node n of the path


class Charge:
    """What a start charged, so the end can take exactly that back. `grant` indexes
    Quota.grants, or is -1. A plain class: one is built per start (see gpufleet/value.py)."""

    __slots__ = ("borrowing", "gpus", "grant", "line", "planned_s")

    def __init__(
        self, line: Line, gpus: int, planned_s: float, grant: int, borrowing: bool
    ) -> None:
        self.line = line
        self.gpus = gpus
        self.planned_s = planned_s
        self.grant = grant
        self.borrowing = borrowing


class Quota:
    """Per-node, per-flavor usage with the checks above. Not thread-safe; the core owns it."""

    def __init__(self, tenancy: Tenancy, fleet: Fleet) -> None:
        self.tenancy = tenancy
        self.flavors: tuple[str, ...] = (*sorted(fleet.models), ANY)
        self.fid = {f: i for i, f in enumerate(self.flavors)}
        self.any = self.fid[ANY]
        nf = len(self.flavors)
        nodes = tenancy.nodes
        self.used = [[0] * nf for _ in nodes]
        # per (leaf, flavor), built on first use: the usage rows a start or end updates in place
        self.lines: list[list[Line | None]] = [[None] * nf for _ in nodes]
        self.guar = [[-1] * nf for _ in nodes]
        self.lim = [[_INF] * nf for _ in nodes]
        for n in nodes:
            for f, q in n.guarantee.items():
                self.guar[n.id][self.fid[f]] = q
            for f, q in n.limit.items():
                self.lim[n.id][self.fid[f]] = q
            if not n.borrow:
                for f, q in n.guarantee.items():
                    fi = self.fid[f]
                    self.lim[n.id][fi] = min(self.lim[n.id][fi], q)
        self.capacity = [0] * nf
        for c in fleet.clusters:
            self.capacity[self.fid[c.gpu_model]] += c.gpus
        self.capacity[self.any] = fleet.total_gpus
        self.grants: list[_GrantUse] = [_GrantUse(g, n.id) for n in nodes for g in n.grants]
        self.node_grants: dict[int, list[int]] = {}
        for gi, gu in enumerate(self.grants):
            self.node_grants.setdefault(gu.node, []).append(gi)
        # (node, flavor) pairs whose unused guarantee is kept for them alone
        self.keep = [(n.id, self.fid[f]) for n in nodes if not n.lend for f in n.guarantee]
        self.roots = [n.id for n in nodes if n.parent < 0]
        # Leaves whose path has no limit, grant or non-lender: nothing can stop them here.
        constrained = {n.id for n in nodes if n.limit or n.grants or (not n.borrow and n.guarantee)}
        self.free_leaf = [
            not (constrained & set(tenancy.path[n.id])) and not self.keep for n in nodes
        ]
        self.boundaries = sorted({t for gu in self.grants for t in (gu.grant.start, gu.grant.end)})
        # the nearest node holding grants on each leaf's path (-1: none); it alone is charged
        self.grant_node = [
            next((n for n in tenancy.path[leaf.id] if n in self.node_grants), -1) for leaf in nodes
        ]
        self._limits: dict[tuple[int, int], tuple[tuple[int, int, int], ...]] = {}
        self._guarantees: dict[tuple[int, int], tuple[tuple[int, int, int], ...]] = {}
        # GPUs being reclaimed per node and flavor (rows as `used`), and their sum: 0 while no
        # reclaim is under way (every claim is taken back by the same amounts)
        self.claim_rows = [[0] * nf for _ in nodes]
        self.claiming = 0
        # Counts the starts that took a guaranteed node over its guarantee: while it stays, no
        # line has gone over (reclaim could only have less to take).
        self.rises = 0
        self.crossings = 0  # the same, and the ends that brought one back within it
        # Counts the starts that left a guaranteed node over its guarantee (went or were
        # over): while it stays, no node over its guarantee has more usage than before.
        self.grows = 0
        self.guaranteed_nodes = [
            (n.id, [self.fid[f] for f in n.guarantee]) for n in nodes if n.guarantee
        ]
        # one bit per guaranteed node, and per node the bits of the guaranteed nodes on its
        # line: sweeps select tenants by these masks instead of by sets of nodes
        self.gbit = {n: 1 << i for i, (n, _) in enumerate(self.guaranteed_nodes)}
        self.path_mask = [sum(self.gbit.get(p, 0) for p in tenancy.path[x.id]) for x in nodes]
        # nodes with a guarantee somewhere on their line (their jobs may reclaim)
        self.held_leaf = [any(nodes[n].guarantee for n in tenancy.path[x.id]) for x in nodes]

    # -- checks ---------------------------------------------------------------------------
    def blocked(
        self, leaf: int, model: str, gpus: int, planned_s: float, now: float
    ) -> tuple[int, str] | None:
        """(node whose usage must fall, why) when `gpus` GPUs of `model` may not start now for
        `leaf`; None when they may. The node is -1 when non-lending owners' guarantees block."""
        if self.free_leaf[leaf]:
            return None
        fm = self.fid[model]
        used = self.used
        for n, f, lim in self.limits(leaf, fm):
            if used[n][f] + gpus > lim:
                return n, (
                    f"over quota: {self.tenancy.nodes[n].name} runs {used[n][f]} of its limit "
                    f"{lim} {self.flavors[f]} GPUs"
                )
        gn = self.grant_node[leaf]
        if gn >= 0 and self._grant_for(gn, fm, gpus, planned_s, now) < 0:
            return gn, self._grant_reason(gn, fm, gpus, now)
        if self.keep:
            on_path = set(self.tenancy.path[leaf])
            for f in (fm, self.any):
                kept = 0
                for n, kf in self.keep:
                    if kf == f and n not in on_path:
                        kept += max(0, self.guar[n][f] - used[n][f])
                if kept and self.free(f) - gpus < kept:
                    return -1, (
                        f"{kept} free {self.flavors[f]} GPUs are kept for owners that do not lend"
                    )
        return None

    def unlimited(self, leaf: int, model: str) -> bool:
        """Can nothing ever block `leaf` on `model` (no limit, grant or kept guarantee)?"""
        return self.free_leaf[leaf] or (
            not self.limits(leaf, self.fid[model]) and self.grant_node[leaf] < 0 and not self.keep
        )

    def limits(self, leaf: int, fm: int) -> tuple[tuple[int, int, int], ...]:
        """The finite limits on the leaf's path for flavor `fm`: (node, flavor, limit)."""
        key = (leaf, fm)
        found = self._limits.get(key)
        if found is None:
            found = self._limits[key] = tuple(
                (n, f, self.lim[n][f])
                for n in self.tenancy.path[leaf]
                for f in (fm, self.any)
                if self.lim[n][f] < _INF
            )
        return found

    def cap(self, leaf: int, model: str) -> int:
        """The most GPUs of `model` the leaf may ever run at once (limits and GPU grants)."""
        fm = self.fid[model]
        most = _INF
        for n in self.tenancy.path[leaf]:
            most = min(most, self.lim[n][fm], self.lim[n][self.any])
            grants = self.node_grants.get(n)
            if grants:
                sizes = [
                    self.grants[gi].grant.gpus
                    for gi in grants
                    if self.fid[self.grants[gi].grant.flavor] in (fm, self.any)
                ]
                if sizes and all(sizes):  # GPU awards only; a GPU-hour budget has no width
                    most = min(most, max(sizes))
                elif not sizes:
                    return 0
        return most

    def free(self, f: int) -> int:
        return self.capacity[f] - sum(self.used[r][f] for r in self.roots)

    def guarantees(self, leaf: int, fm: int) -> tuple[tuple[int, int, int], ...]:
        """The guarantees on the leaf's path for flavor `fm`: (node, flavor, GPUs)."""
        key = (leaf, fm)
        found = self._guarantees.get(key)
        if found is None:
            found = self._guarantees[key] = tuple(
                (n, f, self.guar[n][f])
                for n in self.tenancy.path[leaf]
                for f in (fm, self.any)
                if self.guar[n][f] >= 0
            )
        return found

    def guaranteed(self, leaf: int, model: str, gpus: int) -> bool:
        """Is the start covered by guarantees all along the path (the reclaim condition)?

        GPUs already claimed by reclaims under way on the same line count as used, so one
        line never reclaims more than its guarantee.
        """
        fm = self.fid[model]
        held = (self.lines[leaf][fm] or self.line(leaf, fm)).held  # rows read in place
        if not held:
            return False
        if self.claiming:
            claims = self.claim_rows
            for row, f, q, n in held:  # noqa: SIM110 (a loop: no generator on a hot path)
                if row[f] + claims[n][f] + gpus > q:
                    return False
            return True
        for row, f, q, _ in held:  # noqa: SIM110 (the same)
            if row[f] + gpus > q:
                return False
        return True

    def full_guarantees(self) -> int:
        """The bits (`gbit`) of the nodes none of whose guarantees has a GPU of room
        (counting reclaims under way)."""
        used, claims, guar, gbit = self.used, self.claim_rows, self.guar, self.gbit
        full = 0
        for n, flavors in self.guaranteed_nodes:
            row, c, g = used[n], claims[n], guar[n]
            for f in flavors:
                if row[f] + c[f] < g[f]:
                    break  # room on this flavor
            else:
                full |= gbit[n]
        return full

    def claim(self, leaf: int, model: str, gpus: int) -> None:
        """Count (negative `gpus`: stop counting) GPUs a reclaim under way will bring."""
        fm = self.fid[model]
        for n in self.tenancy.path[leaf]:
            for f in (fm, self.any):
                self.claim_rows[n][f] += gpus
                self.claiming += gpus

    def over_guarantee(self, leaf: int, model: str, less: dict[tuple[int, int], int]) -> bool:
        """Is some node of the leaf's line over its guarantee, after taking `less` away?"""
        fm = self.fid[model]
        held = False
        for n in self.tenancy.path[leaf]:
            for f in (fm, self.any):
                q = self.guar[n][f]
                if q >= 0:
                    held = True
                    if self.used[n][f] - less.get((n, f), 0) > q:
                        return True
        return not held

    # -- grants ---------------------------------------------------------------------------
    def _grant_for(self, node: int, fm: int, gpus: int, planned_s: float, now: float) -> int:
        for gi in self.node_grants[node]:
            gu = self.grants[gi]
            g = gu.grant
            if self.fid[g.flavor] not in (fm, self.any) or not g.start <= now < g.end:
                continue
            if g.gpus and gu.running + gpus <= g.gpus:
                return gi
            if g.gpu_hours and gu.charged_s + gu.committed_s + gpus * planned_s <= (
                g.gpu_hours * 3600.0
            ):
                return gi
        return -1

    def _grant_reason(self, node: int, fm: int, gpus: int, now: float) -> str:
        name = self.tenancy.nodes[node].name
        mine = [self.grants[gi] for gi in self.node_grants[node]]
        fits = [gu for gu in mine if self.fid[gu.grant.flavor] in (fm, self.any)]
        if not fits:
            return f"grant: {name} holds no grant for {self.flavors[fm]} GPUs"
        active = [gu for gu in fits if gu.grant.start <= now < gu.grant.end]
        if not active:
            if all(gu.grant.end <= now for gu in fits):
                return f"grant expired: {name}'s grants for {self.flavors[fm]} have ended"
            return f"grant not started: {name}'s grant for {self.flavors[fm]} starts later"
        gu = active[0]
        if gu.grant.gpus:
            return f"grant full: {name} runs {gu.running} of {gu.grant.gpus} granted GPUs"
        used_h = (gu.charged_s + gu.committed_s) / 3600.0
        return (
            f"grant exhausted: {name} has used or committed {used_h:,.1f} of "
            f"{gu.grant.gpu_hours:,.1f} GPU-hours"
        )

    # -- usage ----------------------------------------------------------------------------
    def line(self, leaf: int, fm: int) -> Line:
        """The leaf's line for flavor `fm` (built on first use)."""
        found = self.lines[leaf][fm]
        if found is None:
            used = self.used
            found = self.lines[leaf][fm] = Line(
                leaf,
                fm,
                tuple(used[n] for n in self.tenancy.path[leaf]),
                tuple((used[n], f, q, n) for n, f, q in self.guarantees(leaf, fm)),
                tuple(self.tenancy.path[leaf]),
                sum(1 << n for n in self.tenancy.path[leaf]),
            )
        return found

    def charge(self, leaf: int, model: str, gpus: int, planned_s: float, now: float) -> Charge:
        """Count a start; call only after `blocked` said None."""
        fm = self.fid[model]
        fa = self.any
        line = self.lines[leaf][fm] or self.line(leaf, fm)
        # borrowing: the start takes some node of the line over its guarantee (or no node of
        # the line holds one); checked inline, as this runs at every start
        held = line.held
        borrowing = not held
        for row, f, q, _ in held:
            u = row[f]
            if u + gpus > q:
                borrowing = True
                if u <= q:  # this start takes the node over its guarantee
                    self.rises += 1
                    self.crossings += 1
                    break
        if borrowing and held:
            self.grows += 1
        for row in line.rows:
            row[fm] += gpus
            row[fa] += gpus
        grant = -1
        gn = self.grant_node[leaf]
        if gn >= 0:
            grant = self._grant_for(gn, fm, gpus, planned_s, now)
            if grant >= 0:
                gu = self.grants[grant]
                gu.running += gpus
                gu.committed_s += gpus * planned_s
        return Charge(line, gpus, planned_s, grant, borrowing)

    def release(self, c: Charge, ran_s: float) -> None:
        """Take back a start's charge; `ran_s` seconds of it were used."""
        line = c.line
        fm, fa, gpus = line.flavor, self.any, c.gpus
        for row, f, q, _ in line.held:
            u = row[f]
            if u > q >= u - gpus:  # this end brings the node back within its guarantee
                self.crossings += 1
                break
        for row in line.rows:
            row[fm] -= gpus
            row[fa] -= gpus
        if c.grant >= 0:
            gu = self.grants[c.grant]
            gu.running -= c.gpus
            gu.committed_s -= c.gpus * c.planned_s
            gu.charged_s += c.gpus * ran_s
