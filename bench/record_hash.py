"""Fingerprint of a run's record, to check that a speed or memory change altered no outcome.

Run: .venv/bin/python bench/record_hash.py [--days 3] [--load 1.0] [--failures on|off]
     [--maintenance on|off]
     [--policy NAME] [--tenancy auto|none] [--inference auto|off]

Runs the same path as `gpufleet simulate` (synthetic workload, the scenario's tenant tree and
inference services, failures and maintenance when switched on) and prints one sha256 over
every job's id, submit, start, end, cluster, domains, blocks and state, the preempted and
failed runs with their reasons, the failure and planned-stop counts, the samples and the
summary metrics. Equal digests before and after a change mean byte-identical outcomes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
from array import array
from typing import Any

from cli_run import add_run_arguments, prepare, run
from gpufleet.metrics.summary import summarize


def digest(rec: Any, metrics: dict[str, Any]) -> str:
    """sha256 over the record's outcome columns, event lists, samples and metrics."""
    h = hashlib.sha256()
    jobs = rec.jobs
    h.update(array("q", [j.id for j in jobs]).tobytes())
    h.update(array("d", [j.submit for j in jobs]).tobytes())
    for col in (rec.start, rec.end, rec.state):
        h.update(bytes(memoryview(col)))
    for col in (rec.cluster, rec.n_domains, rec.n_blocks):
        h.update(array("q", col).tobytes())  # width-free: a narrower dtype hashes the same
    for part in (
        rec.preempted,
        rec.preempted_by,
        rec.failed,
        sorted(rec.failures.items()),
        sorted(rec.planned.items()),
        sorted(rec.lost_gpu_s.items()),
        sorted(rec.strikes.items()),
        sorted(rec.reasons.items()),
        rec.repair_gpu_s,
        rec.maintenance_gpu_s,
        rec.sample_time,
        rec.sample_busy,
        rec.sample_down,
        rec.sample_pending,
        rec.sample_running,
        rec.sample_waiting,
        rec.sample_unusable,
    ):
        h.update(repr(part).encode())
    timeless = {k: v for k, v in metrics.items() if k != "wall_seconds"}  # the one clock read
    h.update(json.dumps(timeless, sort_keys=True, default=repr).encode())
    return h.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    add_run_arguments(ap, days=3.0, load=1.0)
    args = ap.parse_args()
    fleet, jobs, tree, _, plan, realism = prepare(args)
    rec = run(args, fleet, jobs, tree, plan, realism)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{digest(rec, summarize(rec))}  {len(rec.jobs):,} jobs, {rec.wall_seconds:.1f} s, "
        f"peak RSS {rss:,.0f} MiB"
    )


if __name__ == "__main__":
    main()
