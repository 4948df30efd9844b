"""The live dashboard in a real headless Chromium against a real `gpufleet serve`.

As a person would use it: open `/`, enter a token, read the numbers, and watch a job submitted
meanwhile appear without reloading. No console errors, and no request but to the server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from browser import chromium
from control_plane import free_port, serve_process
from gpufleet.db.store import Store

REFRESH_WAIT_MS = 10_000  # the page polls every 3 s


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


class Watched:
    """A page with what went wrong and what it asked the network for."""

    def __init__(self, browser: Any, url: str) -> None:
        self.problems: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.page.on(
            "console",
            lambda m: self.problems.append(m.text) if m.type == "error" else None,
        )
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(url)

    def sign_in(self, token: str) -> None:
        self.page.wait_for_selector("#login:not([hidden])")
        self.page.fill("#token", token)
        self.page.click("#login button[type=submit]")
        self.page.wait_for_selector("body[data-state=live]")

    def read(self) -> dict[str, Any]:
        """Everything the page shows, by the data attributes it writes."""
        return dict(
            self.page.evaluate(
                """() => {
                const rows = (id, key) => [...document.querySelectorAll(`#${id} tr`)]
                    .filter(tr => tr.dataset[key] !== undefined)
                    .map(tr => Object.assign({[key]: tr.dataset[key]},
                        Object.fromEntries([...tr.querySelectorAll('td[data-col]')]
                            .map(td => [td.dataset.col, td.dataset.value ?? td.textContent]))));
                return {
                    figures: Object.fromEntries([...document.querySelectorAll('[data-figure]')]
                        .map(e => [e.dataset.figure, Number(e.dataset.value)])),
                    sites: rows('sites', 'site'), queue: rows('queue', 'job'),
                    running: rows('running', 'job'), decisions: rows('decisions', 'job'),
                    tenants: rows('tenants', 'tenant'),
                    who: document.getElementById('who').textContent,
                    refreshes: Number(document.body.dataset.refreshes),
                };
            }"""
            )
        )


def test_dashboard_page(browser: Any, tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    try:
        tok = {n: store.add_tenant(n) for n in ("alice", "bob")}
        tok["root"] = store.add_tenant("root", admin=True)
    finally:
        store.close()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    api = {
        n: httpx.Client(base_url=base, headers={"Authorization": f"Bearer {t}"}, timeout=10)
        for n, t in tok.items()
    }

    def submit(who: str, gpus: int, model: str) -> int:
        body = {"gpus": gpus, "models": [model], "command": "sleep 60", "group": f"g-{who}"}
        r = api[who].post("/jobs", json=body)
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    with serve_process(tmp_path, port, "small-mixed"):
        try:
            a1, a2 = submit("alice", 64, "B200"), submit("alice", 8, "B200")  # a2 waits
            b1 = submit("bob", 16, "GB200")
            w = Watched(browser, f"{base}/")
            w.page.wait_for_selector("#login:not([hidden])")
            assert "alice" not in w.page.content()  # nothing before a token
            acct_before = api["alice"].get("/acct").json()
            w.sign_in(tok["alice"])
            w.page.wait_for_function(
                "() => document.querySelectorAll('#running tr[data-job]').length === 1",
                timeout=REFRESH_WAIT_MS,
            )
            shown = w.read()
            fleet = api["alice"].get("/fleet").json()
            free = {s: 0 for s in fleet["sites"]}
            gpus = dict(free)
            for c in fleet["clusters"]:
                free[c["site"]] += c["free_gpus"]
                gpus[c["site"]] += c["gpus"]
            assert [s["site"] for s in shown["sites"]] == fleet["sites"]
            for s in shown["sites"]:
                site = s["site"]
                assert int(s["gpus"]) == gpus[site] and int(s["free"]) == free[site]
                assert int(s["busy"]) == gpus[site] - free[site]
            busy = sum(gpus.values()) - sum(free.values())
            assert shown["figures"]["busy"] == busy == 80
            assert shown["figures"]["free"] == sum(free.values())
            pending = api["alice"].get("/jobs", params={"state": "pending"}).json()
            running = api["alice"].get("/jobs", params={"state": "running"}).json()
            assert [int(j["job"]) for j in shown["queue"]] == [j["id"] for j in pending] == [a2]
            assert [int(j["job"]) for j in shown["running"]] == [j["id"] for j in running] == [a1]
            assert shown["figures"]["pending_jobs"] == 1 and shown["figures"]["running_jobs"] == 1
            assert shown["queue"][0]["reason"].startswith("waiting for 8 GPUs of B200")
            assert [int(d["job"]) for d in shown["decisions"]] == [a1]  # not bob's start
            acct_after = api["alice"].get("/acct").json()
            [usage] = shown["tenants"]
            assert usage["tenant"] == "alice" and int(usage["jobs"]) == acct_after[0]["jobs"]
            hours = float(usage["gpu_hours"])
            assert acct_before[0]["gpu_hours"] <= hours <= acct_after[0]["gpu_hours"]
            assert shown["who"] == "alice"

            # the page refreshes itself: a job submitted now appears without a reload
            w.page.evaluate("() => { window.stillTheSamePage = true; }")
            a3 = submit("alice", 4, "B200")
            w.page.wait_for_selector(f'#queue tr[data-job="{a3}"]', timeout=REFRESH_WAIT_MS)
            assert w.page.evaluate("() => window.stillTheSamePage") is True
            assert w.read()["refreshes"] > shown["refreshes"]

            # an admin sees every tenant's jobs
            w.page.click("#sign-out")
            w.sign_in(tok["root"])
            shown = w.read()
            assert sorted(int(j["job"]) for j in shown["running"]) == [a1, b1]
            assert [int(j["job"]) for j in shown["queue"]] == [a2, a3]
            assert shown["who"] == "root (admin: every tenant)"
            assert w.problems == []
            assert {u.split("?")[0] for u in w.requests} == {f"{base}/", f"{base}/dashboard/data"}
            w.page.close()

            # a refused token brings the form back, saying so
            w = Watched(browser, f"{base}/")
            w.page.wait_for_selector("#login:not([hidden])")
            w.page.fill("#token", "gf_no_such")
            w.page.click("#login button[type=submit]")
            w.page.wait_for_selector("#login-error:has-text('refused')")
            assert w.page.evaluate("() => sessionStorage.length") == 0
            w.page.close()
        finally:
            for j in api["root"].get("/jobs", params={"state": "pending"}).json():
                api["root"].delete(f"/jobs/{j['id']}")
            for j in api["root"].get("/jobs", params={"state": "running"}).json():
                api["root"].delete(f"/jobs/{j['id']}")
            for c in api.values():
                c.close()
