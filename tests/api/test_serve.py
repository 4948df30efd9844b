"""A real `gpufleet serve` process on a loopback port: the CLI client, and SIGKILL crashes."""

from __future__ import annotations

import json
import os
import random
import subprocess
import threading
import time
import uuid
from pathlib import Path

import httpx

from control_plane import GPUFLEET, free_port, serve_process
from gpufleet.db.store import Store


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GPUFLEET, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_cli_against_a_realserve_process(tmp_path: Path) -> None:
    port = free_port()
    token = _cli("tenant", "add", "alice", "--data-dir", str(tmp_path)).stdout.strip()
    assert token.startswith("gf_")
    env = {"GPUFLEET_SERVER": f"http://127.0.0.1:{port}", "GPUFLEET_TOKEN": token}
    job = tmp_path / "job.yaml"
    job.write_text("gpus: 4\ntime_limit: 10m\ncommand: echo $CUDA_VISIBLE_DEVICES; sleep 30\n")
    with serve_process(tmp_path, port):
        r = _cli("submit", str(job), "--output", "json", env=env)
        assert r.returncode == 0, r.stderr
        job_id = json.loads(r.stdout)["id"]
        deadline = time.monotonic() + 10
        while True:
            shown = json.loads(_cli("show", str(job_id), "--output", "json", env=env).stdout)
            if shown["state"] == "running" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert shown["nodes"] == [{"node": "lab-h100-0000", "gpus": [0, 1, 2, 3]}]
        queue = _cli("queue", env=env)
        assert queue.returncode == 0 and "running" in queue.stdout
        cancelled = _cli("cancel", str(job_id), env=env)
        assert cancelled.stdout.strip() == f"job {job_id}: cancelled"
        acct = json.loads(_cli("acct", "--output", "json", env=env).stdout)
        assert acct[0]["tenant"] == "alice" and acct[0]["jobs"] == 1
        # bad input: one line naming the field, exit code 2, nothing stored
        job.write_text("gpus: 64\ncommand: x\n")
        bad = _cli("submit", str(job), env=env)
        assert bad.returncode == 2 and "gpus" in bad.stderr and "422" in bad.stderr
        job.write_text("gpus: 2\ncommand: x\ncolour: red\n")
        bad = _cli("submit", str(job), env=env)
        assert bad.returncode == 2 and "colour (line 3): unknown field" in bad.stderr
        other = _cli("show", str(job_id), env={**env, "GPUFLEET_TOKEN": "gf_x_y"})
        assert other.returncode == 2 and "401" in other.stderr
        assert len(json.loads(_cli("queue", "--output", "json", env=env).stdout)) == 1


def _submitter(port: int, token: str, acked: dict[str, int], stop: threading.Event) -> None:
    """Submit 1-GPU jobs until the server stops answering; remember each acknowledged key."""
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    ) as c:
        while not stop.is_set():
            key = uuid.uuid4().hex
            body = {"gpus": 1, "command": 'echo "$GPUFLEET_JOB_ID" >> ../../starts; sleep 0.2'}
            try:
                r = c.post("/jobs", json=body, headers={"Idempotency-Key": key})
            except httpx.HTTPError:
                return
            assert r.status_code == 201, r.text
            acked[key] = r.json()["id"]
            time.sleep(0.005)  # ~150 jobs/s: enough to be mid-request at the kill, few to drain


def test_sigkill_while_submitting_loses_and_repeats_nothing(tmp_path: Path) -> None:
    """Kill -9 the server at random moments while a client submits, three times; after each
    restart every acknowledged job is there exactly once, and no job ever starts twice."""
    rng = random.Random(5)
    token = _cli("tenant", "add", "root", "--admin", "--data-dir", str(tmp_path)).stdout.strip()
    acked: dict[str, int] = {}
    for _ in range(3):
        port = free_port()
        with serve_process(tmp_path, port) as proc:
            stop = threading.Event()
            t = threading.Thread(target=_submitter, args=(port, token, acked, stop))
            t.start()
            time.sleep(rng.uniform(0.3, 1.2))
            proc.kill()
            proc.wait()
            stop.set()
            t.join()
        _check_each_job_once(tmp_path, acked)
    port = free_port()
    with serve_process(tmp_path, port):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            live = (
                httpx.get(
                    f"http://127.0.0.1:{port}/jobs?state=pending",
                    headers={"Authorization": f"Bearer {token}"},
                ).json()
                + httpx.get(
                    f"http://127.0.0.1:{port}/jobs?state=running",
                    headers={"Authorization": f"Bearer {token}"},
                ).json()
            )
            if not live:
                break
            time.sleep(0.1)
        assert not live, "the queue did not drain after the restarts"
    _check_each_job_once(tmp_path, acked)
    starts = (tmp_path / "starts").read_text().split()
    assert len(starts) == len(set(starts)), "a job ran twice"
    store = Store.open(tmp_path)
    try:
        jobs = store.jobs(limit=100_000)
        for j in jobs:
            assert [k for _, k, _ in store.events(j.id)].count("start") <= 1
        completed = {str(j.id) for j in jobs if j.state == "completed"}
        assert completed <= set(starts)
        # a kill between recording a start and the wrapper's pid file: declared lost, not rerun
        others = [(j.id, j.state, j.reason) for j in jobs if j.state != "completed"]
        assert all(r.startswith("lost at launch") for _, _, r in others), others
        assert len(acked) > 10 and len(completed) >= len(acked) * 0.9
        print(f"{len(acked)} acknowledged, {len(jobs)} stored, {len(completed)} completed")
    finally:
        store.close()


def _check_each_job_once(data_dir: Path, acked: dict[str, int]) -> None:
    store = Store.open(data_dir)
    try:
        jobs = store.jobs(limit=100_000)
    finally:
        store.close()
    by_key: dict[str | None, list[int]] = {}
    for j in jobs:
        by_key.setdefault(j.idempotency_key, []).append(j.id)
    for key, job_id in acked.items():
        assert by_key.get(key) == [job_id], f"acknowledged job {job_id} ({key}) lost or doubled"
