"""The ledger checked by hand: day splitting, cost and co-pay, energy and CO2."""

from __future__ import annotations

import pytest

from gpufleet.accounting.ledger import JOB_POWER_SHARE, KG_CO2_PER_KWH, ledger_of, rollup
from gpufleet.accounting.prices import PriceTable
from gpufleet.engine.record import COMPLETED, RUNNING, RunRecord
from gpufleet.errors import InvariantError
from gpufleet.report.energy import IDLE_SHARE, TCO2E_PER_MWH
from gpufleet.workload.job import Job
from strategies import make_fleet

H = 3600.0
DAY = 86400.0
# One site with the default PUE of 1.4 [A]; one HGX B200 cluster (TDP 1,000 W).
FLEET = make_fleet(("c0", "B200", 16, 8, 8, 2))


def _record(runs: list[tuple[Job, float, float]]) -> RunRecord:
    """A record in which each job ran once on cluster 0 from start to end."""
    rec = RunRecord.empty(FLEET, [j for j, _, _ in runs], "fifo", "first-fit", 0, DAY, H)
    for i, (_, start, end) in enumerate(runs):
        rec.start[i], rec.end[i], rec.cluster[i], rec.state[i] = start, end, 0, COMPLETED
    return rec


def _rows(rec: RunRecord, prices: PriceTable | None = None) -> dict[tuple[str, int], dict]:
    return {(r["tenant"], r["day"]): r for r in ledger_of(rec, prices).to_pylist()}


def test_a_job_crossing_midnight_is_split_at_midnight() -> None:
    # 8 GPUs from 22:00 on day 0 to 03:00 on day 1: 2 h then 3 h.
    job = Job(0, "t", 0.0, 8, 5 * H, ref_model="B200", group="general")
    rows = _rows(_record([(job, 22 * H, DAY + 3 * H)]))
    assert rows[("t", 0)]["gpu_seconds"] == 8 * 2 * H  # 57,600
    assert rows[("t", 1)]["gpu_seconds"] == 8 * 3 * H  # 86,400
    assert rows[("t", 0)]["jobs"] == 1 and rows[("t", 1)]["jobs"] == 0  # counted on its start day
    assert rows[("t", 0)]["site"] == "site" and rows[("t", 0)]["gpu_model"] == "B200"


def test_a_run_ending_exactly_at_midnight_stays_in_its_day() -> None:
    job = Job(0, "t", 0.0, 1, DAY, ref_model="B200")
    assert list(_rows(_record([(job, 0.0, DAY)]))) == [("t", 0)]


def test_cost_at_market_and_the_co_pay_of_each_group() -> None:
    # B200: 5.25 USD x 1,400 KRW/USD = 7,350 KRW per GPU-hour. 8 GPUs x 5 h = 40 GPU-h
    # = 294,000 KRW at market.
    runs = [
        (Job(i, f"t{i}", 0.0, 8, 5 * H, ref_model="B200", group=g), 0.0, 5 * H)
        for i, g in enumerate(("industry-sme-startups", "academia-research", "some-company"))
    ]
    rows = _rows(_record(runs))
    assert [rows[(f"t{i}", 0)]["cost_market_krw"] for i in range(3)] == pytest.approx(
        [294_000.0] * 3
    )
    assert rows[("t0", 0)]["cost_charged_krw"] == pytest.approx(22_050.0)  # 7.5% [S29]
    assert rows[("t1", 0)]["cost_charged_krw"] == 0.0  # academia: free [S29]
    assert rows[("t2", 0)]["cost_charged_krw"] == pytest.approx(294_000.0)  # unknown: market
    cheap = PriceTable({"B200": 1000.0}, {"some-company": 0.5})
    rows = _rows(_record(runs), cheap)
    assert rows[("t2", 0)]["cost_market_krw"] == pytest.approx(40_000.0)
    assert rows[("t2", 0)]["cost_charged_krw"] == pytest.approx(20_000.0)
    assert rows[("t0", 0)]["cost_charged_krw"] == pytest.approx(40_000.0)  # not in this table


def test_energy_and_co2_of_a_job() -> None:
    # 40 GPU-h x 1 kW TDP x 0.8 [A] x PUE 1.4 = 44.8 kWh; x 0.4173 kg/kWh [S109] = 18.695 kg.
    job = Job(0, "t", 0.0, 8, 5 * H, ref_model="B200")
    row = _rows(_record([(job, 0.0, 5 * H)]))[("t", 0)]
    assert JOB_POWER_SHARE == 0.8 and KG_CO2_PER_KWH == TCO2E_PER_MWH
    assert IDLE_SHARE <= JOB_POWER_SHARE <= 1.0  # a running GPU draws at least an idle one
    assert row["energy_kwh"] == pytest.approx(44.8)
    assert row["co2_kg"] == pytest.approx(18.69504)


def test_preempted_runs_and_still_running_jobs_are_counted() -> None:
    a = Job(0, "a", 0.0, 4, H, ref_model="B200")
    b = Job(1, "b", 0.0, 2, 10 * H, ref_model="B200")
    rec = _record([(a, 3 * H, 4 * H), (b, H, float("nan"))])
    rec.state[1] = RUNNING  # still running when the record stops, at 4 h (a's end)
    rec.preempted.append((0, 0.0, 2 * H, 0))  # a ran 2 h before it was preempted
    rows = _rows(rec)
    assert rows[("a", 0)]["gpu_seconds"] == 4 * (H + 2 * H)
    assert rows[("a", 0)]["jobs"] == 2  # two runs
    assert rows[("b", 0)]["gpu_seconds"] == 2 * 3 * H
    total = rollup(ledger_of(rec), [])
    assert total["gpu_seconds"].to_pylist() == [18 * H]


def test_a_malformed_preempted_run_is_a_bug() -> None:
    rec = _record([(Job(0, "a", 0.0, 4, H, ref_model="B200"), 0.0, H)])
    rec.preempted.append((0, 5.0, 1.0, 0))
    with pytest.raises(InvariantError, match=r"preempted\[0\]"):
        ledger_of(rec)


def test_rollup_by_group_and_model_sums_rows() -> None:
    runs = [
        (Job(i, f"t{i}", 0.0, 1, H, ref_model="B200", group="g"), i * DAY, i * DAY + H)
        for i in range(3)
    ]
    out = rollup(ledger_of(_record(runs)), ["group", "gpu_model"])
    assert out.to_pylist()[0] == pytest.approx(
        {
            "group": "g",
            "gpu_model": "B200",
            "jobs": 3,
            "gpu_seconds": 3 * H,
            "cost_market_krw": 3 * 7350.0,
            "cost_charged_krw": 3 * 7350.0,
            "energy_kwh": 3 * 0.8 * 1.4,
            "co2_kg": 3 * 0.8 * 1.4 * 0.4173,
        }
    )
