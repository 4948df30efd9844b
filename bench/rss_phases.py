"""Memory of `gpufleet simulate --out DIR` phase by phase: where the peak RSS is made.

Run: .venv/bin/python bench/rss_phases.py [--days 30] [--failures on] [--inference auto]
     [--out /tmp/rss30] [--curve /tmp/rss30.csv]

Runs the same steps as `gpufleet simulate --quiet --out DIR` (synthetic workload, the
scenario's tenant tree, inference services and failures when switched on), in the same order
and writing the same files, and prints per phase its wall time, the RSS after it and its own
peak. Each phase's peak is the kernel's high-water mark (VmHWM), reset at the phase's start
through /proc/self/clear_refs (Linux 4.0+), so it is exact, not sampled. `--curve` also writes
VmRSS every 0.2 s with the phase running, as CSV (seconds, MiB, phase).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from gpufleet.accounting.ledger import ledger_of
from gpufleet.cli.base import DEFAULT_POLICY
from gpufleet.cli.twin import _load_workload, _realism, _services, _with_replicas
from gpufleet.engine.sim import simulate
from gpufleet.fleet.loader import load_fleet
from gpufleet.metrics.summary import summarize
from gpufleet.policy.registry import resolve
from gpufleet.report import files
from gpufleet.tenancy.loader import resolve_tenancy


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scenario", default="korea-2025")
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--load", type=float, default=0.85)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--policy", default=DEFAULT_POLICY)
    ap.add_argument("--failures", choices=("on", "off"), default="on")
    ap.add_argument("--tenancy", default="auto")
    ap.add_argument("--inference", default="auto")
    ap.add_argument("--out", type=Path, default=Path("/tmp/rss-phases"))
    ap.add_argument("--curve", type=Path, default=None, help="write the RSS curve here (CSV)")
    args = ap.parse_args()
    ph = Phases(args.curve)
    step: Callable[[str], Any] = ph.phase
    with step("prepare"):
        fleet = load_fleet(args.scenario)
        tree = resolve_tenancy(args.tenancy, args.scenario, fleet)
        services, tree = _services(args.inference, args.scenario, fleet, tree)
        realism = _realism(args.failures, None, "off")
        jobs = _load_workload("synthetic", fleet, args.days, args.seed, args.load, None)
        jobs, plan = _with_replicas(jobs, services, args.days)
    with step("simulate"):
        rec = simulate(
            fleet,
            jobs,
            resolve(args.policy, "topo-best-fit"),
            window=args.days * 86400.0,
            seed=args.seed,
            tenancy=tree,
            realism=realism,
            cancels=plan.cancels if plan is not None else (),
        )
        del jobs
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
