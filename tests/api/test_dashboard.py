"""The live dashboard's data against the rest of the API: same numbers, same tenant filter."""

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
from gpufleet.api.waiting import waiting_reason
from gpufleet.db.records import JobSpec
from gpufleet.db.store import Store, database_url
from gpufleet.fleet.loader import load_fleet


@contextmanager
def served(data_dir: Path, db_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """small-mixed (three sites: 64 B200, 144 GB200, 64 RTX PRO 6000), with tenants alice,
    bob and the admin root."""
    store = Store(database_url(None, db_url))
    try:
        tok = {n: store.add_tenant(n) for n in ("alice", "bob")}
        tok["root"] = store.add_tenant("root", admin=True)
    finally:
        store.close()
    app, store = build(
        ServeOptions(scenario="small-mixed", data_dir=data_dir, database=db_url, poll_interval=0.05)
    )
    try:
        with TestClient(app) as client:
            yield client, tok
    finally:
        store.close()


def _get(c: TestClient, token: str, path: str) -> Any:
    r = c.get(path, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()


def _submit(c: TestClient, token: str, **body: Any) -> int:
    body = {"command": "sleep 60", "time_limit": "5m", **body}
    r = c.post("/jobs", json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _settle(c: TestClient, token: str, running: int, pending: int) -> None:
    """Wait until the engine has started what it can: the numbers stop moving. The dashboard
    counts the database's jobs and /fleet the engine's, which takes a submission a moment
    later, so both must show them (comparing them too early once failed 1 run in 8)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        d = _get(c, token, "/dashboard/data")
        f = _get(c, token, "/fleet")
        if (
            (d["running_jobs"], d["pending_jobs"])
            == (f["running_jobs"], f["pending_jobs"])
            == (
                running,
                pending,
            )
        ):
            return
        time.sleep(0.02)
    raise AssertionError(f"expected {running} running, {pending} pending: {d}")


def _ids(rows: list[dict[str, Any]], key: str = "id") -> list[int]:
    return sorted(int(r[key]) for r in rows)


def test_dashboard_numbers_equal_the_api(tmp_path: Path, db_url: str) -> None:
    with served(tmp_path, db_url) as (c, tok):
        a1 = _submit(c, tok["alice"], gpus=64, models=["B200"], group="univ")
        a2 = _submit(c, tok["alice"], gpus=8, models=["B200"], group="univ")  # waits for a1
        b1 = _submit(c, tok["bob"], gpus=16, models=["GB200"], group="startup")
        b2 = _submit(c, tok["bob"], gpus=144, models=["GB200"], topology="block", group="startup")
        root = tok["root"]
        try:
            _settle(c, root, running=2, pending=2)
            d = _get(c, root, "/dashboard/data")
            fleet = _get(c, root, "/fleet")
            by_site: dict[str, list[int]] = {}
            for cl in fleet["clusters"]:
                s = by_site.setdefault(cl["site"], [0, 0])
                s[0] += cl["gpus"]
                s[1] += cl["free_gpus"]
            assert [s["site"] for s in d["sites"]] == fleet["sites"]
            for s in d["sites"]:
                gpus, free = by_site[s["site"]]
                assert (s["gpus"], s["free"], s["busy"]) == (gpus, free, gpus - free)
            assert [s["busy"] for s in d["sites"]] == [64, 16, 0]
            assert (d["gpus"], d["busy"], d["free"]) == (272, 80, 192)
            assert d["pending_jobs"] == fleet["pending_jobs"] == 2
            assert d["running_jobs"] == fleet["running_jobs"] == 2
            pending = _get(c, root, "/jobs?state=pending")
            assert [j["id"] for j in d["queue"]] == _ids(pending) == [a2, b2]  # oldest first
            assert _ids(d["running"]) == _ids(_get(c, root, "/jobs?state=running")) == [a1, b1]
            reasons = {j["id"]: j["reason"] for j in d["queue"]}
            assert reasons[a2] == (
                "waiting for 8 GPUs of B200 in one cluster; "
                "the most free in one allowed cluster is 0"
            )
            assert reasons[b2] == (
                "waiting for 144 GPUs of GB200 in one block; "
                "the most free in one allowed cluster is 128"
            )
            starts = [(e["job_id"], e["cluster"]) for e in d["decisions"] if e["cluster"]]
            assert sorted(starts) == [(a1, "gov-b200"), (b1, "factory-gb200")]
        finally:
            for j in (b2, a2, b1, a1):  # pending first, so nothing starts meanwhile
                c.delete(f"/jobs/{j}", headers={"Authorization": f"Bearer {root}"})
        # with every job ended the GPU-seconds stop growing and compare exactly
        d = _get(c, root, "/dashboard/data")
        acct = _get(c, root, "/acct")
        assert d["tenants"] == acct
        jobs = _get(c, root, "/jobs")
        groups: dict[str, list[float]] = {}
        for j in jobs:
            if j["start"] is not None:
                g = groups.setdefault(j["group"], [0, 0.0])
                g[0] += 1
                g[1] += j["gpus"] * (j["end"] - j["start"])
        assert {u["group"]: u["jobs"] for u in d["groups"]} == {
            g: n for g, (n, _) in groups.items()
        }
        for u in d["groups"]:
            assert u["gpu_seconds"] == pytest.approx(groups[u["group"]][1])
            assert u["gpu_hours"] == pytest.approx(u["gpu_seconds"] / 3600)
        assert (d["pending_jobs"], d["running_jobs"], d["queue"], d["running"]) == (0, 0, [], [])
        ends = sorted(e["job_id"] for e in d["decisions"] if e["kind"] == "cancelled")
        assert ends == sorted([a1, a2, b1, b2])
        assert all(e["reason"] == "cancelled by the tenant" for e in d["decisions"][:4])


def test_tenants_see_only_their_own_jobs(tmp_path: Path, db_url: str) -> None:
    with served(tmp_path, db_url) as (c, tok):
        a1 = _submit(c, tok["alice"], gpus=64, models=["B200"], group="univ")
        a2 = _submit(c, tok["alice"], gpus=8, models=["B200"], group="univ")
        b1 = _submit(c, tok["bob"], gpus=8, models=["B200"], group="startup")
        try:
            _settle(c, tok["root"], running=1, pending=2)
            alice = _get(c, tok["alice"], "/dashboard/data")
            bob = _get(c, tok["bob"], "/dashboard/data")
            root = _get(c, tok["root"], "/dashboard/data")
            assert (alice["tenant"], alice["admin"], root["admin"]) == ("alice", False, True)
            assert [j["id"] for j in alice["queue"]] == [a2]
            assert [j["id"] for j in alice["running"]] == [a1]
            assert [e["job_id"] for e in alice["decisions"]] == [a1]
            assert [u["group"] for u in alice["groups"]] == ["univ"]
            assert [u["tenant"] for u in alice["tenants"]] == ["alice"]
            assert (alice["pending_jobs"], alice["running_jobs"]) == (1, 1)
            assert [j["id"] for j in bob["queue"]] == [b1]
            assert (bob["running"], bob["decisions"], bob["groups"], bob["tenants"]) == (
                [],
                [],
                [],
                [],
            )
            assert (bob["pending_jobs"], bob["running_jobs"]) == (1, 0)
            # the fleet's capacity is everyone's to see, as on /fleet
            assert alice["sites"] == bob["sites"] == root["sites"]
            assert [j["id"] for j in root["queue"]] == [a2, b1]
            assert {j["tenant"] for j in root["queue"]} == {"alice", "bob"}
            assert (root["pending_jobs"], root["running_jobs"]) == (2, 1)
        finally:
            for j in (b1, a2, a1):
                c.delete(f"/jobs/{j}", headers={"Authorization": f"Bearer {tok['root']}"})
        assert c.get("/dashboard/data").status_code == 401
        bad = c.get("/dashboard/data", headers={"Authorization": f"Bearer {tok['alice']}x"})
        assert bad.status_code == 401
        assert bad.headers["www-authenticate"] == "Bearer"


def test_the_page_is_public_and_holds_no_data(tmp_path: Path, db_url: str) -> None:
    with served(tmp_path, db_url) as (c, tok):
        _submit(c, tok["alice"], gpus=1, command="true", group="secret-group")
        page = c.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "connect-src 'self'" in csp
        assert "secret-group" not in page.text and "alice" not in page.text
        assert "/dashboard/data" in page.text
        assert "<script src" not in page.text and 'rel="stylesheet"' not in page.text
        assert "/" not in c.get("/openapi.json").json()["paths"]  # the page is not API
        data = c.get("/dashboard/data", headers={"Authorization": f"Bearer {tok['alice']}"})
        assert data.headers["cache-control"] == "no-store"


def test_waiting_reason() -> None:
    fleet = load_fleet("small-mixed")  # gov-b200 64, factory-gb200 144, edge-rtxpro 64
    free = [0, 100, 64]
    spec = JobSpec(gpus=72, runtime=60.0, topology="domain", models=("GB200",))
    assert waiting_reason(spec, fleet, free) == (
        "waiting for 72 GPUs of GB200 in one NVLink domain; "
        "100 are free in one allowed cluster: it waits its turn"
    )
    spec = JobSpec(gpus=128, runtime=60.0, sites=("gov-cloud", "edge"))
    assert waiting_reason(spec, fleet, free) == (
        "waiting for 128 GPUs of any model at gov-cloud/edge in one cluster; "
        "the most free in one allowed cluster is 64"
    )
