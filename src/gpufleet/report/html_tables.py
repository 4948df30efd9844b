"""The run report's tables: tenant groups, why jobs wait, the tenant tree, grants, and the two
views of energy and cost (the fleet's and the ledger's).

Every number carries `data-metric` and `data-value` (see `markup.number`): `groups.*`,
`tenancy.*` and `queue.*` name where the value comes from; `ledger.groups.<group>.<column>` and
`ledger.<column>` are sums of ledger.parquet; `ledger.tree.<i>.<column>` is the cost of the
i-th group of metrics.json's `tenancy.groups` (see `tenant_tree.tree_costs`).
"""

from __future__ import annotations

from gpufleet.accounting.ledger import JOB_POWER_SHARE
from gpufleet.report import energy as en
from gpufleet.report.figures import figure_text
from gpufleet.report.markup import esc, note, number, table
from gpufleet.report.run_report import GroupRow, RunReport
from gpufleet.report.tables import duration_text
from gpufleet.report.tenant_tree import MARKET, TenancyView, krw_text
from gpufleet.report.waiting import REASONS, Waiting
from gpufleet.scheduler.why import CODES


def _cost_cells(key: str, cost: tuple[float, float] | None) -> str:
    if cost is None:
        return "<td>-</td><td>-</td>"
    market, charged = cost
    return number(f"{key}.{MARKET}", market, krw_text(market)) + number(
        f"{key}.cost_charged_krw", charged, krw_text(charged)
    )


def group_table(groups: tuple[GroupRow, ...], ledger: bool) -> str:
    """Jobs, GPU-hours, share, waits per tenant group; and cost and co-pay with a ledger."""
    heads = ["tenant group", "jobs", "GPU-hours", "share", "wait p50", "wait p95", "JCT p95"]
    if ledger:
        heads += ["GPU time, market price", "charged (co-pay)"]
    rows = [
        f"<tr><td>{esc(g.group)}</td>"
        f"{number(f'groups.{g.group}.jobs', g.jobs, f'{g.jobs:,}')}"
        f"{number(f'groups.{g.group}.gpu_hours', g.gpu_hours, f'{g.gpu_hours:,.0f}')}"
        f"<td>{g.share:.1%}</td><td>{duration_text(g.wait_p50)}</td>"
        f"<td>{duration_text(g.wait_p95)}</td><td>{duration_text(g.jct_p95)}</td>"
        + (_cost_cells(f"ledger.groups.{g.group}", g.cost) if ledger else "")
        + "</tr>"
        for g in groups
    ]
    return table("groups", heads, rows)


def waiting_table(w: Waiting) -> str:
    """The top reasons jobs wait: job-hours per reason code, most first, and what they mean."""
    total = float(w.job_hours.sum()) or 1.0
    rows = [
        f"<tr><td>{esc(CODES[k])}</td><td class='text'>{esc(REASONS[CODES[k]])}</td>"
        + number(
            f"queue.waiting_job_hours.{CODES[k]}",
            float(w.job_hours[k]),
            f"{float(w.job_hours[k]):,.0f}",
        )
        + f"<td>{float(w.job_hours[k]) / total:.1%}</td><td>{float(w.mean_jobs[k]):,.1f}</td></tr>"
        for k in w.ranked
    ]
    heads = ["reason", "what it means", "job-hours waiting", "share", "mean waiting jobs"]
    free = (
        "<p class='note'>Free GPUs, mean over the samples: "
        + number("queue.free_gpus.mean", w.mean_free, f"{w.mean_free:,.1f}", tag="span")
        + "; of which no waiting job could use, mean: "
        + number(
            "queue.unusable_free_gpus.mean", w.mean_unusable, f"{w.mean_unusable:,.1f}", tag="span"
        )
        + ".</p>"
    )
    return table("waiting-table", heads, rows) + free


def tenancy_tables(t: TenancyView, ledger: bool) -> str:
    """The tenant tree (indented by depth) against entitlement, then the grants."""
    heads = ["tree group", "jobs", "GPU-hours", "share", "entitlement", "share - entitlement"]
    heads += ["wait p50", "wait p95", "jobs preempted", "GPU-hours lost", "pending", "rejected"]
    if ledger:
        heads += ["GPU time, market price", "charged (co-pay)"]
    rows = []
    for i, r in enumerate(t.rows):
        k = f"tenancy.groups.{i}"
        gap = r.share - r.entitlement
        rows.append(
            f"<tr data-depth='{r.depth}'><td style='padding-left:{0.6 + 1.4 * r.depth:.1f}em'>"
            f"{esc(r.group)}</td>"
            + number(f"{k}.jobs", r.jobs, f"{r.jobs:,}")
            + number(f"{k}.gpu_hours", r.gpu_hours, f"{r.gpu_hours:,.0f}")
            + number(f"{k}.share", r.share, f"{r.share:.1%}")
            + number(f"{k}.entitlement", r.entitlement, f"{r.entitlement:.1%}")
            + (f"<td>{gap * 100:+.1f} pt</td>" if r.entitlement else "<td>-</td>")
            + number(f"{k}.wait_p50_s", r.wait_p50, duration_text(r.wait_p50))
            + number(f"{k}.wait_p95_s", r.wait_p95, duration_text(r.wait_p95))
            + number(f"{k}.preempted_jobs", r.preempted_jobs, f"{r.preempted_jobs:,}")
            + number(f"{k}.lost_gpu_hours", r.lost_gpu_hours, f"{r.lost_gpu_hours:,.0f}")
            + number(f"{k}.pending", r.pending, f"{r.pending:,}")
            + number(f"{k}.rejected", r.rejected, f"{r.rejected:,}")
            + (_cost_cells(f"ledger.tree.{i}", r.cost) if ledger else "")
            + "</tr>"
        )
    head = (
        "<p class='note'>"
        + number("tenancy.preempted_runs", t.preempted_runs, f"{t.preempted_runs:,}", tag="span")
        + " runs were preempted by reclaim, losing "
        + number("tenancy.lost_gpu_hours", t.lost_gpu_hours, f"{t.lost_gpu_hours:,.0f}", tag="span")
        + " GPU-hours of work. Entitlement: guaranteed GPUs over the fleet's GPUs. Cost of a "
        "tree group: the ledger's tenant group of the same name, else the sum of its "
        "sub-groups.</p>"
    )
    out = head + table("tenancy-table", heads, rows)
    if t.grants:
        grows = [
            f"<tr><td>{esc(g.tenant)}</td><td class='text'>{esc(g.grant)}</td>"
            f"<td class='text'>{esc(g.flavor)}</td>"
            + number(
                f"tenancy.grants.{i}.award_gpu_hours",
                g.award_gpu_hours,
                f"{g.award_gpu_hours:,.0f}",
            )
            + number(
                f"tenancy.grants.{i}.used_gpu_hours", g.used_gpu_hours, f"{g.used_gpu_hours:,.0f}"
            )
            + number(f"tenancy.grants.{i}.used_fraction", g.used_fraction, f"{g.used_fraction:.1%}")
            + "</tr>"
            for i, g in enumerate(t.grants)
        ]
        gheads = ["tenant", "grant", "flavor", "award GPU-hours", "used GPU-hours", "used"]
        out += "<h3>Grants: award against use</h3>" + table("grants-table", gheads, grows)
    return out


def energy_views(r: RunReport) -> str:
    """The fleet's energy (this report's) beside the ledger's, saying why they differ."""
    e = r.energy
    fleet = (
        f"All {r.metrics.get('fleet_gpus', 0):,} GPUs over the window (days of arrivals): "
        f"busy at TDP, idle at {en.IDLE_SHARE:g} x TDP, x site PUE. Cost: electricity at "
        f"{en.KRW_PER_KWH} KRW/kWh."
    )
    if r.ledger is None:
        return note(fleet)
    led = r.ledger_total
    ledger_what = (
        f"Only GPUs held by jobs, at {JOB_POWER_SHARE:g} x TDP x site PUE, every day of the run "
        "(arrivals and drain); idle GPUs belong to no tenant. Cost: GPU time at market price, "
        "and what tenants are charged under the co-pay rules (docs/accounting.md)."
    )
    kwh, co2 = led("energy_kwh"), led("co2_kg")
    market, charged = led(MARKET), led("cost_charged_krw")
    rows = [
        f"<tr><th>what it counts</th><td class='text'>{esc(fleet)}</td>"
        f"<td class='text'>{esc(ledger_what)}</td></tr>",
        "<tr><th>energy</th>"
        + number("energy.mwh", e.mwh, figure_text("energy.mwh", e.mwh))
        + number("ledger.energy_kwh", kwh, figure_text("energy.mwh", kwh / 1000))
        + "</tr>",
        "<tr><th>emissions</th>"
        + number("energy.tco2e", e.tco2e, figure_text("energy.tco2e", e.tco2e))
        + number("ledger.co2_kg", co2, figure_text("energy.tco2e", co2 / 1000))
        + "</tr>",
        "<tr><th>cost: electricity (fleet), GPU time at market price (ledger)</th>"
        + number("energy.krw", e.krw, figure_text("energy.krw", e.krw))
        + number(f"ledger.{MARKET}", market, krw_text(market))
        + "</tr><tr><th>charged to tenants (co-pay)</th><td>-</td>"
        + number("ledger.cost_charged_krw", charged, krw_text(charged))
        + "</tr>",
    ]
    return "<h3>Energy and cost: the fleet's and the ledger's</h3>" + table(
        "energy-views", ["", "fleet (this report)", "ledger (gpufleet acct)"], rows
    )
