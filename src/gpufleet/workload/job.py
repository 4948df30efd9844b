"""A job as the scheduler sees it: a gang of GPUs wanted for a run time, with constraints."""

from __future__ import annotations

from dataclasses import dataclass

JOB_KINDS = ("pretrain", "finetune", "eval", "batch", "inference")
# "domain": all GPUs inside one NVLink domain; "block": inside one network block;
# "any": anywhere inside one cluster (a gang never spans clusters).
TOPOLOGIES = ("domain", "block", "any")


@dataclass(frozen=True, slots=True)
class Job:
    """One job. Times are seconds; `runtime` is measured on `ref_model`.

    On another GPU model the run time scales by the catalog's dense BF16 throughput ratio,
    unless `runtimes` gives that model's time explicitly. `time_limit`, also on `ref_model`
    and scaled the same way, cuts the run and is what the scheduler may assume for planning
    (backfill); None means the true run time is known (an oracle).
    `models` lists the allowed GPU models in order of preference; empty means any. `sites`
    lists the sites the job may run at (its owner's captive fleet, the sites its data class
    allows); empty means any. `data_class` (see gpufleet.tenancy.model.DATA_CLASSES) narrows
    the sites further when a tenant tree is in force; empty means the tenant's default.
    """

    id: int
    tenant: str
    submit: float
    gpus: int
    runtime: float
    ref_model: str = "H100"
    models: tuple[str, ...] = ()
    priority: int = 0
    kind: str = "batch"
    topology: str = "any"
    preemptible: bool = False
    time_limit: float | None = None
    group: str = ""
    runtimes: tuple[tuple[str, float], ...] = ()
    sites: tuple[str, ...] = ()
    data_class: str = ""
