"""Rich tables for the terminal: the fleet, a run's summary, the policy list."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rich.table import Table

from gpufleet.fleet.model import Fleet


def fleet_tables(fleet: Fleet) -> list[Table]:
    """Sites, clusters, and totals by owner and by GPU model."""
    by_site: dict[str, list[int]] = defaultdict(list)
    for ci, c in enumerate(fleet.clusters):
        by_site[c.site].append(ci)
    sites = Table(title=f"{fleet.name}: sites")
    for col in ("site", "owner", "kind", "region", "CSAP"):
        sites.add_column(col)
    for col in ("GPUs", "IT MW", "budget MW", "PUE"):
        sites.add_column(col, justify="right")
    for s in fleet.sites:
        cis = by_site[s.id]
        sites.add_row(
            s.id,
            s.owner,
            s.kind,
            s.region,
            s.csap_tier,
            f"{sum(fleet.clusters[ci].gpus for ci in cis):,}",
            f"{sum(fleet.clusters[ci].it_power_kw for ci in cis) / 1000:,.1f}",
            f"{s.power_budget_mw:,.1f}" if s.power_budget_mw else "-",
            f"{s.pue:.2f}",
        )
    sites.add_section()
    sites.add_row(
        "[bold]total[/bold]",
        f"{len({s.owner for s in fleet.sites})} owners",
        f"{len(fleet.sites)} sites",
        "",
        "",
        f"[bold]{fleet.total_gpus:,}[/bold]",
        f"{sum(c.it_power_kw for c in fleet.clusters) / 1000:,.1f}",
        f"{sum(s.power_budget_mw for s in fleet.sites):,.1f}",
        "",
    )
    clusters = Table(title=f"{fleet.name}: clusters")
    for col in ("cluster", "site", "model"):
        clusters.add_column(col)
    for col in ("GPUs", "nodes", "NVLink domains", "blocks", "IT MW"):
        clusters.add_column(col, justify="right")
    for ci, c in enumerate(fleet.clusters):
        clusters.add_row(
            c.id,
            c.site,
            c.gpu_model,
            f"{c.gpus:,}",
            f"{c.n_nodes:,}",
            f"{c.n_domains:,} x {c.domain_gpus}",
            f"{len(fleet.cluster_blocks(ci)):,}",
            f"{c.it_power_kw / 1000:,.1f}",
        )
    clusters.add_section()
    clusters.add_row(
        "[bold]total[/bold]",
        f"{len(fleet.clusters)} clusters",
        f"{len({c.gpu_model for c in fleet.clusters})} models",
        f"[bold]{fleet.total_gpus:,}[/bold]",
        f"{fleet.n_nodes:,}",
        f"{fleet.n_domains:,}",
        f"{fleet.n_blocks:,}",
        f"{sum(c.it_power_kw for c in fleet.clusters) / 1000:,.1f}",
    )
    owners: dict[str, int] = defaultdict(int)
    site_owner = {s.id: s.owner for s in fleet.sites}
    models: dict[str, int] = defaultdict(int)
    for c in fleet.clusters:
        owners[site_owner[c.site]] += c.gpus
        models[c.gpu_model] += c.gpus
    by_owner = Table(title="GPUs by owner")
    by_owner.add_column("owner")
    by_owner.add_column("GPUs", justify="right")
    by_owner.add_column("share", justify="right")
    for o, g in sorted(owners.items(), key=lambda kv: -kv[1]):
        by_owner.add_row(o, f"{g:,}", f"{g / fleet.total_gpus:.1%}")
    by_model = Table(title="GPUs by model (specs: docs/sources.md)")
    for col in ("model", "GPUs", "memory GB", "BF16 TF", "TDP W", "BF16 PF total"):
        by_model.add_column(col, justify="left" if col == "model" else "right")
    for m, g in sorted(models.items(), key=lambda kv: -kv[1]):
        gm = fleet.models[m]
        by_model.add_row(
            m,
            f"{g:,}",
            f"{gm.memory_gb:,.0f}",
            f"{gm.bf16_tflops:,.0f}",
            f"{gm.tdp_w:,.0f}",
            f"{g * gm.bf16_tflops / 1000:,.0f}",
        )
    return [sites, clusters, by_owner, by_model]


def duration_text(seconds: float) -> str:
    """Seconds as the unit a person reads: s, min, h or d."""
    if seconds != seconds:  # NaN: nothing to measure
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def summary_tables(m: dict[str, Any]) -> list[Table]:
    """The headline numbers of a run, then GPU-hours by tenant group."""
    head = Table(
        title=(
            f"{m['scenario']} | policy {m['policy']} | placement {m['placement']} "
            f"| seed {m['seed']}"
        )
    )
    head.add_column("metric")
    for col in ("mean", "p50", "p95", "p99"):
        head.add_column(col, justify="right")
    for key, label in (("wait_s", "wait"), ("jct_s", "job completion time")):
        p = m[key]
        head.add_row(label, *(duration_text(p[k]) for k in ("mean", "p50", "p95", "p99")))
    b = m["bounded_slowdown"]
    head.add_row("bounded slowdown", *(f"{b[k]:.2f}" for k in ("mean", "p50", "p95", "p99")))
    head.add_section()
    st = m["states"]
    head.add_row("jobs", f"{m['jobs']:,}", "", "", "")
    head.add_row("completed / timed out", f"{st['completed']:,}", f"{st['timeout']:,}", "", "")
    head.add_row("rejected (never fit)", f"{st['rejected']:,}", "", "", "")
    head.add_row("utilization (window)", f"{m['utilization']:.1%}", "", "", "")
    head.add_row("GPU-hours", f"{m['gpu_hours']:,.0f}", "", "", "")
    head.add_row(
        "window / makespan",
        duration_text(m["window_days"] * 86400),
        duration_text(m["makespan_days"] * 86400),
        "",
        "",
    )
    head.add_row("Jain fairness (groups)", f"{m['jain_fairness']:.3f}", "", "", "")
    head.add_row("wall time", f"{m['wall_seconds']:.1f} s", "", "", "")
    if "realism" in m:
        _realism_rows(head, m["realism"])
    groups = Table(title="Tenant groups")
    for col in ("group", "jobs", "GPU-hours", "share"):
        groups.add_column(col, justify="left" if col == "group" else "right")
    total = m["gpu_hours"] or 1.0
    for g, v in sorted(m["groups"].items(), key=lambda kv: -kv[1]["gpu_hours"]):
        groups.add_row(
            g, f"{int(v['jobs']):,}", f"{v['gpu_hours']:,.0f}", f"{v['gpu_hours'] / total:.1%}"
        )
    return [head, groups]


def _realism_rows(head: Table, r: dict[str, Any]) -> None:
    """Failures, goodput, ETTR, capacity online and energy, when the run switched them on."""
    head.add_section()
    if r.get("maintenance_on"):
        head.add_row(
            "maintenance: GPU-hours down (planned stops)",
            f"{r['maintenance_gpu_hours']:,.0f}",
            f"{r['planned_interruptions']:,}",
            "",
            "",
        )
    if r["failures_on"] or r.get("maintenance_on"):
        head.add_row(
            "interruptions (jobs hit)",
            f"{r['interruptions']:,}",
            f"{r['jobs_interrupted']:,}",
            "",
            "",
        )
        head.add_row("lost GPU-hours (failures)", f"{r['lost_gpu_hours']:,.0f}", "", "", "")
        head.add_row("goodput", f"{r['goodput']:.2%}", "", "", "")
        e = r["ettr_large"]
        if e["jobs"]:
            head.add_row(
                f"ETTR, jobs >= {e['min_gpus']:,} GPUs (mean, min)",
                f"{e['mean']:.3f}",
                f"{e['min']:.3f}",
                "",
                "",
            )
    if r["start_date"]:
        head.add_row("utilization of online GPUs", f"{r['utilization_online']:.1%}", "", "", "")
    en = r["energy"]
    head.add_row(
        "energy MWh / M KRW / tCO2e",
        f"{en['mwh']:,.0f}",
        f"{en['krw'] / 1e6:,.0f}",
        f"{en['tco2e']:,.0f}",
        "",
    )


def tenancy_table(t: dict[str, Any]) -> Table:
    """Per tenant group: GPU-hours against entitlement, waits, preemptions; then grants."""
    table = Table(
        title=(
            f"tenant groups ({t['preempted_runs']:,} runs preempted, "
            f"{t['lost_gpu_hours']:,.0f} GPU-hours lost)"
        )
    )
    table.add_column("group", no_wrap=True)
    for col in ("jobs", "GPU-h", "share", "entitled", "wait p50", "p95", "preempted", "pending"):
        table.add_column(col, justify="right")
    for g in t["groups"]:
        table.add_row(
            "  " * g["depth"] + g["group"],
            f"{g['jobs']:,}",
            f"{g['gpu_hours']:,.0f}",
            f"{g['share']:.1%}",
            f"{g['entitlement']:.1%}" if g["entitlement"] else "-",
            duration_text(g["wait_p50_s"]),
            duration_text(g["wait_p95_s"]),
            f"{g['preempted_jobs']:,}",
            f"{g['pending']:,}",
        )
    return table


def grants_table(t: dict[str, Any]) -> Table:
    """Each grant's award and what its tenant used of it."""
    table = Table(title="grants")
    for col in ("tenant", "grant", "flavor"):
        table.add_column(col)
    for col in ("awarded GPU-h", "used GPU-h", "used"):
        table.add_column(col, justify="right")
    for gr in t["grants"]:
        table.add_row(
            gr["tenant"],
            gr["grant"],
            gr["flavor"],
            f"{gr['award_gpu_hours']:,.0f}",
            f"{gr['used_gpu_hours']:,.0f}",
            f"{gr['used_fraction']:.1%}",
        )
    return table


def inference_table(i: dict[str, Any]) -> Table:
    """Per inference service: objective attainment, tokens, energy; preemptions it caused."""
    p = i["preempted_by_inference"]
    table = Table(
        title=(
            f"inference services ({i['tokens_served'] / 1e9:,.1f} G tokens, "
            f"{i['tokens_per_mwh'] / 1e6:,.2f} M tokens/MWh; preempted "
            f"{p['runs']:,} runs of {p['jobs']:,} jobs, {p['gpu_hours_lost']:,.0f} GPU-h lost)"
        )
    )
    table.add_column("service", no_wrap=True)
    for col in ("objective", "met (time)", "met (tokens)", "served", "replicas", "GPU-h", "MWh"):
        table.add_column(col, justify="right")
    for name, s in i["services"].items():
        obj = s["objective"] if s["objective"] == "throughput" else f"util<={s['target']:.0%}"
        served = s["tokens_served"] / s["tokens_offered"] if s["tokens_offered"] else 1.0
        table.add_row(
            name,
            obj,
            f"{s['attainment_time']:.1%}",
            f"{s['attainment_requests']:.1%}",
            f"{served:.1%}",
            f"{s['replicas_min']}-{s['replicas_max']}",
            f"{s['gpu_hours']:,.0f}",
            f"{s['energy_mwh']:,.1f}",
        )
    return table
