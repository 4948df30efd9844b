"""The comparison page's tables beyond the key figures: tenant-tree shares side by side, and
notes on what some runs lack (runs written before waiting reasons or without a tenant tree).
"""

from __future__ import annotations

import math

from gpufleet.report.compare import Comparison
from gpufleet.report.markup import esc, number, table


def _letter(label: str) -> str:
    return label.split(":")[0]


def _cells(field: str, values: tuple[float, ...], fmt: str, where: list[int | None]) -> str:
    """One cell per run: its value at `tenancy.groups.<its row>.<field>`, or '-'."""
    out = ""
    for i, (v, k) in enumerate(zip(values, where, strict=True)):
        if k is None or math.isnan(v):
            out += "<td>-</td>"
        else:
            out += number(f"tenancy.groups.{k}.{field}", v, format(v, fmt), run=i)
    return out


def tree_table(c: Comparison) -> str:
    """Per tenant-tree group: each run's share and entitlement, share differences from run A
    in percentage points, and jobs preempted. A run without the group shows '-'."""
    n = len(c.labels)
    index = [
        {row.group: i for i, row in enumerate(r.tenancy.rows)} if r.tenancy else {} for r in c.runs
    ]
    heads = ["tree group"]
    heads += [f"share {_letter(lb)}" for lb in c.labels]
    heads += [f"entitlement {_letter(lb)}" for lb in c.labels]
    heads += [f"share {_letter(c.labels[i])} - A" for i in range(1, n)]
    heads += [f"jobs preempted {_letter(lb)}" for lb in c.labels]
    rows = []
    for t in c.tree:
        where = [ix.get(t.group) for ix in index]
        diffs = ""
        for i in range(1, n):
            d = t.share[i] - t.share[0]
            diffs += (
                "<td>-</td>"
                if math.isnan(d)
                else f'<td data-diff="tenancy.share.{esc(t.group)}" data-run="{i}" '
                f'data-value="{d!r}">{d * 100:+.1f} pt</td>'
            )
        rows.append(
            f"<tr><td style='padding-left:{0.6 + 1.4 * t.depth:.1f}em'>{esc(t.group)}</td>"
            + _cells("share", t.share, ".1%", where)
            + _cells("entitlement", t.entitlement, ".1%", where)
            + diffs
            + _cells("preempted_jobs", t.preempted_jobs, ",.0f", where)
            + "</tr>"
        )
    return table("tenancy-compare", heads, rows)


def lacking(c: Comparison) -> dict[str, str]:
    """Notes per page section on runs that lack waiting reasons or a tenant tree."""
    notes: dict[str, list[str]] = {}
    for lb, r in zip(c.labels, c.runs, strict=True):
        if r.waiting is None:
            notes.setdefault("queue", []).append(
                f"Run {lb} has no waiting reasons or unusable free GPUs in queue.parquet (it "
                "was written before the twin sampled them); it is left out here."
            )
        if r.tenancy is None and c.tree:
            notes.setdefault("tenancy", []).append(
                f"Run {lb} had no tenant tree (no tenancy block in metrics.json)."
            )
    if any(r.waiting is None or r.tenancy is None for r in c.runs):
        notes.setdefault("figures", []).append(
            "Figures that only some runs have (waiting reasons, preemption) are left out of the "
            "table above; each run's own report shows them."
        )
    return {
        sid: "".join(f'<p class="note" data-omitted="{sid}">{esc(t)}</p>' for t in texts)
        for sid, texts in notes.items()
    }
