"""`gpufleet acct --run`: a run's ledger summed over the chosen keys, printed like sreport.

Parsing the --by list and formatting live here; the numbers come from gpufleet.accounting.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import click
import pyarrow as pa
import pyarrow.parquet as pq

from gpufleet.accounting.ledger import rollup
from gpufleet.accounting.prices import load_prices
from gpufleet.accounting.rundir import read_ledger
from gpufleet.cli.base import out_console
from gpufleet.errors import ConfigError

# --by field -> ledger column.
BY_FIELDS = {
    "tenant": "tenant",
    "group": "group",
    "site": "site",
    "model": "gpu_model",
    "day": "day",
}
_NUMBERS = (  # column, header, format
    ("jobs", "JOBS", "{:,.0f}"),
    ("gpu_hours", "GPU-HOURS", "{:,.1f}"),
    ("cost_market_krw", "MARKET KRW", "{:,.0f}"),
    ("cost_charged_krw", "CHARGED KRW", "{:,.0f}"),
    ("energy_kwh", "ENERGY KWH", "{:,.1f}"),
    ("co2_kg", "CO2 KG", "{:,.1f}"),
)


def parse_by(text: str) -> list[str]:
    """Ledger columns for a --by value such as "group,model"; ConfigError on an unknown one."""
    cols: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if part not in BY_FIELDS:
            raise ConfigError(
                f"--by: unknown field {part!r}; expected a comma-separated subset of "
                + ", ".join(BY_FIELDS)
            )
        if BY_FIELDS[part] not in cols:
            cols.append(BY_FIELDS[part])
    return cols


def show_run_ledger(
    run_dir: Path, by: str, output: str, prices: Path | None, parquet: Path | None
) -> None:
    """Print RUN_DIR's ledger summed by `by`; also write it to `parquet` when given."""
    cols = parse_by(by)
    table = rollup(read_ledger(run_dir, load_prices(prices) if prices else None), cols)
    if parquet is not None:
        try:
            pq.write_table(table, parquet)
        except OSError as e:
            raise ConfigError(f"{parquet}: cannot write Parquet file: {e.strerror or e}") from None
    if output == "json":
        click.echo(json.dumps(table.to_pylist(), indent=2))
    elif output == "csv":
        click.echo(_csv(table), nl=False)
    else:
        _print_table(table, cols)
    if parquet is not None:
        click.echo(f"wrote {parquet}", err=True)


def _csv(table: pa.Table) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(table.column_names)
    writer.writerows(tuple(row.values()) for row in table.to_pylist())
    return buf.getvalue()


def _print_table(table: pa.Table, cols: list[str]) -> None:
    from rich.table import Table

    rows = table.to_pylist()
    out = Table(box=None)
    for c in cols:
        out.add_column(c.upper().replace("GPU_MODEL", "MODEL"))
    for _, header, _ in _NUMBERS:
        out.add_column(header, justify="right")
    for i, r in enumerate(rows):
        r["gpu_hours"] = r["gpu_seconds"] / 3600.0
        out.add_row(*_cells(r, cols), end_section=i == len(rows) - 1)
    total = rollup(table, []).to_pylist()[0]
    total["gpu_hours"] = total["gpu_seconds"] / 3600.0
    out.add_row(*(["TOTAL"] + [""] * (len(cols) - 1)), *_cells(total, []))
    out_console().print(out)


def _cells(row: dict[str, object], cols: list[str]) -> list[str]:
    return [str(row[c]) for c in cols] + [fmt.format(row[c]) for c, _, fmt in _NUMBERS]
