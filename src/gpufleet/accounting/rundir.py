"""Read a run directory's ledger: ledger.parquet, or for older runs one built from jobs.parquet.

Bad input (no such directory, an unreadable or foreign ledger file) raises ConfigError naming
the file and what is expected.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from gpufleet.accounting.ledger import SCHEMA, build_ledger, price_ledger, prices_for
from gpufleet.accounting.prices import PriceTable
from gpufleet.accounting.segments import table_segments
from gpufleet.errors import ConfigError
from gpufleet.report.rundir import read_run_dir

LEDGER_FILE = "ledger.parquet"
_JOB_COLUMNS = ["tenant", "group", "gpus", "start", "end", "site", "gpu_model"]


def read_ledger(run_dir: Path, prices: PriceTable | None = None) -> pa.Table:
    """RUN_DIR's ledger, re-priced with `prices` when given."""
    if not run_dir.is_dir():
        raise ConfigError(f"{run_dir}: not a run directory (write one with `simulate --out DIR`)")
    path = run_dir / LEDGER_FILE
    if not path.is_file():
        return _from_jobs(run_dir, prices)
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as e:
        raise ConfigError(f"{path}: cannot read Parquet file: {e}") from None
    missing = [f.name for f in SCHEMA if f.name not in table.column_names]
    if missing:
        raise ConfigError(f"{path}: not a ledger; columns missing: {', '.join(missing)}")
    try:
        table = table.select(SCHEMA.names).cast(SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise ConfigError(f"{path}: column types differ from a ledger's: {e}") from None
    return table if prices is None else price_ledger(table, prices)


def _from_jobs(run_dir: Path, prices: PriceTable | None) -> pa.Table:
    """A ledger from jobs.parquet (runs written before ledger.parquet; no preempted runs)."""
    rd = read_run_dir(run_dir)  # checks the directory and reloads the run's fleet
    path = run_dir / "jobs.parquet"
    try:
        jobs = pq.read_table(path, columns=_JOB_COLUMNS)
    except (OSError, pa.ArrowException) as e:
        raise ConfigError(f"{path}: cannot read Parquet file: {e}") from None
    seg = table_segments(jobs, rd.fleet, str(path))
    return build_ledger(seg, prices_for(rd.fleet, prices))
