"""The API with a tenant tree: who may submit, data classes, the tree's caps (4xx naming the
field, nothing stored), and why pending jobs wait, from the core."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient

from gpufleet.api.service import ServeOptions, build
from gpufleet.api.waiting import QUEUED
from gpufleet.db.store import Store, database_url

TREE = """
tree:
  - name: org
    children:
      - {name: alice, limit: {H100: 8}}
      - {name: carol, data_class: public_high}
      - {name: dave}
"""


@contextmanager
def served(tmp_path: Path, db_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    tree = tmp_path / "tenancy.yaml"
    tree.write_text(TREE)
    url = database_url(None, db_url)
    store = Store(url)
    try:
        tok = {
            n: store.add_tenant(n, admin=n == "org")
            for n in ("alice", "bob", "carol", "dave", "org")
        }
    finally:
        store.close()
    app, store = build(
        ServeOptions(
            scenario="two-nodes",
            data_dir=tmp_path,
            database=url,
            poll_interval=0.05,
            tenancy=str(tree),
        )
    )
    try:
        with TestClient(app) as client:
            yield client, tok
    finally:
        store.close()


def _h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _wait(c: TestClient, token: str, job_id: int, field: str, value: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        job: dict[str, Any] = c.get(f"/jobs/{job_id}", headers=_h(token)).json()
        if job[field] == value or time.monotonic() > deadline:
            return job
        time.sleep(0.02)


REFUSED = [
    ("bob", {}, 403, None, "tenant 'bob' is not a node of the tenant tree"),
    ("org", {}, 403, None, "tenant 'org' is a group of the tenant tree"),
    ("alice", {"data_class": "secret"}, 422, "data_class", "unknown data class 'secret'"),
    ("alice", {"data_class": "public_low"}, 422, "data_class", "no site allowed"),
    ("carol", {}, 422, "data_class", "no site allowed for data class public_high"),
    ("alice", {"gpus": 16}, 422, "gpus", "above what tenant alice may ever run at once (8"),
]


@pytest.mark.parametrize(("who", "extra", "status", "field", "text"), REFUSED)
def test_the_tree_refuses_naming_the_field_and_nothing_is_stored(
    tmp_path: Path,
    db_url: str,
    who: str,
    extra: dict[str, Any],
    status: int,
    field: str | None,
    text: str,
) -> None:
    with served(tmp_path, db_url) as (c, tok):
        body = {"gpus": 1, "command": "true", **extra}
        r = c.post("/jobs", json=body, headers=_h(tok[who]))
        assert r.status_code == status, r.text
        detail = r.json()["detail"]
        if field is None:
            assert text in detail
        else:
            assert detail[0]["loc"] == ["body", field] and text in detail[0]["msg"]
        assert c.get("/jobs", headers=_h(tok["org"])).json() == []  # the admin sees none


def test_pending_jobs_say_why_from_the_core(tmp_path: Path, db_url: str) -> None:
    with served(tmp_path, db_url) as (c, tok):
        body = {"gpus": 8, "command": "sleep 30", "time_limit": "1m", "data_class": "personal"}
        ids = [c.post("/jobs", json=body, headers=_h(tok["alice"])).json()["id"] for _ in "ab"]
        first = _wait(c, tok["alice"], ids[0], "state", "running")
        assert first["data_class"] == "personal" and first["preemptions"] == 0
        over = "over quota: alice runs 8 of its limit 8 H100 GPUs"
        second = _wait(c, tok["alice"], ids[1], "reason", over)
        assert second["state"] == "pending" and second["reason"] == over
        # dave has no quota: his 16-GPU job waits for GPUs, with the generic reason
        big = c.post("/jobs", json={"gpus": 16, "command": "true"}, headers=_h(tok["dave"]))
        assert big.status_code == 201, big.text
        assert _wait(c, tok["dave"], big.json()["id"], "reason", QUEUED)["state"] == "pending"
        listed = {j["id"]: j["reason"] for j in c.get("/jobs", headers=_h(tok["alice"])).json()}
        assert listed[ids[1]] == over
        queue = c.get("/dashboard/data", headers=_h(tok["alice"])).json()["queue"]
        assert [(q["id"], q["reason"]) for q in queue] == [(ids[1], over)]
        for jid in ids:
            c.delete(f"/jobs/{jid}", headers=_h(tok["alice"]))


def test_serve_refuses_a_missing_tenancy_file(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from gpufleet.cli import main

    args = ["serve", "--scenario", "two-nodes", "--data-dir", str(tmp_path), "--tenancy"]
    r = CliRunner().invoke(main, [*args, str(tmp_path / "nope.yaml")])
    assert r.exit_code == 2 and "nope.yaml: no such tenancy file" in r.output


def test_serve_takes_the_scenarios_own_tree_by_default(tmp_path: Path) -> None:
    app, store = build(ServeOptions(scenario="korea-2025", data_dir=tmp_path))
    try:
        assert app.state.engine.core.tenancy is not None
    finally:
        store.close()
    app, store = build(ServeOptions(scenario="korea-2025", data_dir=tmp_path, tenancy="none"))
    try:
        assert app.state.engine.core.tenancy is None
    finally:
        store.close()
