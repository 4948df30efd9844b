"""Self-contained HTML pages for a run report and a comparison, with plotly.js embedded.

The page needs no network: plotly.js (from the `plotly` package) and every chart's data sit in
the file. Numbers shown on the page carry `data-metric` (their path in metrics.json, or
`energy.*`) and `data-value` (the exact value), so tests and scripts can read them back.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterable
from pathlib import Path

from gpufleet.errors import GpufleetError
from gpufleet.report import energy as en
from gpufleet.report.charts import Chart, figure
from gpufleet.report.compare import Comparison, FigureRow
from gpufleet.report.figures import figure_text
from gpufleet.report.html_compare import lacking, tree_table
from gpufleet.report.html_tables import energy_views, group_table, tenancy_tables, waiting_table
from gpufleet.report.markup import esc, number
from gpufleet.report.run_report import SECTIONS, RunReport, header

# Figures shown as cards at the top of a run report; the rest are in the table below them.
HEADLINE = (
    "utilization",
    "gpu_hours",
    "jobs",
    "wait_s.p95",
    "jct_s.p95",
    "jain_fairness",
    "energy.mwh",
    "energy.krw",
    "energy.tco2e",
)

_DIFFERS = ' class="differs"'
_CSS = """
:root { --fg:#1d2433; --muted:#5b6478; --line:#dde1ea; --bg:#f6f7fa; --accent:#0072B2; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
  color:var(--fg); background:var(--bg); }
header { background:#fff; border-bottom:1px solid var(--line); padding:18px 28px; }
h1 { font-size:22px; margin:0 0 10px; }
h2 { font-size:17px; margin:28px 0 10px; }
main { padding:0 28px 40px; max-width:1500px; }
dl.info { display:flex; flex-wrap:wrap; gap:6px 22px; margin:0; }
dl.info div { display:flex; gap:6px; }
dl.info dt { color:var(--muted); }
dl.info dd { margin:0; font-weight:600; }
.cards { display:grid; grid-template-columns:repeat(auto-fill,minmax(190px,1fr)); gap:10px; }
.card { background:#fff; border:1px solid var(--line); border-radius:6px; padding:10px 12px; }
.card .label { color:var(--muted); font-size:12px; }
.card .value { font-size:20px; font-weight:600; white-space:nowrap; }
.charts { display:grid; grid-template-columns:repeat(auto-fill,minmax(620px,1fr)); gap:14px; }
figure { margin:0; background:#fff; border:1px solid var(--line); border-radius:6px;
  padding:6px; }
figcaption { color:var(--muted); font-size:12px; padding:0 8px 6px; }
.chart { width:100%; min-height:420px; }
table { border-collapse:collapse; background:#fff; border:1px solid var(--line); }
th, td { padding:5px 10px; border-bottom:1px solid var(--line); text-align:right; }
th:first-child, td:first-child { text-align:left; }
th { background:#eef0f5; font-weight:600; }
td.better { color:#007a4d; } td.worse { color:#b3261e; }
td.differs { background:#fff4d6; }
.note { color:var(--muted); max-width:900px; }
td.text { text-align:left; max-width:420px; }
#waiting-table th:nth-child(2), #grants-table th:nth-child(-n+3) { text-align:left; }
#tenancy-table td { white-space:nowrap; }
h3 { font-size:15px; margin:18px 0 8px; }
section > table { margin:0 0 12px; }
"""

_BOOT = """
(function () {
  var figs = JSON.parse(document.getElementById("gpufleet-charts").textContent);
  var ids = Object.keys(figs), done = 0;
  var config = {displaylogo: false, responsive: true,
                toImageButtonOptions: {format: "png", scale: 2}};
  ids.forEach(function (id) {
    var el = document.getElementById("chart-" + id);
    Plotly.newPlot(el, figs[id].data, figs[id].layout, config).then(function () {
      el.setAttribute("data-rendered", "true");
      done += 1;
      if (done === ids.length) document.body.setAttribute("data-charts-rendered", String(done));
    });
  });
})();
"""


def plotly_js() -> str:
    """plotly.min.js as shipped inside the `plotly` Python package (no network, no CDN)."""
    spec = importlib.util.find_spec("plotly")
    roots = list(spec.submodule_search_locations or []) if spec else []
    for root in roots:
        path = Path(root) / "package_data" / "plotly.min.js"
        if path.is_file():
            js = path.read_text(encoding="utf-8")
            if "</script" in js.lower():  # would end the page's <script> element early
                raise GpufleetError(f"{path}: contains '</script'; cannot embed it")
            return js
    raise GpufleetError("the plotly package is not installed (pip install plotly)")


_e = esc
_number = number


def _charts_json(charts: Iterable[Chart]) -> str:
    data = {c.id: figure(c) for c in charts}
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return text.replace("</", "<\\/")


def _chart_box(c: Chart) -> str:
    note = f"<figcaption>{_e(c.note)}</figcaption>" if c.note else ""
    return (
        f'<figure><div class="chart" id="chart-{_e(c.id)}" data-chart="{_e(c.id)}"></div>'
        f"{note}</figure>"
    )


def _sections(charts: tuple[Chart, ...], extra: dict[str, str]) -> str:
    """The page's sections in order; a section with neither charts nor text is left out."""
    out = []
    for sid, heading in SECTIONS:
        boxes = "".join(_chart_box(c) for c in charts if c.section == sid)
        if not boxes and not extra.get(sid):
            continue
        grid = f'<div class="charts">{boxes}</div>' if boxes else ""
        out.append(
            f'<section id="{sid}"><h2>{_e(heading)}</h2>{extra.get(sid, "")}{grid}</section>'
        )
    return "".join(out)


def _page(title: str, head: str, body: str, charts: tuple[Chart, ...]) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style>"
        f"<script>{plotly_js()}</script></head>"
        f"<body><header>{head}</header><main>{body}</main>"
        f'<script type="application/json" id="gpufleet-charts">{_charts_json(charts)}</script>'
        f"<script>{_BOOT}</script></body></html>\n"
    )


def _constants() -> str:
    return (
        '<p class="note" id="constants">Constants: electricity '
        f'<span data-constant="krw_per_kwh">{en.KRW_PER_KWH}</span> KRW/kWh, KEPCO industrial '
        "tariff for large users [S105]; grid emissions "
        f'<span data-constant="tco2e_per_mwh">{en.TCO2E_PER_MWH}</span> tCO2e/MWh, Korea 2023 '
        f'[S109]; an idle GPU draws <span data-constant="idle_share">{en.IDLE_SHARE:g}</span> '
        "of its TDP [A]. Energy covers the metrics window (days of arrivals). Source tags: "
        "docs/sources.md.</p>"
    )


def run_page(r: RunReport) -> str:
    """The whole HTML page of one run."""
    info = "".join(
        f'<div><dt>{_e(k)}</dt><dd data-info="{_e(k)}">{_e(v)}</dd></div>' for k, v in header(r)
    )
    head = f"<h1>Run report: {_e(r.name)}</h1><dl class='info'>{info}</dl>"
    figs = {f.key: f for f in r.figures}
    cards = "".join(
        f'<div class="card"><div class="label">{_e(figs[k].label)}</div>'
        f"{_number(k, figs[k].value, figs[k].text, tag='div', cls='value')}</div>"
        for k in HEADLINE
    )
    rows = "".join(
        f"<tr><th>{_e(f.label)}</th>{_number(f.key, f.value, f.text)}</tr>" for f in r.figures
    )
    extra = {
        "queue": waiting_table(r.waiting) if r.waiting is not None else "",
        "shares": group_table(r.groups, r.ledger is not None),
        "tenancy": tenancy_tables(r.tenancy, r.ledger is not None) if r.tenancy is not None else "",
        "power": _constants() + energy_views(r),
    }
    for sid, text in r.omitted:  # what this run's files lack, said where it would be
        extra[sid] = extra.get(sid, "") + f'<p class="note" data-omitted="{sid}">{_e(text)}</p>'
    body = (
        f'<section id="figures"><h2>Key figures</h2><div class="cards">{cards}</div></section>'
        + _sections(r.charts, extra)
        + f'<section id="all-figures"><h2>All figures</h2><table>{rows}</table></section>'
    )
    return _page(f"gpufleet run report: {r.name}", head, body, r.charts)


def _diff_cell(f: FigureRow, i: int) -> str:
    """Run i's difference from run A, coloured when one direction is better."""
    diff, rel = f.diff(i), f.rel(i)
    cls = ""
    if f.better and diff:
        cls = ' class="better"' if diff * f.better > 0 else ' class="worse"'
    rel_text = "" if rel is None else f" ({rel:+.2%})" if abs(rel) < 0.01 else f" ({rel:+.1%})"
    return (
        f'<td{cls} data-diff="{_e(f.key)}" data-run="{i}" data-value="{diff!r}">'
        f"{_e(_diff_text(f.key, diff))}{rel_text}</td>"
    )


def _diff_text(key: str, diff: float) -> str:
    """A difference in the figure's own unit; shares differ in percentage points."""
    if key.startswith("utilization"):
        return f"{diff * 100:+.1f} pt"
    return ("-" if diff < 0 else "+") + figure_text(key, abs(diff))


def compare_page(c: Comparison) -> str:
    """The whole HTML page comparing runs."""
    n = len(c.labels)
    cols = "".join(f"<th>{_e(lb)}</th>" for lb in c.labels)
    info_rows = "".join(
        f"<tr><th>{_e(label)}</th>"
        + "".join(
            f'<td{_DIFFERS if v != vals[0] else ""} data-info="{_e(label)}" '
            f'data-run="{i}">{_e(v)}</td>'
            for i, v in enumerate(vals)
        )
        + "</tr>"
        for label, vals in c.info
    )
    head = (
        f"<h1>Comparison of {n} runs</h1><table id='runs'><tr><th></th>{cols}</tr>"
        f"{info_rows}</table>"
    )
    diff_cols = "".join(f"<th>{_e(c.labels[i].split(':')[0])} - A</th>" for i in range(1, n))
    fig_rows = "".join(
        f"<tr><th>{_e(f.label)}</th>"
        + "".join(_number(f.key, f.values[i], f.texts[i], run=i) for i in range(n))
        + "".join(_diff_cell(f, i) for i in range(1, n))
        + "</tr>"
        for f in c.figures
    )
    figures = (
        f"<table id='figures-table'><tr><th>figure</th>{cols}{diff_cols}</tr>{fig_rows}</table>"
        "<p class='note'>Differences are each run minus run A; green is better, red worse.</p>"
    )
    notes = lacking(c)
    extra = {"queue": notes.get("queue", ""), "power": _constants()}
    extra["tenancy"] = (tree_table(c) if c.tree else "") + notes.get("tenancy", "")
    body = (
        f'<section id="figures"><h2>Key figures</h2>{figures}{notes.get("figures", "")}'
        "</section>" + _sections(c.charts, extra)
    )
    return _page(f"gpufleet comparison: {', '.join(c.labels)}", head, body, c.charts)
