"""Why a job waits: codes, sentences and estimates on hand-made queues."""

from __future__ import annotations

from pathlib import Path

from gpufleet.policy.registry import resolve
from gpufleet.scheduler.core import Scheduler
from gpufleet.scheduler.events import Submit
from gpufleet.scheduler.why import waiting_summary, why
from gpufleet.tenancy.loader import load_tenancy
from gpufleet.workload.job import Job
from strategies import make_fleet

TWO_NODES = make_fleet(("c", "H100", 16, 8, 8, 2))


def test_first_in_line_with_a_reservation_then_behind() -> None:
    """J0 holds 8 GPUs until 100 (its limit); J1 wants 16: first in line, starts by 100 (the
    shadow time); J2 (16 GPUs, later) is behind one job."""
    core = Scheduler(TWO_NODES, resolve("fifo+easy"))
    core.handle(Submit(Job(0, "a", 0.0, 8, 50.0, time_limit=100.0)), 0.0)
    core.handle(Submit(Job(1, "a", 1.0, 16, 10.0)), 1.0)
    core.handle(Submit(Job(2, "a", 2.0, 16, 10.0)), 2.0)
    h1 = why(core, 1)
    assert (h1.code, h1.estimate) == ("resources", 100.0)
    assert h1.text == "first in line: waiting for 16 GPUs of any model in one cluster (8 free now)"
    h2 = why(core, 2)
    assert (h2.code, h2.text) == ("priority", "behind 1 waiting jobs that come first in the order")
    counts, unusable = waiting_summary(core)
    assert counts["resources"] == 1 and counts["priority"] == 1
    assert unusable == 8  # 8 free GPUs, and every waiting job needs 16


def test_topology_when_free_gpus_are_split() -> None:
    """Two 4-GPU jobs hold half of each 8-GPU domain: 8 GPUs are free, but a job that needs
    one whole domain cannot use them."""
    core = Scheduler(TWO_NODES, resolve("fifo", "worst-fit"))
    core.handle(Submit(Job(0, "a", 0.0, 4, 50.0)), 0.0)
    core.handle(Submit(Job(1, "a", 0.0, 4, 50.0)), 0.0)
    core.handle(Submit(Job(2, "a", 1.0, 8, 10.0, topology="domain")), 1.0)
    h = why(core, 2)
    assert h.code == "topology"
    assert h.text == "8 GPUs of any model are free, but not 8 inside one NVLink domain"


def test_quota_reason_is_the_park_reason(tmp_path: Path) -> None:
    p = tmp_path / "t.yaml"
    p.write_text("tree:\n  - name: a\n    limit: {any: 8}\n")
    core = Scheduler(TWO_NODES, resolve("fifo"), tenancy=load_tenancy(p, TWO_NODES))
    core.handle(Submit(Job(0, "a", 0.0, 8, 50.0)), 0.0)
    core.handle(Submit(Job(1, "a", 0.0, 8, 50.0)), 0.0)
    h = why(core, 1)
    assert h.code == "quota"
    assert h.text == "over quota: a runs 8 of its limit 8 any GPUs"
    assert waiting_summary(core)[0]["quota"] == 1
