"""The round engine: a hand-computed preemption with restart cost, and properties (capacity at
every round, every job ends exactly once, same inputs same result)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gpufleet.engine.rounds import FixedWork, RoundJob, RoundsResult, replay
from gpufleet.fleet.state import AllocationState
from gpufleet.policy.rounds import Fifo
from gpufleet.policy.tiresias import Tiresias, TiresiasConfig
from gpufleet.validation.pollux import t4_fleet


def test_preemption_with_restart_cost_by_hand() -> None:
    # One node of 4 GPUs; queue threshold 240 GPU-s; 30 s restart cost; 60 s rounds.
    # t=60: A (4 GPUs, 1000 s) starts, trains from 90; B (1 GPU, 100 s) waits.
    # t=120: A has 60 s x 4 = 240 GPU-s -> queue 1; B (queue 0) starts, trains 150-250;
    #        A no longer fits (3 free) and is preempted after 30 s of training: 970 s left.
    # t=300: B has finished (at 250); A restarts, trains from 330, ends at 1300.
    jobs = [RoundJob(1, 0.0, 4, FixedWork(1000)), RoundJob(2, 30.0, 1, FixedWork(100))]
    res = replay(jobs, t4_fleet(1), Tiresias(TiresiasConfig(thresholds=(240.0,))))
    assert res.finish == {2: 250.0, 1: 1300.0}
    assert res.jct() == {2: 220.0, 1: 1300.0}
    assert res.starts == {1: 2, 2: 1} and res.preemptions == 1
    assert res.first_start == {1: 60.0, 2: 120.0}


def test_restart_cost_is_configurable() -> None:
    jobs = [RoundJob(1, 0.0, 4, FixedWork(1000)), RoundJob(2, 30.0, 1, FixedWork(100))]
    res = replay(jobs, t4_fleet(1), Tiresias(TiresiasConfig(thresholds=(240.0,))), restart_cost=0)
    # A trains 60-120 (940 left); B 120-220; A again from 240 -> 1180
    assert res.finish == {2: 220.0, 1: 1180.0}


def _check_capacity(cap: int, seen: list[int]) -> object:
    def check(state: AllocationState, now: int) -> None:
        state.check()
        assert state.busy_gpus <= cap
        seen.append(now)

    return check


job_lists = st.lists(
    st.tuples(
        st.integers(0, 2000),  # submit
        st.sampled_from([1, 2, 3, 4, 6, 8]),  # GPUs
        st.integers(1, 3000),  # run time
    ),
    min_size=1,
    max_size=25,
)


def _jobs(spec: list[tuple[int, int, int]]) -> list[RoundJob]:
    return [RoundJob(i, float(s), g, FixedWork(float(r))) for i, (s, g, r) in enumerate(spec)]


def _run(spec: list[tuple[int, int, int]], policy: str, seen: list[int]) -> RoundsResult:
    fleet = t4_fleet(2)
    p = Fifo() if policy == "fifo" else Tiresias(TiresiasConfig(thresholds=(600.0, 6000.0)))
    return replay(_jobs(spec), fleet, p, check=_check_capacity(8, seen))  # type: ignore[arg-type]


@given(job_lists, st.sampled_from(["tiresias", "fifo"]))
def test_capacity_every_round_and_every_job_ends_once(
    spec: list[tuple[int, int, int]], policy: str
) -> None:
    seen: list[int] = []
    res = _run(spec, policy, seen)
    assert sorted(res.finish) == list(range(len(spec)))
    assert seen == sorted(set(seen))  # rounds move forward, one decision per round
    for i, (s, _, r) in enumerate(spec):
        # at least its run time and one restart after the first round it could see
        assert res.finish[i] >= s + r + 30
        assert res.starts[i] >= 1


@given(job_lists)
def test_same_inputs_same_result(spec: list[tuple[int, int, int]]) -> None:
    a, b = _run(spec, "tiresias", []), _run(spec, "tiresias", [])
    assert (a.finish, a.starts, a.preemptions, a.rounds) == (
        b.finish,
        b.starts,
        b.preemptions,
        b.rounds,
    )


@given(job_lists)
def test_skipping_idle_rounds_changes_nothing(spec: list[tuple[int, int, int]]) -> None:
    policy = TiresiasConfig(thresholds=(600.0, 6000.0), starvation=1.0)
    a = replay(_jobs(spec), t4_fleet(2), Tiresias(policy))
    b = replay(_jobs(spec), t4_fleet(2), Tiresias(policy), skip_idle=False)
    assert (a.finish, a.starts, a.preemptions) == (b.finish, b.starts, b.preemptions)
    assert a.rounds <= b.rounds
