"""The `local` executor: each job runs as shell processes on this machine, for development.

A job gets one process per node of its allocation (usually one), each a shell wrapper that
records its pid, runs the job's command with CUDA_VISIBLE_DEVICES set to that node's GPU
indices, and records the exit code. The wrapper lives in its own session, so it survives a
crash of the control plane; after a restart `reconcile` adopts it by pid (checked against the
process start time, so a reused pid is not mistaken for it) or reads its exit code.

Files, under `<root>/jobs/<job id>/`: `launch.json` (deadline), `script.sh` (a batch script),
and per node rank k: `k.out`, `k.err`, `k.pid`, `k.rc`. A job launched again after a
preemption finds its earlier run's files moved into `run-<n>/` there.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from gpufleet.db.records import CANCELLED, COMPLETED, FAILED, TIMEOUT
from gpufleet.engine.executor import Launch, Report

# The wrapper: $0 is the file prefix of this node rank, $1 the job's command line.
_WRAPPER = (
    'echo $$ > "$0.pid"; sh -c "$1"; rc=$?; echo $rc > "$0.rc.tmp"; mv "$0.rc.tmp" "$0.rc"; '
    "exit $rc"
)
KILL_GRACE_S = 5.0  # SIGTERM first, then SIGKILL after this long


@dataclass(slots=True)
class _Proc:
    pid: int
    started: str  # /proc start time, to tell the process from a later one with its pid
    prefix: Path
    popen: subprocess.Popen[bytes] | None = None  # None when adopted after a restart


@dataclass(slots=True)
class _Job:
    procs: list[_Proc]
    deadline: float | None
    ending: str | None = None  # TIMEOUT or CANCELLED once signalled
    kill_at: float | None = None
    codes: dict[int, int | None] = field(default_factory=dict)  # rank -> exit code


def _proc_start(pid: int) -> str | None:
    """The process start time from /proc (clock ticks since boot), None if gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return None if fields[0] == "Z" else fields[19]


class LocalExecutor:
    """Runs jobs as local subprocesses; see the module docstring."""

    name = "local"

    def __init__(self, root: Path, kill_grace: float = KILL_GRACE_S) -> None:
        self.root = root / "jobs"
        self.root.mkdir(parents=True, exist_ok=True)
        self.kill_grace = kill_grace
        self._jobs: dict[int, _Job] = {}

    def job_dir(self, job_id: int) -> Path:
        return self.root / str(job_id)

    def launch(self, launch: Launch) -> str:
        d = self.job_dir(launch.job_id)
        if launch.job_id in self._jobs:  # already runs here: never twice
            return _executor_id(self._jobs[launch.job_id].procs)
        if any(d.glob("*.pid")):
            xid = self._adopt(launch.job_id, "")
            job = self._jobs.get(launch.job_id)
            if job is not None and not all(self._ended(job, r) for r in range(len(job.procs))):
                # Launched before (a crash came between launch and its record): never twice.
                return xid
            # An earlier run that has ended (it was preempted): keep its files aside.
            self._jobs.pop(launch.job_id, None)
            _set_aside(d)
        d.mkdir(parents=True, exist_ok=True)
        if launch.script is not None:
            path = d / "script.sh"
            path.write_text(launch.script)
            command = f"sh {path}"
        elif launch.command is not None:
            command = launch.command
        else:
            raise ValueError(f"job {launch.job_id}: neither command nor script")
        deadline = time.time() + launch.time_limit if launch.time_limit is not None else None
        (d / "launch.json").write_text(json.dumps({"deadline": deadline}))
        procs: list[_Proc] = []
        n = len(launch.nodes)
        for rank, node in enumerate(launch.nodes):
            env = dict(os.environ)
            env.update(launch.env)
            env.update(
                CUDA_VISIBLE_DEVICES=",".join(str(g) for g in node.gpus),
                GPUFLEET_JOB_ID=str(launch.job_id),
                GPUFLEET_NODE=node.node,
                GPUFLEET_NODE_RANK=str(rank),
                GPUFLEET_NUM_NODES=str(n),
                GPUFLEET_NODES=",".join(x.node for x in launch.nodes),
            )
            prefix = d / str(rank)
            with open(f"{prefix}.out", "wb") as out, open(f"{prefix}.err", "wb") as err:
                p = subprocess.Popen(
                    ["sh", "-c", _WRAPPER, str(prefix), command],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    env=env,
                    cwd=d,
                    start_new_session=True,
                )
            procs.append(_Proc(p.pid, _proc_start(p.pid) or "", prefix, p))
        self._jobs[launch.job_id] = _Job(procs, deadline)
        return _executor_id(procs)

    def cancel(self, job_id: int) -> None:
        job = self._jobs.get(job_id)
        if job is None or job.ending == CANCELLED:
            return
        job.ending = CANCELLED
        self._signal(job, signal.SIGTERM)
        job.kill_at = time.time() + self.kill_grace

    def poll(self) -> list[Report]:
        now = time.time()
        out: list[Report] = []
        for job_id, job in list(self._jobs.items()):
            if job.ending is None and job.deadline is not None and now >= job.deadline:
                job.ending = TIMEOUT
                self._signal(job, signal.SIGTERM)
                job.kill_at = now + self.kill_grace
            elif job.kill_at is not None and now >= job.kill_at:
                self._signal(job, signal.SIGKILL)
                job.kill_at = None
            if all(self._ended(job, rank) for rank in range(len(job.procs))):
                del self._jobs[job_id]
                out.append(self._report(job_id, job))
        return out

    def reconcile(self, running: dict[int, str]) -> list[Report]:
        out: list[Report] = []
        for job_id, xid in running.items():
            if job_id in self._jobs:
                continue
            self._adopt(job_id, xid)
            if job_id not in self._jobs:
                out.append(Report(job_id, FAILED, None, "lost at launch: no process was recorded"))
        return out + [r for r in self.poll() if r.job_id in running]

    # -- internals --------------------------------------------------------------------------
    def _adopt(self, job_id: int, xid: str) -> str:
        """Track the processes of a job launched by an earlier run of the control plane."""
        d = self.job_dir(job_id)
        procs: list[_Proc] = []
        if xid:
            for rank, part in enumerate(xid.split(",")):
                pid_text, _, started = part.partition("@")
                procs.append(_Proc(int(pid_text), started, d / str(rank)))
        else:
            for rank in range(len(list(d.glob("*.pid")))):
                prefix = d / str(rank)
                try:
                    pid = int(Path(f"{prefix}.pid").read_text())
                except (OSError, ValueError):
                    continue
                procs.append(_Proc(pid, _proc_start(pid) or "", prefix))
        if not procs:
            return ""
        deadline: float | None = None
        with contextlib.suppress(OSError, ValueError, KeyError):
            deadline = json.loads((d / "launch.json").read_text())["deadline"]
        self._jobs[job_id] = _Job(procs, deadline)
        return _executor_id(procs)

    def _ended(self, job: _Job, rank: int) -> bool:
        if rank in job.codes:
            return True
        p = job.procs[rank]
        if p.popen is not None:
            code = p.popen.poll()
            if code is None:
                return False
            job.codes[rank] = code
            return True
        if _proc_start(p.pid) == p.started and p.started:
            return False
        try:
            job.codes[rank] = int(Path(f"{p.prefix}.rc").read_text())
        except (OSError, ValueError):
            job.codes[rank] = None  # the wrapper itself was killed
        return True

    def _signal(self, job: _Job, sig: signal.Signals) -> None:
        for p in job.procs:
            if p.popen is None and _proc_start(p.pid) != p.started:
                continue  # adopted and gone: the pid may belong to someone else now
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(p.pid, sig)

    def _report(self, job_id: int, job: _Job) -> Report:
        codes = [job.codes.get(r) for r in range(len(job.procs))]
        bad = [c for c in codes if c != 0]
        code = bad[0] if bad else 0
        if job.ending is not None:
            return Report(job_id, job.ending, code, f"{job.ending}; exit codes {codes}")
        if not bad:
            return Report(job_id, COMPLETED, 0)
        return Report(job_id, FAILED, code, f"exit codes {codes}")


def _set_aside(d: Path) -> None:
    """Move an ended run's files into `d/run-<n>/` (n = 1, 2, ...) before the next run."""
    n = 1
    while (d / f"run-{n}").exists():
        n += 1
    dest = d / f"run-{n}"
    dest.mkdir()
    for f in d.iterdir():
        if f.is_file():
            f.rename(dest / f.name)


def _executor_id(procs: list[_Proc]) -> str:
    return ",".join(f"{p.pid}@{p.started}" for p in procs)
