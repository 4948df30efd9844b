"""Test helpers for the live control plane: databases (SQLite, PostgreSQL), a fake executor,
a real `gpufleet serve` process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from gpufleet.engine.clock import FakeClock
from gpufleet.engine.executor import Launch, Report

# CI starts a server here; a developer's machine may not have one.
PG_HOST = os.environ.get("GPUFLEET_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("GPUFLEET_TEST_PG_PORT", "5432"))
PG_USERS = ("postgres", "root")


def _pg_admin() -> tuple[str, str] | None:
    """(user, "") of a role that answers on the test database, or ("", why none did)."""
    import psycopg

    last = ""
    for user in PG_USERS:
        try:
            with psycopg.connect(
                host=PG_HOST, port=PG_PORT, user=user, dbname="test", connect_timeout=3
            ):
                return user, ""
        except psycopg.Error as e:
            last = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return None if not last else ("", last)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped after; skip if no server answers."""
    import psycopg

    found = _pg_admin()
    if found is None or not found[0]:
        reason = f"no PostgreSQL server at {PG_HOST}:{PG_PORT} ({found[1] if found else '?'})"
        if os.environ.get("CI") == "true":  # CI starts one (.ci/run): never skip there
            pytest.fail(reason)
        pytest.skip(reason)
    user = found[0]
    name = f"gpufleet_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=user, dbname="test", autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://{user}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with psycopg.connect(
            host=PG_HOST, port=PG_PORT, user=user, dbname="test", autocommit=True
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def database(kind: str, tmp_path: Path) -> Iterator[str]:
    """A `--database` value for `kind` ('sqlite' or 'postgresql')."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'gpufleet.db'}"
    else:
        with postgres_database() as url:
            yield url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FakeExecutor:
    """Jobs 'run' on a fake clock: each ends at launch time + `runtime(launch)`."""

    def __init__(
        self, clock: FakeClock, runtime: Callable[[Launch], float], name: str = "fake"
    ) -> None:
        self.name = name
        self.clock = clock
        self.runtime = runtime
        self.launches: list[tuple[float, Launch]] = []
        self.ends: dict[int, float] = {}
        self.cancelled: list[int] = []
        self.alive: set[int] = set()  # what reconcile says still runs (a restart test sets it)
        self.fail: set[int] = set()  # job ids whose launch raises
        self.stopped: set[int] = set()  # cancelled runs the next poll reports

    def launch(self, launch: Launch) -> str:
        if launch.job_id in self.fail:
            raise RuntimeError("no such node")
        self.launches.append((self.clock.now(), launch))
        self.ends[launch.job_id] = self.clock.now() + self.runtime(launch)
        return f"fake-{launch.job_id}"

    def cancel(self, job_id: int) -> None:
        """Stop a run; the next poll reports it cancelled (as real executors do)."""
        self.cancelled.append(job_id)
        if self.ends.pop(job_id, None) is not None:
            self.stopped.add(job_id)

    def poll(self) -> list[Report]:
        now = self.clock.now()
        done = sorted(j for j, t in self.ends.items() if t <= now)
        for j in done:
            del self.ends[j]
        out = [Report(j, "completed", 0) for j in done]
        out += [Report(j, "cancelled", 143, "stopped") for j in sorted(self.stopped)]
        self.stopped.clear()
        return out

    def reconcile(self, running: dict[int, str]) -> list[Report]:
        return [Report(j, "completed", 0) for j in sorted(running) if j not in self.alive]

    def next_end(self) -> float | None:
        return min(self.ends.values(), default=None)


GPUFLEET = [sys.executable, "-m", "gpufleet.cli"]


@contextmanager
def serve_process(
    data_dir: Path, port: int, scenario: str = "two-nodes"
) -> Iterator[subprocess.Popen[bytes]]:
    """Start `gpufleet serve` and wait until it answers; kill it (if alive) afterwards."""
    args = ["serve", "--scenario", scenario, "--data-dir", str(data_dir), "--port", str(port)]
    log = data_dir / f"serve-{port}-{time.monotonic_ns()}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([*GPUFLEET, *args], stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, "gpufleet serve exited at start"
            assert time.monotonic() < deadline, "gpufleet serve did not answer in 30 s"
            time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
