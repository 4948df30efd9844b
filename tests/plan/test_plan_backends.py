"""The same sweep gives equal rows in-process, on two worker processes and on Ray."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from gpufleet.cli import main
from gpufleet.plan.backends import LocalBackend, RayBackend
from gpufleet.plan.grid import expand
from gpufleet.plan.row import Row
from gpufleet.plan.spec import Sweep, load_sweep

Write = Callable[..., Path]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory, tiny: str) -> Sweep:
    path = tmp_path_factory.mktemp("sweep") / "tiny.yaml"
    path.write_text(tiny, encoding="utf-8")
    return load_sweep(path)


@pytest.fixture(scope="module")
def local_rows(sweep: Sweep) -> list[Row]:
    return LocalBackend(1).map(expand(sweep))


def test_rows_are_real_and_in_grid_order(sweep: Sweep, local_rows: list[Row]) -> None:
    assert [(r.variant, r.seed) for r in local_rows] == [
        ("base", 0),
        ("base", 1),
        ("gov-x2", 0),
        ("gov-x2", 1),
    ]
    assert all(r.jobs > 0 and 0 < r.utilization < 1 for r in local_rows)
    assert [r.gpus for r in local_rows] == [272, 272, 336, 336]
    # The workload comes from the base fleet: a variant changes supply, not demand.
    assert local_rows[0].jobs == local_rows[2].jobs


def test_two_worker_processes_give_the_same_rows(sweep: Sweep, local_rows: list[Row]) -> None:
    backend = LocalBackend(2)
    try:
        seen: list[int] = []
        rows = backend.map(expand(sweep), lambda done, total: seen.append(done))
    finally:
        backend.close()
    assert rows == local_rows
    assert seen == [1, 2, 3, 4]


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[None]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        yield
    finally:
        ray.shutdown()


def test_ray_gives_the_same_rows(sweep: Sweep, local_rows: list[Row], ray_instance: None) -> None:
    backend = RayBackend("local")  # uses the instance this test started
    rows = backend.map(expand(sweep))
    backend.close()
    assert rows == local_rows
    import ray

    assert ray.is_initialized()  # not ours to shut down


def test_cli_writes_table_markdown_and_chart(write_sweep: Write, tiny: str, tmp_path: Path) -> None:
    path = write_sweep(tiny + "target: p95_wait_h <= 1000\n")
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["plan", str(path), "-o", str(out), "--workers", "1", "--quiet"])
    assert r.exit_code == 0, r.output
    table = pq.read_table(out / "sweep.parquet").to_pylist()
    assert len(table) == 4 and all(row["meets_target"] for row in table)
    assert any(row["pareto"] for row in table) and table[0]["cost"] is None
    md = (out / "sweep.md").read_text()
    assert "| base | fifo+easy |" in md and "## Pareto front" in md
    assert (out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (out / "search.parquet").exists()
