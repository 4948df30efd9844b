"""Read Shanghai AI Lab Acme job traces (NSDI'24): `trace_seren.csv` and `trace_kalos.csv`.

Columns (AcmeTrace README): job_id, user, node_num, gpu_num, cpu_num, [mem_per_pod_GB,
shared_mem_per_pod,] type, state, submit_time, start_time, end_time, [fail_time, stop_time,]
duration (s, end - start), queue (s), gpu_time. Times carry a zone offset
("2023-03-01 00:18:22+08:00"). The layout is Helios's without `vc`, plus `type`.
"""

from __future__ import annotations

from pathlib import Path

from gpufleet.workload.traces.frame import TraceRead
from gpufleet.workload.traces.helios import read_job_log

FORMAT = "acme"
# Both Acme clusters, Seren and Kalos, are built of A100 SXM 80 GB GPUs
# (Hu et al., NSDI'24, Sec. 2).
DEFAULT_REF_MODEL = "A100"
# Acme's job types (AcmeTrace README `type`, NSDI'24 Sec. 3) onto Job kinds; the same reading as
# docs/workload.md's mix table: SFT and multimodal (MLLM) -> finetune, debug and other -> batch.
KINDS = {
    "pretrain": "pretrain",
    "sft": "finetune",
    "mllm": "finetune",
    "evaluation": "eval",
    "eval": "eval",
    "debug": "batch",
    "other": "batch",
}


def read(path: Path, /, *, ref_model: str = DEFAULT_REF_MODEL) -> TraceRead:
    """Acme jobs: tenant = user, kind from `type`; CPU-only jobs dropped; see docs/traces.md."""
    return read_job_log(FORMAT, path, ref_model=ref_model, kind=("type", KINDS))
