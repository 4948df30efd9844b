"""The run `gpufleet simulate` makes before writing anything, for benchmark scripts that replay it.

`record_hash.py` fingerprints its record and `rss_phases.py` measures its memory; both take the
same arguments and must run exactly what the CLI runs (synthetic workload, the scenario's tenant
tree and inference services, failures and maintenance when switched on).
"""

from __future__ import annotations

import argparse
from typing import Any

from gpufleet.cli.base import DEFAULT_POLICY
from gpufleet.cli.twin import _load_workload, _realism, _services, _with_replicas
from gpufleet.engine.record import RunRecord
from gpufleet.engine.sim import simulate
from gpufleet.fleet.loader import load_fleet
from gpufleet.policy.registry import resolve
from gpufleet.tenancy.loader import resolve_tenancy


def add_run_arguments(ap: argparse.ArgumentParser, *, days: float, load: float) -> None:
    """The CLI's options that decide the run: scenario, workload, policy, realism, tree."""
    ap.add_argument("--scenario", default="korea-2025")
    ap.add_argument("--days", type=float, default=days)
    ap.add_argument("--load", type=float, default=load)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--policy", default=DEFAULT_POLICY)
    ap.add_argument("--failures", choices=("on", "off"), default="on")
    ap.add_argument("--maintenance", choices=("on", "off"), default="off")
    ap.add_argument("--tenancy", default="auto")
    ap.add_argument("--inference", default="auto")


def prepare(args: argparse.Namespace) -> tuple[Any, ...]:
    """(fleet, jobs, tree, services, replica plan, realism), as the CLI builds them."""
    fleet = load_fleet(args.scenario)
    tree = resolve_tenancy(args.tenancy, args.scenario, fleet)
    services, tree = _services(args.inference, args.scenario, fleet, tree)
    realism = _realism(args.failures, None, "off", args.maintenance)
    jobs = _load_workload("synthetic", fleet, args.days, args.seed, args.load, None)
    jobs, plan = _with_replicas(jobs, services, args.days)
    return fleet, jobs, tree, services, plan, realism


def run(
    args: argparse.Namespace, fleet: Any, jobs: Any, tree: Any, plan: Any, realism: Any
) -> RunRecord:
    """The simulation itself, with the CLI's placement, window and cancellations."""
    return simulate(
        fleet,
        jobs,
        resolve(args.policy, "topo-best-fit"),
        window=args.days * 86400.0,
        seed=args.seed,
        tenancy=tree,
        realism=realism,
        cancels=plan.cancels if plan is not None else (),
    )
