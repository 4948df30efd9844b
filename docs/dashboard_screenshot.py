"""Take docs/dashboard.png: the live dashboard of a small fleet, as an admin sees it.

Run: .venv/bin/python docs/dashboard_screenshot.py
Starts `gpufleet serve --scenario small-mixed` in a temporary directory on a free port,
submits a few jobs of three tenants (some end at once, some run, some wait), opens `/` in
headless Chromium (Debian's `chromium`), signs in with the admin token, and cancels everything
before it stops the server.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from gpufleet.db.store import Store

DOCS = Path(__file__).resolve().parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
JOBS = [  # tenant, GPUs, GPU model, group, command
    ("kisti", 1, "RTXPRO6000", "research", "true"),
    ("snu", 2, "RTXPRO6000", "research", "exit 3"),
    ("kisti", 48, "B200", "research", "sleep 600"),
    ("acme", 72, "GB200", "industry", "sleep 600"),
    ("snu", 16, "RTXPRO6000", "research", "sleep 600"),
    ("acme", 32, "B200", "industry", "sleep 600"),
    ("snu", 144, "GB200", "research", "sleep 600"),
    ("kisti", 8, "RTXPRO6000", "public", "sleep 600"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp))
        tokens = {t: store.add_tenant(t) for t in ("kisti", "snu", "acme")}
        admin = store.add_tenant("ops", admin=True)
        store.close()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        serve = [sys.executable, "-m", "gpufleet.cli", "serve", "--scenario", "small-mixed"]
        proc = subprocess.Popen([*serve, "--data-dir", tmp, "--port", str(port)])
        ops = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {admin}"})
        try:
            _wait_healthy(ops)
            for tenant, gpus, model, group, command in JOBS:
                body = {"gpus": gpus, "models": [model], "group": group, "command": command}
                headers = {"Authorization": f"Bearer {tokens[tenant]}"}
                ops.post("/jobs", json=body, headers=headers).raise_for_status()
                time.sleep(0.3)
            time.sleep(2)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=args.chromium, args=ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"{base}/")
                page.fill("#token", admin)
                page.click("#login button[type=submit]")
                page.wait_for_selector("body[data-state=live]")
                page.screenshot(path=str(DOCS / "dashboard.png"), full_page=True)
                browser.close()
        finally:
            for state in ("pending", "running"):
                for job in ops.get("/jobs", params={"state": state}).json():
                    ops.delete(f"/jobs/{job['id']}")
            ops.close()
            proc.terminate()
            proc.wait(10)
    print(f"wrote {DOCS / 'dashboard.png'}")


def _wait_healthy(client: httpx.Client) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if client.get("/healthz").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("gpufleet serve did not answer in 30 s")


if __name__ == "__main__":
    main()
