"""The Slurm executor: runs gpufleet jobs as Slurm batch jobs through Slurm's command-line tools.

gpufleet decides; Slurm runs. `launch` writes a batch script and submits it with `sbatch`;
`poll` asks `squeue` which of our jobs left the queue and reads how they ended from `sacct`
(accounting storage, else the job completion log), else from `scontrol show job`: slurmctld
keeps a finished job in memory for MinJobAge seconds (300 by default), which polling every few
seconds never outruns. The parsers of Slurm's outputs are pure functions at the bottom.

Every Slurm job we submit is named `gpufleet-<id>` and carries `gpufleet:<id>` as its comment,
so a job is recognised after a restart and a reused Slurm id (slurmctld lost its state) is not
mistaken for ours.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gpufleet.engine.executor import Launch, Report
from gpufleet.errors import ConfigError, ExecutorError

__all__ = [
    "ACTIVE_STATES",
    "FINAL_STATES",
    "Final",
    "QueueRow",
    "SlurmCommandError",
    "SlurmExecutor",
    "parse_exit_code",
    "parse_sacct",
    "parse_sbatch",
    "parse_scontrol_job",
    "parse_squeue",
]

log = logging.getLogger(__name__)

# Slurm job states (squeue(1) "JOB STATE CODES") in which a job still holds or will hold its
# allocation. SPECIAL_EXIT is a held requeue, so it counts as waiting, not as ended.
ACTIVE_STATES = frozenset(
    {
        "PENDING",
        "CONFIGURING",
        "RUNNING",
        "COMPLETING",
        "SUSPENDED",
        "STOPPED",
        "SIGNALING",
        "STAGE_OUT",
        "RESIZING",
        "REQUEUED",
        "REQUEUE_FED",
        "REQUEUE_HOLD",
        "RESV_DEL_HOLD",
        "SPECIAL_EXIT",
    }
)
# Final Slurm states and the gpufleet state each one means.
FINAL_STATES: Mapping[str, str] = {
    "COMPLETED": "completed",
    "FAILED": "failed",
    "NODE_FAIL": "failed",
    "BOOT_FAIL": "failed",
    "OUT_OF_MEMORY": "failed",
    "CANCELLED": "cancelled",
    "PREEMPTED": "cancelled",
    "REVOKED": "cancelled",
    "TIMEOUT": "timeout",
    "DEADLINE": "timeout",
}
# What a service passes on to Slurm's commands (and so to jobs) from its own environment; the
# rest (database URLs, tokens) stays out of jobs.
_PASS_ENV = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TMPDIR")
_CHUNK = 500  # job ids per squeue/sacct call, to keep command lines short


class SlurmCommandError(ExecutorError):
    """A Slurm command failed, timed out or is missing; the message has the command and stderr."""

    def __init__(self, command: Sequence[str], problem: str, stderr: str = "") -> None:
        self.command = tuple(command)
        self.stderr = stderr.strip()
        text = f"{' '.join(self.command)}: {problem}"
        super().__init__(f"{text}: {self.stderr}" if self.stderr else text)


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One job as squeue shows it."""

    slurm_id: str
    state: str
    name: str


@dataclass(frozen=True, slots=True)
class Final:
    """How a Slurm job ended: its Slurm state, exit status and signal, and Slurm's reason."""

    state: str
    exit_status: int | None = None
    signal: int | None = None
    reason: str = ""

    def report(self, job_id: int, slurm_id: str) -> Report:
        """The gpufleet report; a job killed by a signal gets exit code 128 + signal, as in sh."""
        code = self.exit_status
        if self.signal:
            code = 128 + self.signal
        detail = f"slurm job {slurm_id}: {self.state}"
        if self.exit_status is not None:
            detail += f", ExitCode={self.exit_status}:{self.signal or 0}"
        if self.reason and self.reason not in ("None", "(null)"):
            detail += f", reason {self.reason}"
        return Report(job_id, FINAL_STATES.get(self.state, "failed"), code, detail)


class SlurmExecutor:
    """Runs jobs with sbatch/squeue/scancel/sacct/scontrol on one Slurm cluster.

    partition   the Slurm partition (None: the cluster's default partition)
    account_map tenant -> Slurm account; when given, a tenant missing from it is a ConfigError
    gres_name   the GRES name of GPUs in the site's gres.conf
    binaries    directory of the Slurm commands (None: found on PATH)
    env         extra environment for the commands, e.g. {"SLURM_CONF": "/etc/slurm/x.conf"}
    output_dir  where batch scripts and job output (`gpufleet-<id>.out`) go; must be writable
                on the batch host, so a shared file system on multi-node sites
    node_map    gpufleet node name -> Slurm node name; when given, jobs are pinned with --nodelist
    extra_args  more sbatch options for every job (--qos, --constraint, ...)
    timeout     seconds each command may take
    sacct       read final states with sacct when the site has accounting or a completion log
    """

    name = "slurm"

    def __init__(
        self,
        partition: str | None = None,
        account_map: Mapping[str, str] | None = None,
        gres_name: str = "gpu",
        binaries: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        output_dir: str | Path | None = None,
        node_map: Mapping[str, str] | None = None,
        extra_args: Sequence[str] = (),
        timeout: float = 30.0,
        sacct: bool = True,
    ) -> None:
        self.partition = partition
        self.account_map = dict(account_map or {})
        self.gres_name = gres_name
        self.binaries = Path(binaries) if binaries is not None else None
        self.env = {k: os.environ[k] for k in _PASS_ENV if k in os.environ} | dict(env or {})
        default_out = Path(self.env.get("TMPDIR", "/tmp")) / "gpufleet-slurm"
        self.output_dir = Path(output_dir) if output_dir is not None else default_out
        self.node_map = dict(node_map or {})
        self.extra_args = tuple(extra_args)
        self.timeout = timeout
        self._active: dict[int, str] = {}  # job id -> Slurm id, of jobs not yet reported
        # sacct's source: [] accounting storage, ["--completion"] the job completion log,
        # None neither (only scontrol); found out on first use
        self._sacct_source: list[str] | None = [] if sacct else None

    @property
    def final_source(self) -> str:
        """Where final states come from: "sacct", "sacct --completion" or "scontrol"."""
        if self._sacct_source is None:
            return "scontrol"
        return " ".join(["sacct", *self._sacct_source])

    # -- the Executor protocol ---------------------------------------------------------------
    def launch(self, launch: Launch) -> str:
        """Write the job's batch script and submit it; return the Slurm job id."""
        self.output_dir.mkdir(parents=True, exist_ok=True)
        script = self.output_dir / f"gpufleet-{launch.job_id}.sbatch"
        script.write_text(batch_script(launch))
        env = self.env | dict(launch.env)
        env |= {
            "GPUFLEET_JOB_ID": str(launch.job_id),
            "GPUFLEET_TENANT": launch.tenant,
            "GPUFLEET_SITE": launch.site,
            "GPUFLEET_CLUSTER": launch.cluster,
        }
        out = self._run("sbatch", [*self.sbatch_args(launch), str(script)], env=env)
        slurm_id = parse_sbatch(out)
        self._active[launch.job_id] = slurm_id
        log.info("job %d submitted as slurm job %s", launch.job_id, slurm_id)
        return slurm_id

    def cancel(self, job_id: int) -> None:
        """scancel the job's Slurm job; a job not known here or already ended is left alone.

        The report comes from the next `poll`, with the state Slurm gives (CANCELLED, or
        COMPLETED when the job ended first)."""
        slurm_id = self._active.get(job_id)
        if slurm_id is not None:
            self._run("scancel", [slurm_id])

    def poll(self) -> list[Report]:
        """Jobs that left Slurm's queue since the last poll, each reported once."""
        reports, _ = self._check(self._active)
        for r in reports:
            del self._active[r.job_id]
        return reports

    def reconcile(self, running: dict[int, str]) -> list[Report]:
        """Adopt the jobs of `running` that Slurm still runs or queues; report the others.

        An empty Slurm id (a crash came between sbatch and its record) is looked up by the
        job's name. A job not found, or whose Slurm id now names another job, is reported
        failed: its outcome is lost (no accounting storage, or slurmctld lost its state)."""
        found = self.find([jid for jid, sid in running.items() if not sid])
        known = {jid: sid or found[jid] for jid, sid in running.items() if sid or jid in found}
        reports, alive = self._check(known)
        for jid in sorted(running.keys() - known.keys()):
            lost = f"no slurm job named gpufleet-{jid}: its launch was not recorded; outcome lost"
            reports.append(Report(jid, "failed", None, lost))
        self._active.update(alive)
        return sorted(reports, key=lambda r: r.job_id)

    # -- what gpufleet passes to sbatch --------------------------------------------------------
    def sbatch_args(self, launch: Launch) -> list[str]:
        """sbatch options for a launch (without the script path)."""
        args = [
            "--parsable",
            f"--job-name=gpufleet-{launch.job_id}",
            f"--comment=gpufleet:{launch.job_id}",
            f"--output={self.output_path(launch.job_id)}",
            f"--nodes={max(1, len(launch.nodes))}",
        ]
        if self.partition:
            args.append(f"--partition={self.partition}")
        if self.account_map:
            if launch.tenant not in self.account_map:
                raise ConfigError(
                    f"job {launch.job_id}: tenant {launch.tenant!r} has no Slurm account "
                    f"in the account map of site {launch.site!r}"
                )
            args.append(f"--account={self.account_map[launch.tenant]}")
        counts = {len(n.gpus) for n in launch.nodes}
        if len(counts) == 1 and (per_node := counts.pop()) > 0:
            args.append(f"--gres={self.gres_name}:{per_node}")
        elif len(counts) > 1:
            # --gres asks the same of every node; an uneven split asks for the job's total
            name, _, kind = self.gres_name.partition(":")
            if name != "gpu":
                raise ConfigError(
                    f"job {launch.job_id}: GPUs split unevenly over nodes need gres_name "
                    f"'gpu' or 'gpu:<type>' (--gpus), not {self.gres_name!r}"
                )
            total = sum(len(n.gpus) for n in launch.nodes)
            args.append(f"--gpus={kind}:{total}" if kind else f"--gpus={total}")
        if launch.time_limit is not None:
            args.append(f"--time={max(1, math.ceil(launch.time_limit / 60))}")
        if self.node_map:
            missing = [n.node for n in launch.nodes if n.node not in self.node_map]
            if missing:
                raise ConfigError(f"job {launch.job_id}: node map lacks {', '.join(missing)}")
            args.append("--nodelist=" + ",".join(self.node_map[n.node] for n in launch.nodes))
        return args + list(self.extra_args)

    def output_path(self, job_id: int) -> Path:
        """The file the job's stdout and stderr go to."""
        return self.output_dir / f"gpufleet-{job_id}.out"

    # -- how jobs are checked ------------------------------------------------------------------
    def _check(self, jobs: Mapping[int, str]) -> tuple[list[Report], dict[int, str]]:
        """Of `jobs` (job id -> Slurm id): reports of those that ended, and those alive.

        squeue tells which left the queue; the final state comes from sacct, else from
        scontrol while slurmctld still holds the job. A job neither knows is lost."""
        if not jobs:
            return [], {}
        rows = self.squeue(jobs.values())
        alive: dict[int, str] = {}
        gone: dict[int, str] = {}
        for jid, sid in sorted(jobs.items()):
            row = rows.get(sid)
            if row is None or row.name != f"gpufleet-{jid}" or row.state in FINAL_STATES:
                gone[jid] = sid
                continue
            if row.state not in ACTIVE_STATES:
                log.warning("slurm job %s: unknown state %s, taken as alive", sid, row.state)
            alive[jid] = sid
        finals = self.sacct(gone) if gone else {}
        reports: list[Report] = []
        for jid, sid in gone.items():
            final = finals.get(jid)
            if final is None and sid in rows:
                final = self.scontrol_final(sid, jid)
                if final is not None and final.state not in FINAL_STATES:
                    alive[jid] = sid  # requeued between squeue and scontrol
                    continue
            if final is None:
                lost = f"slurm job {sid} is unknown to Slurm or no longer job {jid}; outcome lost"
                reports.append(Report(jid, "failed", None, lost))
            else:
                reports.append(final.report(jid, sid))
        return reports, alive

    def squeue(self, slurm_ids: Iterable[str]) -> dict[str, QueueRow]:
        """Slurm id -> row, for those of `slurm_ids` slurmctld still holds (in any state)."""
        rows: dict[str, QueueRow] = {}
        for chunk in _chunks(sorted(set(slurm_ids))):
            args = ["--noheader", "--states=all", f"--jobs={','.join(chunk)}", "--format=%i|%T|%j"]
            out = self._run("squeue", args, missing_ok=True)
            rows.update(parse_squeue(out))
        return rows

    def find(self, job_ids: Sequence[int]) -> dict[int, str]:
        """Job id -> Slurm id of the jobs named `gpufleet-<id>` that slurmctld holds (the
        newest when there are several)."""
        wanted = {f"gpufleet-{jid}": jid for jid in job_ids}
        found: dict[int, str] = {}
        for chunk in _chunks(sorted(wanted)):
            args = ["--noheader", "--states=all", f"--name={','.join(chunk)}", "--format=%i|%T|%j"]
            for row in parse_squeue(self._run("squeue", args)).values():
                jid = wanted.get(row.name)
                if jid is not None and _newer(row.slurm_id, found.get(jid)):
                    found[jid] = row.slurm_id
        return found

    def sacct(self, jobs: Mapping[int, str]) -> dict[int, Final]:
        """Job id -> how it ended, from sacct: accounting storage (slurmdbd), else the job
        completion log (`sacct --completion`, JobCompType=jobcomp/filetxt, Slurm before 23.02).
        Empty when the site has neither, or when accounting lags behind slurmctld."""
        by_name = {(sid, f"gpufleet-{jid}"): jid for jid, sid in jobs.items()}
        finals: dict[int, Final] = {}
        for chunk in _chunks(sorted(set(jobs.values()))):
            out = self._sacct_run(chunk)
            if out is None:
                return finals
            for sid, (name, final) in parse_sacct(out).items():
                jid = by_name.get((sid, name))
                if jid is not None and final.state in FINAL_STATES:
                    finals[jid] = final
        return finals

    def _sacct_run(self, chunk: Sequence[str]) -> str | None:
        args = ["--noheader", "--parsable2", "--allocations", f"--jobs={','.join(chunk)}"]
        args.append("--format=JobIDRaw,JobName,State,ExitCode,Reason")
        while self._sacct_source is not None:
            try:
                return self._run("sacct", self._sacct_source + args)
            except SlurmCommandError as e:
                if self._sacct_source:  # the completion log is absent or unsupported
                    log.info("no job completion log either, using scontrol: %s", e)
                    self._sacct_source = None
                elif "accounting storage is disabled" in e.stderr.lower():
                    self._sacct_source = ["--completion"]
                else:  # slurmdbd down or slow: try again at the next poll
                    log.warning("sacct failed, using scontrol this time: %s", e)
                    return None
        return None

    def scontrol_final(self, slurm_id: str, job_id: int) -> Final | None:
        """The final state of a job slurmctld still holds in memory; None if it does not."""
        out = self._run("scontrol", ["--oneliner", "show", "job", slurm_id], missing_ok=True)
        fields = parse_scontrol_job(out)
        if fields.get("JobName") != f"gpufleet-{job_id}" or "JobState" not in fields:
            return None
        status, signal = parse_exit_code(fields.get("ExitCode", ""))
        return Final(fields["JobState"], status, signal, fields.get("Reason", ""))

    def _run(
        self,
        tool: str,
        args: list[str],
        env: Mapping[str, str] | None = None,
        missing_ok: bool = False,
    ) -> str:
        """Run one Slurm command; its stdout. `missing_ok`: "Invalid job id" gives ""."""
        env = dict(env if env is not None else self.env)
        if self.binaries is not None:
            exe = str(self.binaries / tool)
        else:
            exe = shutil.which(tool, path=env.get("PATH")) or tool
        cmd = [exe, *args]
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, env=env, timeout=self.timeout, check=False
            )
        except FileNotFoundError as e:
            raise SlurmCommandError(cmd, f"{tool} not found; install Slurm's client tools") from e
        except subprocess.TimeoutExpired as e:
            err = e.stderr  # bytes even with text=True, or None
            stderr = err.decode(errors="replace") if isinstance(err, bytes) else (err or "")
            raise SlurmCommandError(cmd, f"no answer in {self.timeout:g} s", stderr) from e
        if done.returncode != 0:
            if missing_ok and "invalid job id" in done.stderr.lower():
                return ""
            raise SlurmCommandError(cmd, f"exit code {done.returncode}", done.stderr)
        return done.stdout


def batch_script(launch: Launch) -> str:
    """The job's own sbatch script, or a script that runs its command with /bin/sh."""
    if launch.script is not None:
        return launch.script if launch.script.endswith("\n") else launch.script + "\n"
    if launch.command is None:
        raise ConfigError(f"job {launch.job_id}: neither a command nor a script to run")
    return f"#!/bin/sh\n# gpufleet job {launch.job_id}\n{launch.command}\n"


def _newer(slurm_id: str, than: str | None) -> bool:
    if than is None:
        return True
    key = [(len(s), s) for s in (slurm_id, than)]  # numeric order of digit strings
    return key[0] > key[1]


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


# -- parsers of Slurm's outputs ----------------------------------------------------------------
def parse_sbatch(out: str) -> str:
    """The job id from `sbatch --parsable`: `<id>` or `<id>;<cluster>` on the last line."""
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    head = lines[-1].split(";", 1)[0] if lines else ""
    if not head.isdigit():
        raise ExecutorError(f"sbatch --parsable printed no job id: {out.strip()!r}")
    return head


def parse_squeue(out: str) -> dict[str, QueueRow]:
    """Rows of `squeue --noheader --format=%i|%T|%j`; the name may itself contain `|`.

    A job array's element shows as `<array id>_<index>`; its id is kept as printed."""
    rows: dict[str, QueueRow] = {}
    for line in out.splitlines():
        parts = line.strip().split("|", 2)
        if len(parts) != 3 or not parts[0]:
            continue
        sid, state, name = parts
        # "CANCELLED by 0" in some versions; state flags such as "+" are not part of the state
        rows[sid] = QueueRow(sid, _state_word(state), name)
    return rows


def parse_sacct(out: str) -> dict[str, tuple[str, Final]]:
    """Slurm id -> (job name, final) from `sacct --parsable2 --noheader --allocations
    --format=JobIDRaw,JobName,State,ExitCode,Reason`. Steps (`123.batch`) are skipped; when a
    job appears twice (requeued), the last line wins."""
    jobs: dict[str, tuple[str, Final]] = {}
    for line in out.splitlines():
        parts = line.strip().split("|")
        if len(parts) < 4 or not parts[0] or "." in parts[0]:
            continue
        sid, name, state, code = parts[:4]
        reason = parts[4] if len(parts) > 4 else ""
        status, signal = parse_exit_code(code)
        jobs[sid] = (name, Final(_state_word(state), status, signal, reason))
    return jobs


_KEY = re.compile(r"(?:^|\s)([A-Za-z][\w:/]*)=")


def parse_scontrol_job(out: str) -> dict[str, str]:
    """Key=value fields of `scontrol --oneliner show job <id>` (of the first job printed).

    Values may hold spaces (Command, Comment), so a value runs up to the next ` Key=`."""
    line = next((ln for ln in out.splitlines() if ln.strip()), "")
    keys = list(_KEY.finditer(line))
    ends = [m.start() for m in keys[1:]] + [len(line)] if keys else []
    fields: dict[str, str] = {}
    for m, end in zip(keys, ends, strict=True):
        fields.setdefault(m.group(1), line[m.end() : end].strip())
    return fields


def parse_exit_code(text: str) -> tuple[int | None, int | None]:
    """Slurm's `<exit status>:<signal>` (ExitCode of scontrol and sacct); (None, None) if
    absent or malformed."""
    status, sep, signal = text.strip().partition(":")
    if not sep or not status.isdigit() or not signal.isdigit():
        return None, None
    return int(status), int(signal)


def _state_word(state: str) -> str:
    return state.strip().split(" ", 1)[0].rstrip("+").upper()
