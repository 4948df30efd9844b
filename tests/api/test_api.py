"""The REST API end to end through httpx and the ASGI app: jobs, tenants, bad input, restart."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():  # Starlette would rather have httpx2; httpx is what we ship
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient

from gpufleet.api.service import ServeOptions, build
from gpufleet.db.store import Store


@contextmanager
def served(data_dir: Path, db_url: str, scenario: str = "two-nodes") -> Iterator[TestClient]:
    app, store = build(
        ServeOptions(scenario=scenario, data_dir=data_dir, database=db_url, poll_interval=0.05)
    )
    try:
        with TestClient(app) as client:
            yield client
    finally:
        store.close()


def _tokens(db_url: str) -> dict[str, str]:
    store = Store(db_url) if "://" in db_url else Store.open(database=db_url)
    try:
        return {
            "alice": store.add_tenant("alice"),
            "bob": store.add_tenant("bob"),
            "root": store.add_tenant("root", admin=True),
        }
    finally:
        store.close()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _wait_state(c: TestClient, token: str, job_id: int, states: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        job: dict[str, Any] = c.get(f"/jobs/{job_id}", headers=_auth(token)).json()
        if job["state"] in states or time.monotonic() > deadline:
            return job
        time.sleep(0.02)


@pytest.fixture
def tok(db_url: str) -> dict[str, str]:
    from gpufleet.db.store import database_url

    return _tokens(database_url(None, db_url))


def test_submit_run_show_acct(tmp_path: Path, db_url: str, tok: dict[str, str]) -> None:
    with served(tmp_path, db_url) as c:
        body = {"gpus": 2, "command": "echo $CUDA_VISIBLE_DEVICES", "time_limit": "5m"}
        r = c.post("/jobs", json=body, headers=_auth(tok["alice"]))
        assert r.status_code == 201, r.text
        job = r.json()
        assert job["state"] in ("pending", "running") and job["time_limit"] == 300.0
        done = _wait_state(c, tok["alice"], job["id"], {"completed", "failed"})
        assert done["state"] == "completed" and done["exit_code"] == 0
        assert done["nodes"] == [{"node": "lab-h100-0000", "gpus": [0, 1]}]
        out = tmp_path / "jobs" / str(job["id"]) / "0.out"
        assert out.read_text() == "0,1\n"
        [usage] = c.get("/acct", headers=_auth(tok["alice"])).json()
        assert usage["tenant"] == "alice" and usage["jobs"] == 1 and usage["gpu_seconds"] >= 0
        fleet = c.get("/fleet", headers=_auth(tok["bob"])).json()
        assert fleet["clusters"][0]["free_gpus"] == 16
        metrics = c.get("/metrics").text
        assert "gpufleet_queue_depth 0.0" in metrics
        assert "gpufleet_decision_seconds_count" in metrics
        assert 'gpufleet_running_gpus{site="lab"} 0.0' in metrics
        assert c.get("/healthz").json() == {"status": "ok", "engine": "ready"}
        assert "/jobs/{job_id}" in c.get("/openapi.json").json()["paths"]


def test_tenants_see_and_change_only_their_own_jobs(
    tmp_path: Path, db_url: str, tok: dict[str, str]
) -> None:
    with served(tmp_path, db_url) as c:
        body = {"gpus": 16, "command": "sleep 30"}
        a = c.post("/jobs", json=body, headers=_auth(tok["alice"])).json()["id"]
        b = c.post("/jobs", json=body, headers=_auth(tok["bob"])).json()["id"]  # waits
        bob = _auth(tok["bob"])
        assert c.get(f"/jobs/{a}", headers=bob).status_code == 404
        assert c.delete(f"/jobs/{a}", headers=bob).status_code == 404
        assert [j["id"] for j in c.get("/jobs", headers=bob).json()] == [b]
        assert [u["tenant"] for u in c.get("/acct", headers=bob).json()] == []
        assert c.get("/jobs").status_code == 401
        assert c.get("/jobs", headers=_auth("gf_nope_nope")).status_code == 401
        assert c.get("/jobs", headers=_auth(tok["alice"] + "x")).status_code == 401
        root = _auth(tok["root"])
        assert sorted(j["id"] for j in c.get("/jobs", headers=root).json()) == [a, b]
        assert _wait_state(c, tok["alice"], a, {"running"})["state"] == "running"
        assert c.get(f"/jobs/{a}", headers=_auth(tok["alice"])).json()["state"] == "running"
        # alice's job is untouched by bob's attempts; the admin may cancel it
        r = c.delete(f"/jobs/{a}", headers=root)
        assert r.status_code == 200 and r.json()["state"] == "cancelled"
        assert _wait_state(c, tok["bob"], b, {"running"})["state"] == "running"
        assert c.delete(f"/jobs/{b}", headers=bob).json()["state"] == "cancelled"
        assert c.delete(f"/jobs/{b}", headers=bob).status_code == 409
        running = c.get("/jobs?state=running", headers=root).json()
        assert running == []


BAD = [
    (b'{"gpus": 2, "command": "x"', "json_invalid", None),
    (b'{"gpus": 2, "command": "x", "colour": "red"}', "extra_forbidden", ["body", "colour"]),
    (b'{"gpus": 17, "command": "x"}', "value_error", ["body", "gpus"]),
    (b'{"gpus": 9, "topology": "domain", "command": "x"}', "value_error", ["body", "gpus"]),
    (b'{"gpus": 0, "command": "x"}', "greater_than", ["body", "gpus"]),
    (b'{"gpus": "2", "command": "x"}', "int_type", ["body", "gpus"]),
    (
        b'{"gpus": 2, "models": ["H100", "Z9"], "command": "x"}',
        "value_error",
        ["body", "models", 1],
    ),
    (b'{"gpus": 2, "models": ["B200"], "command": "x"}', "value_error", ["body", "models"]),
    (b'{"gpus": 2, "sites": ["mars"], "command": "x"}', "value_error", ["body", "sites", 0]),
    (b'{"gpus": 2, "time_limit": "soon", "command": "x"}', "value_error", ["body", "time_limit"]),
    (b'{"gpus": 2}', "value_error", ["body", "command"]),
    (b'{"gpus": 2, "command": "x", "script": "y"}', "value_error", ["body", "command"]),
    (b'{"gpus": 2, "command": "x", "env": {"1X": "y"}}', "string_pattern_mismatch", None),
    (b"[1, 2]", "model_attributes_type", ["body"]),
]


@pytest.mark.parametrize(("raw", "kind", "loc"), BAD)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(
    tmp_path: Path, raw: bytes, kind: str, loc: list[Any] | None
) -> None:
    url = f"sqlite:///{tmp_path / 'gpufleet.db'}"
    tok = _tokens(url)
    with served(tmp_path, url) as c:
        headers = {**_auth(tok["alice"]), "Content-Type": "application/json"}
        r = c.post("/jobs", content=raw, headers=headers)
        assert r.status_code == 422, r.text
        [err] = r.json()["detail"][:1]
        assert err["type"] == kind
        if loc is not None:
            assert err["loc"] == loc
        assert c.get("/jobs", headers=_auth(tok["root"])).json() == []


def test_idempotency_key_returns_the_same_job(
    tmp_path: Path, db_url: str, tok: dict[str, str]
) -> None:
    with served(tmp_path, db_url) as c:
        body = {"gpus": 1, "command": "true"}
        h = {**_auth(tok["alice"]), "Idempotency-Key": "abc"}
        first = c.post("/jobs", json=body, headers=h)
        again = c.post("/jobs", json=body, headers=h)
        assert (first.status_code, again.status_code) == (201, 200)
        assert first.json()["id"] == again.json()["id"]
        other = c.post("/jobs", json=body, headers={**_auth(tok["bob"]), "Idempotency-Key": "abc"})
        assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
        assert len(c.get("/jobs", headers=_auth(tok["root"])).json()) == 2


def test_restart_keeps_every_job_once_and_resumes_the_queue(
    tmp_path: Path, db_url: str, tok: dict[str, str]
) -> None:
    """Stop the app with one job running and three queued behind it; start it again on the
    same database: the running job is adopted (not started again), the queue resumes. Each
    job spans both nodes, so it runs one process per node: two lines per job."""
    flag = tmp_path / "go"
    alice = _auth(tok["alice"])
    with served(tmp_path, db_url) as c:
        log = f"echo $GPUFLEET_JOB_ID >> {tmp_path}/runs"
        wait = f"while [ ! -e {flag} ]; do sleep 0.05; done; {log}"
        ids = [c.post("/jobs", json={"gpus": 16, "command": wait}, headers=alice).json()["id"]]
        for _ in range(3):
            body = {"gpus": 16, "command": log}
            ids.append(c.post("/jobs", json=body, headers=alice).json()["id"])
        assert _wait_state(c, tok["alice"], ids[0], {"running"})["state"] == "running"
    with served(tmp_path, db_url) as c:
        jobs = c.get("/jobs", headers=alice).json()
        assert sorted(j["id"] for j in jobs) == ids
        assert [j["state"] for j in sorted(jobs, key=lambda j: j["id"])] == [
            "running",
            "pending",
            "pending",
            "pending",
        ]
        flag.touch()
        for i in ids:
            assert _wait_state(c, tok["alice"], i, {"completed"})["state"] == "completed"
    runs = sorted(int(x) for x in (tmp_path / "runs").read_text().split())
    assert runs == sorted(ids * 2)


def test_query_and_path_checks(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gpufleet.db'}"
    tok = _tokens(url)
    with served(tmp_path, url) as c:
        h = _auth(tok["alice"])
        assert c.get("/jobs?state=bogus", headers=h).status_code == 422
        assert c.get("/jobs?limit=0", headers=h).status_code == 422
        assert c.get("/jobs/0", headers=h).status_code == 422
        assert c.get(f"/jobs/{2**63}", headers=h).status_code == 422
        assert c.get("/jobs/12345", headers=h).status_code == 404
        assert c.delete("/jobs/12345", headers=h).status_code == 404
        long_key = {**h, "Idempotency-Key": "k" * 129}
        r = c.post("/jobs", json={"gpus": 1, "command": "true"}, headers=long_key)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == [
            "header",
            "Idempotency-Key",
        ]


def test_client_commands_refuse_cleanly_without_a_server_or_token(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from gpufleet.cli import main

    job = tmp_path / "job.yaml"
    job.write_text('gpus: 1\ncommand: "true"\n')
    runner = CliRunner()
    no_token = runner.invoke(main, ["queue"], env={"GPUFLEET_TOKEN": ""})
    assert no_token.exit_code == 2 and "no API token" in no_token.output
    down = runner.invoke(
        main, ["submit", str(job), "--server", "http://127.0.0.1:9", "--token", "t"]
    )
    assert down.exit_code == 2 and "cannot reach http://127.0.0.1:9" in down.output
    job.write_text("gpus: [1\n")
    bad = runner.invoke(main, ["submit", str(job), "--token", "t"])
    assert bad.exit_code == 2 and "malformed YAML" in bad.output
