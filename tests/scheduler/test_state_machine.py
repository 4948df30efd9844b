"""The core driven directly by random events (hypothesis stateful): submit, finish, cancel.

After every step the core's invariants hold, and at the end every accepted job has ended
exactly once (finished or cancelled) or is still pending or running.
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from gpufleet.policy.registry import resolve
from gpufleet.scheduler.core import Scheduler
from gpufleet.scheduler.events import Cancel, Finish, Reject, Start, Submit
from gpufleet.workload.job import TOPOLOGIES, Job
from strategies import make_fleet

FLEET = make_fleet(("h", "H100", 32, 8, 8, 2), ("g", "GB200", 144, 72, 4, 1))


class CoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.sched = Scheduler(FLEET, resolve("fifo+easy"))
        self.now = 0.0
        self.next_id = 0
        self.started: set[int] = set()
        self.ended: list[int] = []
        self.accepted: set[int] = set()

    def _take(self, decisions: list[Start | Reject]) -> None:
        for d in decisions:
            if isinstance(d, Start):
                assert d.job_id not in self.started, "a job started twice"
                assert d.allocation.gpus == self.sched.running[d.job_id].job.gpus
                self.started.add(d.job_id)
            else:
                self.accepted.discard(d.job_id)

    @rule(
        gpus=st.sampled_from([1, 2, 4, 8, 16, 24, 72, 100, 200]),
        runtime=st.integers(1, 500),
        topology=st.sampled_from(TOPOLOGIES),
        models=st.sampled_from([(), ("H100",), ("GB200",)]),
        limit=st.one_of(st.none(), st.integers(1, 600)),
        dt=st.sampled_from([0.0, 1.0, 10.0]),
    )
    def submit(
        self,
        gpus: int,
        runtime: int,
        topology: str,
        models: tuple[str, ...],
        limit: int | None,
        dt: float,
    ) -> None:
        self.now += dt
        job = Job(
            self.next_id,
            "t",
            self.now,
            gpus,
            float(runtime),
            models=models,
            topology=topology,
            time_limit=None if limit is None else float(limit),
        )
        self.next_id += 1
        self.accepted.add(job.id)
        self._take(self.sched.handle(Submit(job), self.now))

    @precondition(lambda self: bool(self.sched.running))
    @rule(data=st.data())
    def finish(self, data: st.DataObject) -> None:
        jid = data.draw(st.sampled_from(sorted(self.sched.running)))
        run = self.sched.running[jid]
        self.now = max(self.now, min(run.planned_end, self.now + 50.0))
        self.ended.append(jid)
        self._take(self.sched.handle(Finish(jid), self.now))

    @precondition(lambda self: bool(self.sched.pending) or bool(self.sched.running))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        jid = data.draw(st.sampled_from(sorted(set(self.sched.pending) | set(self.sched.running))))
        self.ended.append(jid)
        self._take(self.sched.handle(Cancel(jid), self.now))

    @invariant()
    def consistent(self) -> None:
        self.sched.check()
        assert len(self.ended) == len(set(self.ended)), "a job ended twice"
        live = set(self.sched.pending) | set(self.sched.running)
        assert live | set(self.ended) == self.accepted
        assert not live & set(self.ended)


TestCore = CoreMachine.TestCase
