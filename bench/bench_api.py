"""Control-plane benchmark: REST submissions per second and p99 latency on SQLite, time from
submission to start on an idle fleet, and restart time with N jobs queued.

    .venv/bin/python bench/bench_api.py [--seconds 10] [--connections 4 8 16] [--jobs 5000]
        [--clients 8] [--starts 50] [--queued 100000]

Each part starts a real `gpufleet serve` (scenario two-nodes, local executor, SQLite in a
fresh data directory) on a free loopback port, and stops it afterwards. Submissions are 1-GPU
jobs behind a 16-GPU job that holds the fleet, so they queue (the core still takes each one).
The load comes from wrk when it is installed, and from Python threads with httpx.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

GPUFLEET = [sys.executable, "-m", "gpufleet.cli"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _token(data_dir: Path, admin: bool = False) -> str:
    name = "admin" if admin else "bench"
    args = [*GPUFLEET, "tenant", "add", name, "--data-dir", str(data_dir)]
    out = subprocess.run(args + (["--admin"] if admin else []), capture_output=True, text=True)
    return out.stdout.strip()


@contextmanager
def _server(data_dir: Path, ready: bool = False) -> Iterator[tuple[str, float]]:
    """(base URL, seconds from process start until /healthz answered, or with `ready` until
    it said the engine had recovered)."""
    port = _port()
    t0 = time.perf_counter()
    args = ["serve", "--scenario", "two-nodes", "--data-dir", str(data_dir), "--port", str(port)]
    with open(data_dir / "serve.log", "ab") as log:
        proc = subprocess.Popen([*GPUFLEET, *args], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                r = httpx.get(f"{url}/healthz", timeout=1)
                if r.status_code == 200 and (not ready or r.json()["engine"] == "ready"):
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise SystemExit(f"gpufleet serve exited; see {data_dir / 'serve.log'}")
            time.sleep(0.01)
        yield url, time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(30)


def _cancel_all(url: str, token: str) -> None:
    """Stop the jobs still running (their processes outlive the server by design)."""
    headers = {"Authorization": f"Bearer {token}"}
    for job in httpx.get(f"{url}/jobs?state=running", headers=headers, timeout=30).json():
        httpx.delete(f"{url}/jobs/{job['id']}", headers=headers, timeout=30)


def throughput_wrk(seconds: int, connections: int) -> bool:
    """Submissions from wrk (a C load generator, so the client costs little CPU); False if
    wrk is not installed."""
    if shutil.which("wrk") is None:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        token = _token(d)
        lua = d / "post.lua"
        lua.write_text(
            'wrk.method = "POST"\n'
            'wrk.body = \'{"gpus": 1, "command": "true"}\'\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
            f'wrk.headers["Authorization"] = "Bearer {token}"\n'
        )
        with _server(d) as (url, _):
            headers = {"Authorization": f"Bearer {token}"}
            httpx.post(f"{url}/jobs", json={"gpus": 16, "command": "sleep 600"}, headers=headers)
            args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
            out = subprocess.run(
                [*args, "-s", str(lua), f"{url}/jobs"], capture_output=True, text=True
            ).stdout
            stored = len(httpx.get(f"{url}/jobs?limit=100000", headers=headers).json())
            _cancel_all(url, token)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"50%\s+(\S+)", out)
    p99 = re.search(r"99%\s+(\S+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    print(
        f"submissions (wrk, {connections} connections, {seconds} s): "
        f"{float(rate.group(1)) if rate else 0:,.0f} jobs/s, latency p50 "
        f"{p50.group(1) if p50 else '?'}, p99 {p99.group(1) if p99 else '?'}; "
        f"{stored - 1:,} jobs stored, {errors.group(1) if errors else 0} errors"
    )
    return True


def throughput(n: int, clients: int) -> None:
    """n submissions from `clients` threads with keep-alive connections; the fleet is full,
    so the jobs queue (the core still takes each one)."""
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        token = _token(d)
        with _server(d) as (url, _):
            headers = {"Authorization": f"Bearer {token}"}
            httpx.post(f"{url}/jobs", json={"gpus": 16, "command": "sleep 600"}, headers=headers)
            latencies: list[float] = []
            lock = threading.Lock()
            per = n // clients

            def run() -> None:
                mine: list[float] = []
                body = {"gpus": 1, "command": "true"}
                with httpx.Client(base_url=url, headers=headers, timeout=30) as c:
                    for _ in range(per):
                        t = time.perf_counter()
                        r = c.post("/jobs", json=body)
                        mine.append(time.perf_counter() - t)
                        assert r.status_code == 201, r.text
                with lock:
                    latencies.extend(mine)

            threads = [threading.Thread(target=run) for _ in range(clients)]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
            _cancel_all(url, token)
    lat = sorted(latencies)
    p = statistics.quantiles(lat, n=100)
    print(
        f"submissions (Python clients): {len(lat):,} from {clients} threads in {wall:.2f} s = "
        f"{len(lat) / wall:,.0f} jobs/s; latency p50 {p[49] * 1e3:.1f} ms, "
        f"p99 {p[98] * 1e3:.1f} ms, max {lat[-1] * 1e3:.1f} ms"
    )


def start_latency(n: int) -> None:
    """Submission to start decision on an idle fleet, from the server's own time stamps."""
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        token = _token(d)
        with _server(d) as (url, _):
            headers = {"Authorization": f"Bearer {token}"}
            waits: list[float] = []
            with httpx.Client(base_url=url, headers=headers, timeout=30) as c:
                for _ in range(n):
                    job = c.post("/jobs", json={"gpus": 1, "command": "true"}).json()
                    while True:
                        got = c.get(f"/jobs/{job['id']}").json()
                        if got["start"] is not None:
                            break
                        time.sleep(0.002)
                    waits.append(got["start"] - got["submit"])
                    while c.get(f"/jobs/{job['id']}").json()["state"] == "running":
                        time.sleep(0.005)  # keep the fleet idle for the next one
    w = sorted(waits)
    print(
        f"submission to start on an idle fleet: {n} jobs, median {statistics.median(w) * 1e3:.1f}"
        f" ms, max {w[-1] * 1e3:.1f} ms"
    )


def restart(queued: int) -> None:
    """Restart time with `queued` jobs pending: until /healthz answers (recovery included)."""
    from gpufleet.db.records import JobSpec
    from gpufleet.db.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        _token(d)
        store = Store.open(d)
        from sqlalchemy import insert

        from gpufleet.db.schema import JobRow

        spec = JobSpec(gpus=16, runtime=3600.0, time_limit=3600.0, command="sleep 600")
        store.add_job("bench", spec, time.time())
        row = {
            "tenant": "bench",
            "group": "",
            "state": "pending",
            "gpus": 1,
            "runtime": 60.0,
            "time_limit": 60.0,
            "ref_model": "H100",
            "models": [],
            "sites": [],
            "priority": 0,
            "kind": "batch",
            "topology": "any",
            "preemptible": False,
            "command": "true",
            "env": {},
            "reason": "",
        }
        now = time.time()
        with store.engine.begin() as conn:
            conn.execute(insert(JobRow), [{**row, "submit": now + i * 1e-3} for i in range(queued)])
        store.close()
        token = _token(d, admin=True)
        with _server(d, ready=True) as (_, first):
            pass  # the first start runs the blocker and queues the rest
        with _server(d) as (url, serving), _ready(url) as ready:
            pass
        with _server(d) as (url, _):
            _cancel_all(url, token)
    print(
        f"restart with {queued:,} jobs queued: serving after {serving:.2f} s, scheduling after "
        f"{serving + ready:.2f} s (process start to answer, Python and imports included; "
        f"first start {first:.2f} s)"
    )


@contextmanager
def _ready(url: str) -> Iterator[float]:
    """Seconds until /healthz says the engine has recovered."""
    t0 = time.perf_counter()
    while httpx.get(f"{url}/healthz", timeout=30).json()["engine"] != "ready":
        time.sleep(0.01)
    yield time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10, help="wrk run length")
    ap.add_argument(
        "--connections", type=int, nargs="+", default=[4, 8, 16], help="wrk connections"
    )
    ap.add_argument("--jobs", type=int, default=5000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--starts", type=int, default=50)
    ap.add_argument("--queued", type=int, default=100_000)
    a = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    for c in a.connections:
        if not throughput_wrk(a.seconds, c):
            print("wrk not found (apt-get install wrk); Python clients only")
            break
    throughput(a.jobs, a.clients)
    start_latency(a.starts)
    restart(a.queued)


if __name__ == "__main__":
    main()
