"""Take the report screenshots in docs/ with headless Chromium (Debian's `chromium`).

Run: .venv/bin/gpufleet simulate --days 3 --quiet --out /tmp/run-korea3
     .venv/bin/python docs/report_screenshots.py /tmp/run-korea3
Writes docs/report-utilization.png (header, key figures, utilization), docs/report-waits.png
and docs/report-why-wait.png (why jobs wait and fragmentation).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from gpufleet.report.build import write_report

DOCS = Path(__file__).resolve().parent
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        page_path = Path(tmp) / "report.html"
        write_report(args.run_dir, page_path)
        browser = p.chromium.launch(executable_path=args.chromium, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(page_path.as_uri())
        page.wait_for_selector("body[data-charts-rendered]", timeout=60_000)
        first_row = page.locator("#chart-utilization-site").bounding_box()
        assert first_row is not None
        bottom = first_row["y"] + first_row["height"] + 40
        page.screenshot(
            path=str(DOCS / "report-utilization.png"),
            clip={"x": 0, "y": 0, "width": 1400, "height": bottom},
            full_page=True,
        )
        page.locator("section#waits").screenshot(path=str(DOCS / "report-waits.png"))
        page.locator("section#queue").screenshot(path=str(DOCS / "report-why-wait.png"))
        browser.close()
    names = ("report-utilization.png", "report-waits.png", "report-why-wait.png")
    print("wrote " + ", ".join(str(DOCS / n) for n in names))


if __name__ == "__main__":
    main()
