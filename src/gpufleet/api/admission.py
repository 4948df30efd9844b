"""Admission of a submission against the tenant tree, before anything is stored.

The core refuses the same jobs when they reach it (`Scheduler._sovereign`: a tenant that is not
a leaf of the tree, a data class no allowed site takes, more GPUs than the tenant may ever run
at once), but by then the job is stored and can only be recorded `rejected`. Asking here first
turns each of those into a 4xx that names the field, with nothing stored; the core's `Reject`
stays as the backstop. The rules are the core's, from the same public pieces: the tree's
lookups (`Tenancy.leaf`, `data_class`, `sites`, `owners`), `allowed_sites` and `Quota.cap`.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpufleet.db.records import JobSpec
from gpufleet.fleet.model import Fleet
from gpufleet.scheduler.quota import Quota
from gpufleet.tenancy.model import Tenancy
from gpufleet.tenancy.sovereignty import allowed_sites, site_allows


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the tree refuses a job: the field to blame (`tenant`, `data_class`, `sites`,
    `models`, `gpus`) and a sentence."""

    field: str
    message: str


class Admission:
    """The tree's admission rules for one fleet. Used from the API's event loop only: the
    `Quota` here is a private copy whose static caps alone are read (never the core's)."""

    def __init__(self, tenancy: Tenancy, fleet: Fleet) -> None:
        self.tenancy = tenancy
        self.fleet = fleet
        self._quota = Quota(tenancy, fleet)
        self._caps: dict[tuple[int, str], int] = {}

    def check(self, tenant: str, spec: JobSpec) -> Refusal | None:
        """None when the core will queue the job; else why it would reject it."""
        t = self.tenancy
        leaf = t.leaf.get(tenant)
        if leaf is None:
            what = "a group" if t.node(tenant) is not None else "not a node"
            return Refusal(
                "tenant",
                f"tenant {tenant!r} is {what} of the tenant tree ({t.source or 'in force'}); "
                "only its leaves may run jobs: ask the operator to add it as a leaf",
            )
        dc = spec.data_class or t.data_class(leaf)
        owners = t.owners(leaf)
        line = t.sites(leaf)
        ok = allowed_sites(self.fleet.sites, dc, owners)
        allowed = [s for s in ok if line is None or s in line]
        if not allowed:
            return Refusal("data_class", f"no site allowed for data class {dc} of tenant {tenant}")
        sites = [s for s in spec.sites if s in allowed] if spec.sites else allowed
        if not sites:
            return Refusal("sites", self._why_not_sites(spec, dc, owners, line, allowed))
        clusters = [
            c
            for c in self.fleet.clusters
            if c.site in sites and (not spec.models or c.gpu_model in spec.models)
        ]
        if not clusters:
            return Refusal(
                "models",
                f"no cluster of GPU models {', '.join(spec.models)} at the sites tenant "
                f"{tenant} may use for data class {dc} ({', '.join(sites)})",
            )
        if not any(self._capacity(c.id, spec.topology) >= spec.gpus for c in clusters):
            return Refusal(
                "gpus",
                f"{spec.gpus} GPUs cannot fit in one {spec.topology} at the sites tenant "
                f"{tenant} may use for data class {dc} ({', '.join(sites)})",
            )
        models = sorted({c.gpu_model for c in clusters})
        most = max(self._cap(leaf, m) for m in models)
        if spec.gpus > most:
            return Refusal(
                "gpus",
                f"asks {spec.gpus} GPUs, above what tenant {tenant} may ever run at once "
                f"({most} GPUs of {', '.join(models)})",
            )
        return None

    def _cap(self, leaf: int, model: str) -> int:
        key = (leaf, model)
        if key not in self._caps:
            self._caps[key] = self._quota.cap(leaf, model)
        return self._caps[key]

    def _capacity(self, cluster_id: str, topology: str) -> int:
        return self.fleet.gang_capacity(self.fleet.cluster_index(cluster_id), topology)

    def _why_not_sites(
        self,
        spec: JobSpec,
        dc: str,
        owners: frozenset[str],
        line: frozenset[str] | None,
        allowed: list[str],
    ) -> str:
        by_id = {s.id: s for s in self.fleet.sites}
        first = spec.sites[0]
        why = site_allows(by_id[first], dc, owners)
        if why is None and line is not None and first not in line:
            why = f"{first} is not among the sites its line of the tree allows"
        return (
            f"none of these sites may run data class {dc} for this tenant ({why}); "
            f"allowed: {', '.join(allowed)}"
        )
