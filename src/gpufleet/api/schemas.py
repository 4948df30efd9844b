"""REST bodies: a job request parsed once into a `JobSpec`, and the job as the API shows it.

Checks that need the fleet (GPU models, sites, whether any cluster can ever hold the job) run
here too, so that a request the core would reject is refused with the field named and nothing
is stored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator

from gpufleet.db.records import JobRecord, JobSpec
from gpufleet.fleet.model import Fleet
from gpufleet.tenancy.model import DATA_CLASSES
from gpufleet.workload.units import parse_duration

# Jobs that name no time limit get this one, so the core can plan around them [A] (one day,
# like a common Slurm partition default).
DEFAULT_TIME_LIMIT_S = 86400.0
MAX_TIME_LIMIT_S = 30 * 86400.0

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
EnvName = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class JobIn(BaseModel):
    """A job request. Give `command` (a shell command line) or `script` (a batch script)."""

    model_config = ConfigDict(extra="forbid")

    gpus: StrictInt = Field(gt=0, le=1_000_000, description="GPUs in the gang")
    time_limit: float | str | None = Field(
        default=None,
        description="seconds, or a duration such as 90m, 2h, 1d, 1-00:00:00 (default 1 day)",
    )
    models: list[Name] = Field(
        default_factory=list, max_length=32, description="allowed GPU models, preferred first"
    )
    ref_model: Name | None = Field(
        default=None, description="model the time limit is given on (default: first of models)"
    )
    sites: list[Name] = Field(default_factory=list, max_length=64, description="allowed sites")
    priority: StrictInt = Field(default=0, ge=-1_000_000, le=1_000_000)
    kind: Literal["pretrain", "finetune", "eval", "batch", "inference"] = "batch"
    topology: Literal["domain", "block", "any"] = "any"
    preemptible: StrictBool = False
    group: str = Field(default="", max_length=64)
    command: str | None = Field(default=None, min_length=1, max_length=65536)
    script: str | None = Field(default=None, min_length=1, max_length=1_048_576)
    env: dict[EnvName, Annotated[str, Field(max_length=65536)]] = Field(
        default_factory=dict, max_length=256
    )
    data_class: str = Field(
        default="",
        max_length=32,
        description="which sites may hold the job's data: "
        + ", ".join(DATA_CLASSES)
        + " (default: the tenant's, from the tenant tree)",
    )

    @field_validator("data_class")
    @classmethod
    def _data_class(cls, v: str) -> str:
        if v and v not in DATA_CLASSES:
            raise ValueError(f"unknown data class {v!r}; valid: {', '.join(DATA_CLASSES)}")
        return v

    @field_validator("time_limit")
    @classmethod
    def _duration(cls, v: float | str | None) -> float | None:
        if v is None:
            return None
        seconds = parse_duration(v) if isinstance(v, str) else float(v)
        if not 0 < seconds <= MAX_TIME_LIMIT_S:
            raise ValueError(f"must be > 0 and at most {MAX_TIME_LIMIT_S:g} s (30 days)")
        return seconds


FieldError = tuple[tuple[str | int, ...], str]


def to_spec(body: JobIn, fleet: Fleet) -> JobSpec | FieldError:
    """The spec, or (field path, message) for the first thing this fleet cannot take."""
    if (body.command is None) == (body.script is None):
        return ("command",), "give exactly one of command (a shell command) or script"
    for i, m in enumerate(body.models):
        if m not in fleet.models:
            return (
                "models",
                i,
            ), f"unknown GPU model {m!r}; known: {', '.join(sorted(fleet.models))}"
    ref = body.ref_model or (body.models[0] if body.models else "H100")
    if ref not in fleet.models:
        return ("ref_model",), f"unknown GPU model {ref!r}"
    site_ids = [s.id for s in fleet.sites]
    for i, s in enumerate(body.sites):
        if s not in site_ids:
            return ("sites", i), f"unknown site {s!r}; sites: {', '.join(site_ids)}"
    clusters = [
        (ci, c)
        for ci, c in enumerate(fleet.clusters)
        if (not body.models or c.gpu_model in body.models)
        and (not body.sites or c.site in body.sites)
    ]
    if not clusters:
        where = ("models",) if body.models else ("sites",)
        return where, "no cluster of this fleet has these GPU models at these sites"
    most = max(_capacity(fleet, ci, body.topology) for ci, _ in clusters)
    if body.gpus > most:
        within = "one NVLink domain" if body.topology == "domain" else f"one {body.topology}"
        if body.topology == "any":
            within = "one cluster"
        return ("gpus",), (
            f"{body.gpus} GPUs cannot fit: the largest fit within {within} of the allowed "
            f"models and sites is {most} GPUs"
        )
    limit = body.time_limit if isinstance(body.time_limit, float) else DEFAULT_TIME_LIMIT_S
    return JobSpec(
        gpus=body.gpus,
        runtime=limit,
        time_limit=limit,
        ref_model=ref,
        models=tuple(body.models),
        sites=tuple(body.sites),
        priority=body.priority,
        kind=body.kind,
        topology=body.topology,
        preemptible=body.preemptible,
        group=body.group,
        command=body.command,
        script=body.script,
        env=tuple(sorted(body.env.items())),
        data_class=body.data_class,
    )


def _capacity(fleet: Fleet, ci: int, topology: str) -> int:
    c = fleet.clusters[ci]
    if topology == "domain":
        return c.domain_gpus
    if topology == "block":
        return fleet.cluster_block_gpus[ci]
    return c.gpus


class NodeOut(BaseModel):
    node: str
    gpus: list[int]


class JobOut(BaseModel):
    """A job as the API shows it. Times are seconds since the epoch."""

    id: int
    tenant: str
    state: Literal["pending", "running", "completed", "failed", "cancelled", "timeout", "rejected"]
    submit: float
    start: float | None
    end: float | None
    gpus: int
    time_limit: float | None
    models: list[str]
    ref_model: str
    sites: list[str]
    priority: int
    kind: str
    topology: str
    preemptible: bool
    group: str
    command: str | None
    script: str | None
    env: dict[str, str]
    site: str | None
    cluster: str | None
    nodes: list[NodeOut]
    executor: str | None
    executor_id: str | None
    exit_code: int | None
    reason: str
    idempotency_key: str | None
    data_class: str
    preempt_at: float | None
    preemptions: int

    @staticmethod
    def of(r: JobRecord, reason: str | None = None) -> dict[str, Any]:
        """The job as shown; `reason` (why a pending job waits) replaces the stored one."""
        s = r.spec
        nodes = (r.allocation or {}).get("nodes", [])
        return {
            "id": r.id,
            "tenant": r.tenant,
            "state": r.state,
            "submit": r.submit,
            "start": r.start,
            "end": r.end,
            "gpus": s.gpus,
            "time_limit": s.time_limit,
            "models": list(s.models),
            "ref_model": s.ref_model,
            "sites": list(s.sites),
            "priority": s.priority,
            "kind": s.kind,
            "topology": s.topology,
            "preemptible": s.preemptible,
            "group": s.group,
            "command": s.command,
            "script": s.script,
            "env": dict(s.env),
            "site": r.site,
            "cluster": r.cluster,
            "nodes": [{"node": n, "gpus": g} for n, g in nodes],
            "executor": r.executor,
            "executor_id": r.executor_id,
            "exit_code": r.exit_code,
            "reason": r.reason if reason is None else reason,
            "idempotency_key": r.idempotency_key,
            "data_class": s.data_class,
            "preempt_at": r.preempt_at,
            "preemptions": r.preemptions,
        }


class UsageOut(BaseModel):
    tenant: str
    jobs: int
    gpu_seconds: float
    gpu_hours: float


class ClusterOut(BaseModel):
    id: str
    site: str
    gpu_model: str
    gpus: int
    free_gpus: int
    domain_gpus: int
    node_gpus: int


class FleetOut(BaseModel):
    name: str
    sites: list[str]
    clusters: list[ClusterOut]
    pending_jobs: int
    running_jobs: int
