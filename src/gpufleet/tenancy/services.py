"""Put inference services into a tenant tree: one guaranteed leaf per service, built in code.

The services' node is derived from the tree in force rather than written in the tree file, so
that one tree serves runs with and without inference and the guarantee always matches the
services' maximum replicas. Each service's leaf is guaranteed (and limited to) max replicas x
GPUs per replica of its GPU model (`any` when it allows several), so its replicas never borrow:
they are never reclaimed, and when they wait for GPUs that other tenants borrowed they reclaim
them with the tree's grace period. A service's GPUs are carved out of its `carve_from` node's
guarantee when the service file names one, so the guarantees still add up to the fleet.
"""

from __future__ import annotations

from dataclasses import replace

from gpufleet.errors import ConfigError
from gpufleet.fleet.model import Fleet
from gpufleet.tenancy.model import ANY, Node, Tenancy
from gpufleet.workload.services import Service, ServiceSet


def flavor_of(service: Service) -> str:
    """The flavor a service's guarantee is counted in."""
    return service.models[0] if len(service.models) == 1 else ANY


def with_services(tenancy: Tenancy, services: ServiceSet, fleet: Fleet) -> Tenancy:
    """`tenancy` plus the services' node and leaves, ids renumbered depth-first."""
    p = services.placement
    names = {n.name: n for n in tenancy.nodes}
    for s in services.services:
        if s.tenant in names:
            raise ConfigError(f"{services.source}: service tenant {s.tenant!r} is in the tree")
    if p.node in names:
        raise ConfigError(f"{services.source}: tenant node {p.node!r} is already in the tree")
    roots = [n for n in tenancy.nodes if n.parent < 0]
    parent = names.get(p.parent) if p.parent is not None else roots[0]
    if parent is None:
        raise ConfigError(f"{services.source}: placement.parent {p.parent!r} is not in the tree")
    need: dict[str, int] = {}
    for s in services.services:
        f = flavor_of(s)
        need[f] = need.get(f, 0) + s.max_gpus
    nodes = list(tenancy.nodes)
    for s in services.services:
        if s.carve_from is None:
            continue
        donor = names.get(s.carve_from)
        if donor is None:
            raise ConfigError(
                f"{services.source}: service {s.name}: carve_from {s.carve_from!r} is not "
                "in the tree"
            )
        nodes[donor.id] = _carve(nodes[donor.id], {flavor_of(s): s.max_gpus}, services.source)
    captive = {s.id: s.owner for s in fleet.sites if s.access == "captive"}
    sites = tuple(sorted({x for s in services.services for x in s.sites}))
    leases = tuple(sorted({captive[x] for x in sites if x in captive}))
    base = len(nodes)
    leaves = [
        Node(
            id=base + 1 + k,
            name=s.tenant,
            parent=base,
            guarantee={flavor_of(s): s.max_gpus},
            limit={flavor_of(s): s.max_gpus},
            borrow=False,
            sites=s.sites,
        )
        for k, s in enumerate(services.services)
    ]
    node = Node(
        id=base,
        name=p.node,
        parent=parent.id,
        guarantee=need,
        limit=dict(need),
        borrow=False,
        leases=leases,
        sites=sites,
        children=tuple(n.id for n in leaves),
    )
    nodes[parent.id] = replace(nodes[parent.id], children=(*nodes[parent.id].children, base))
    nodes += [node, *leaves]
    return Tenancy.build(
        _depth_first(nodes),
        tenancy.fair_share,
        tenancy.preemption,
        source=f"{tenancy.source} + {services.source}",
    )


def _carve(donor: Node, need: dict[str, int], source: str) -> Node:
    """The donor with `need` taken from its guarantee (per flavor, else from its `any`)."""
    g = dict(donor.guarantee)
    for f, n in need.items():
        key = f if f in g else ANY
        if g.get(key, 0) < n:
            raise ConfigError(
                f"{source}: carve_from {donor.name!r} guarantees "
                f"{g.get(key, 0)} {key} GPUs left, the service needs {n} {f}"
            )
        g[key] -= n
    return replace(donor, guarantee=g)


def _depth_first(nodes: list[Node]) -> list[Node]:
    """The nodes renumbered in depth-first order (what reports and metrics list by)."""
    order: list[int] = []
    stack = [n.id for n in reversed(nodes) if n.parent < 0]
    while stack:
        nid = stack.pop()
        order.append(nid)
        stack.extend(reversed(nodes[nid].children))
    new = {old: k for k, old in enumerate(order)}
    return [
        replace(
            nodes[old],
            id=new[old],
            parent=new[nodes[old].parent] if nodes[old].parent >= 0 else -1,
            children=tuple(new[c] for c in nodes[old].children),
        )
        for old in order
    ]
