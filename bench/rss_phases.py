"""Memory of `gpufleet simulate --out DIR` phase by phase: where the peak RSS is made.

Run: .venv/bin/python bench/rss_phases.py [--days 30] [--failures on] [--inference auto]
     [--out /tmp/rss30] [--curve /tmp/rss30.csv] [--save REC.pickle]
     .venv/bin/python bench/rss_phases.py --record REC.pickle --repeat 12 [--out DIR]

Runs the same steps as `gpufleet simulate --quiet --out DIR` (synthetic workload, the
scenario's tenant tree, inference services and failures when switched on), in the same order
and writing the same files, and prints per phase its wall time, the RSS after it and its own
peak. Each phase's peak is the kernel's high-water mark (VmHWM), reset at the phase's start
through /proc/self/clear_refs (Linux 4.0+), so it is exact, not sampled. `--curve` also writes
VmRSS every 0.2 s with the phase running, as CSV (seconds, MiB, phase).

`--save` pickles the record (with the tenant tree, services and replica plan) after the
simulation; `--record` reads one instead of simulating, and `--repeat K` then lays its jobs K
times end to end, copy c shifted by c windows: the output phase of a run K times as long
(the 30-day run 12 times over is ~38.4 million jobs, a year's) in minutes instead of hours.
The samples (utilization, queue) are not repeated.
"""

from __future__ import annotations

import argparse
import json
import pickle
import threading
import time
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from cli_run import add_run_arguments, prepare, run
from gpufleet.accounting.ledger import ledger_of
from gpufleet.engine.record import RunRecord
from gpufleet.metrics.summary import summarize
from gpufleet.report import files


def _status(field: str) -> float:
    """A /proc/self/status field in MiB (VmRSS, VmHWM)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


class Phases:
    """Times and peaks of named phases, with an optional RSS curve sampled in a thread."""

    def __init__(self, curve: Path | None) -> None:
        self.t0 = time.perf_counter()
        self.name = "start"
        self.rows: list[tuple[str, float, float, float]] = []
        self.samples: list[tuple[float, float, str]] = []
        self._stop = threading.Event()
        self._curve = curve
        if curve is not None:
            threading.Thread(target=self._poll, daemon=True).start()

    def _poll(self) -> None:
        while not self._stop.wait(0.2):
            self.samples.append((time.perf_counter() - self.t0, _status("VmRSS"), self.name))

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self.name = name
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")  # reset VmHWM to the current RSS
        t = time.perf_counter()
        yield
        wall = time.perf_counter() - t
        self.rows.append((name, wall, _status("VmRSS"), _status("VmHWM")))
        print(
            f"{name:<22} {wall:8.1f} s  RSS after {self.rows[-1][2]:8,.0f} MiB  "
            f"peak {self.rows[-1][3]:8,.0f} MiB",
            flush=True,
        )

    def close(self) -> None:
        self._stop.set()
        if self._curve is not None:
            lines = [f"{t:.1f},{mib:.0f},{name}" for t, mib, name in self.samples]
            self._curve.write_text("seconds,rss_mib,phase\n" + "\n".join(lines) + "\n")


Run = tuple[int, float, float, int]


def _simulate(args: argparse.Namespace, step: Callable[[str], Any]) -> tuple[Any, ...]:
    """What `gpufleet simulate` does before its outputs: (record, tree, services, plan)."""
    with step("prepare"):
        fleet, jobs, tree, services, plan, realism = prepare(args)
    with step("simulate"):
        rec = run(args, fleet, jobs, tree, plan, realism)
        del jobs
    return rec, tree, services, plan


def _repeated(rec: RunRecord, k: int) -> RunRecord:
    """`rec`'s jobs k times over, copy c's times shifted by c windows and its job ids by c
    times (the largest id + 1); runs cut short, failure counts and lost work likewise."""
    n, w = len(rec.jobs), rec.window
    next_id = int(rec.jobs.ids().max()) + 1

    def tiled(a: array[Any], step: float = 0) -> array[Any]:
        x = np.frombuffer(a, a.typecode)
        out = array(a.typecode)
        out.frombytes(np.concatenate([x + c * step if step else x for c in range(k)]).tobytes())
        return out

    jobs = rec.jobs
    jobs.id, jobs.submit, jobs.gpus = (
        tiled(jobs.id, next_id),
        tiled(jobs.submit, w),
        tiled(jobs.gpus),
    )
    for labels in (jobs.tenant, jobs.group, jobs.kind):
        labels.codes = tiled(labels.codes)
    rec.start, rec.end = tiled(rec.start, w), tiled(rec.end, w)
    rec.cluster, rec.n_domains = tiled(rec.cluster), tiled(rec.n_domains)
    rec.n_blocks, rec.state = tiled(rec.n_blocks), tiled(rec.state)

    def runs(xs: list[Run]) -> list[Run]:
        return [(i + c * n, s + c * w, e + c * w, cl) for c in range(k) for i, s, e, cl in xs]

    def by_job(d: dict[int, Any]) -> dict[int, Any]:
        return {i + c * n: v for c in range(k) for i, v in d.items()}

    rec.preempted, rec.failed = runs(rec.preempted), runs(rec.failed)
    rec.preempted_by = rec.preempted_by * k
    rec.failures, rec.planned = by_job(rec.failures), by_job(rec.planned)
    rec.lost_gpu_s, rec.reasons = by_job(rec.lost_gpu_s), by_job(rec.reasons)
    rec.window = k * w
    return rec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    add_run_arguments(ap, days=30.0, load=0.85)
    ap.add_argument("--out", type=Path, default=Path("/tmp/rss-phases"))
    ap.add_argument("--curve", type=Path, default=None, help="write the RSS curve here (CSV)")
    ap.add_argument("--save", type=Path, default=None, help="pickle the record here")
    ap.add_argument("--record", type=Path, default=None, help="a record pickled by --save")
    ap.add_argument("--repeat", type=int, default=1, help="with --record: its jobs K times")
    args = ap.parse_args()
    ph = Phases(args.curve)
    step: Callable[[str], Any] = ph.phase
    if args.record is not None:
        with step("load"):
            rec, tree, services, plan = pickle.loads(args.record.read_bytes())
            if args.repeat > 1:
                rec = _repeated(rec, args.repeat)
    else:
        rec, tree, services, plan = _simulate(args, step)
        if args.save is not None:
            args.save.write_bytes(pickle.dumps((rec, tree, services, plan)))
    with step("summarize"):
        metrics = summarize(rec)
    if tree is not None:
        from gpufleet.metrics.tenancy import tenancy_summary

        with step("tenancy_summary"):
            metrics["tenancy"] = tenancy_summary(rec, tree)
    if plan is not None:
        from gpufleet.metrics.inference import inference_summary

        with step("inference_summary"):
            metrics["inference"] = inference_summary(rec, services, plan)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    # write_run's steps, one phase each
    with step("jobs.parquet"):
        files._write_records(rec, out / "jobs.parquet")
    with step("utilization.parquet"):
        pq.write_table(files.timeseries_table(rec), out / "utilization.parquet")
    with step("queue.parquet"):
        pq.write_table(files.queue_table(rec), out / "queue.parquet")
    with step("ledger.parquet"):
        pq.write_table(ledger_of(rec), out / "ledger.parquet")
    with step("metrics.json"):
        text = json.dumps(metrics, indent=2, sort_keys=True) + "\n"
        (out / "metrics.json").write_text(text, encoding="utf-8")
        info = files.run_info(rec, args.scenario, "synthetic")
        (out / "run.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    ph.close()
    top = max(ph.rows, key=lambda r: r[3])
    print(f"{len(rec.jobs):,} jobs; peak {top[3]:,.0f} MiB in {top[0]}")


if __name__ == "__main__":
    main()
