"""The Slurm executor against real daemons: munged, slurmctld and slurmd, started here as root.

The module fixture `slurm_cluster` writes slurm.conf, gres.conf and cgroup.conf for one node
(this host, its CPUs, 8 GPUs declared as GRES on placeholder device files) into a fresh
directory, starts the three daemons in the foreground on free ports with their own munge
socket, waits until sinfo shows the node idle, and stops them at the end. It needs Debian's
`slurm-wlm` and `munge` packages and root. Without them these tests skip, except when
CI=true: CI installs the packages, so there a missing Slurm is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gpufleet.engine.executor import Launch, NodeGpus, Report
from gpufleet.engine.slurm import SlurmCommandError, SlurmExecutor, parse_scontrol_job

TOOLS = ("slurmctld", "slurmd", "munged", "sbatch", "squeue", "scontrol", "scancel", "sacct")
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
GPUS = 8
PARTITION = "gpufleet"
START_TIMEOUT = 30.0
SLOW = os.environ.get("CI") == "true" or os.environ.get("GPUFLEET_SLURM_SLOW") == "1"


def require_slurm(search_path: str = SEARCH_PATH) -> None:
    """Skip when Slurm's programs or root are missing; fail instead under CI=true."""
    reason = None
    for tool in TOOLS:
        if shutil.which(tool, path=search_path) is None:
            reason = f"{tool} not found: apt-get install slurm-wlm munge"
            break
    else:
        if os.geteuid() != 0:
            reason = "the test Slurm runs slurmctld, slurmd and munged as root: run as root"
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the Slurm tests must run)", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SlurmCluster:
    """A running single-node Slurm: its directory, config file and node."""

    root: Path
    node: str
    gpu_devices: bool  # placeholders are character devices, so Slurm sets CUDA_VISIBLE_DEVICES
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def conf(self) -> Path:
        return self.root / "slurm.conf"

    @property
    def env(self) -> dict[str, str]:
        return {"SLURM_CONF": str(self.conf), "PATH": SEARCH_PATH}

    def executor(self, **kw: Any) -> SlurmExecutor:
        return SlurmExecutor(
            partition=PARTITION, env=self.env, output_dir=self.root / "out", timeout=20, **kw
        )

    def run(self, *cmd: str) -> str:
        env = os.environ | self.env
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=20)
        return done.stdout

    def logs(self) -> str:
        out = []
        for path in sorted((self.root / "log").glob("*")):
            tail = path.read_text(errors="replace").splitlines()[-15:]
            out.append(f"--- {path.name}\n" + "\n".join(tail))
        return "\n".join(out)

    # -- start and stop ------------------------------------------------------------------------
    def write_config(self) -> None:
        r = self.root
        for d in ("munge", "state", "spool", "log", "out", "dev"):
            (r / d).mkdir()
        r.chmod(0o755)  # munged wants its socket directory searchable by all
        (r / "munge").chmod(0o755)
        key = r / "munge" / "munge.key"
        key.write_bytes(os.urandom(128))
        key.chmod(0o600)
        for i in range(GPUS):
            gpu = r / "dev" / f"gpu{i}"
            try:  # a character device like /dev/null (1:3): Slurm only sets the GPU
                # variables for devices it can stat as one; nothing opens them
                os.mknod(gpu, stat.S_IFCHR | 0o666, os.makedev(1, 3))
            except OSError:
                gpu.touch()
                self.gpu_devices = False
        # Tests run a few jobs at once, some waiting on a flag file: declare at least 4 CPUs
        # (config_overrides lets slurmd take the declared count), or on one core (taskset,
        # a 1-CPU machine) a waiting job would hold the node and the next stay pending.
        cpus = max(4, len(os.sched_getaffinity(0)))
        (r / "slurm.conf").write_text(
            f"""\
ClusterName=gpufleet
SlurmctldHost={self.node}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={r}/munge/socket
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SlurmdParameters=config_overrides
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={r}/jobcomp.txt
KillWait=2
MailProg=/bin/true
NodeName={self.node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=1000 Gres=gpu:{GPUS} State=UNKNOWN
PartitionName={PARTITION} Nodes={self.node} Default=YES MaxTime=INFINITE State=UP
"""
        )
        (r / "gres.conf").write_text(
            f"AutoDetect=off\nNodeName={self.node} Name=gpu File={r}/dev/gpu[0-{GPUS - 1}]\n"
        )
        (r / "cgroup.conf").write_text("CgroupPlugin=autodetect\n")

    def start(self) -> None:
        r = self.root
        m = r / "munge"
        self._spawn(
            "munged",
            "-F",
            f"--key-file={m}/munge.key",
            f"--socket={m}/socket",
            f"--pid-file={m}/munged.pid",
            f"--log-file={r}/log/munged.log",
            f"--seed-file={m}/munged.seed",
        )
        self._wait(lambda: (m / "socket").exists(), "munged socket")
        self._spawn("slurmctld", "-D", "-f", str(self.conf))
        self._spawn("slurmd", "-D", "-f", str(self.conf), "-N", self.node)
        sinfo = ("sinfo", "--noheader", "--Node", f"--nodes={self.node}", "--format=%t")
        self._wait(lambda: self.run(*sinfo).strip() == "idle", f"node {self.node} idle")

    def stop(self) -> None:
        if "slurmctld" in self.procs and self.procs["slurmctld"].poll() is None:
            self.run("scancel", f"--partition={PARTITION}")
            active = ("squeue", "--noheader", "--format=%i")
            self._wait(lambda: not self.run(*active).strip(), "jobs gone", fail=False)
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.procs.get(name)
            if proc is None:
                continue
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def _spawn(self, tool: str, *args: str) -> None:
        exe = shutil.which(tool, path=SEARCH_PATH)
        assert exe is not None
        with open(self.root / "log" / f"{tool}.out", "wb") as out:
            self.procs[tool] = subprocess.Popen(
                [exe, *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=os.environ | self.env,
                start_new_session=True,
            )

    def _wait(self, ready: Any, what: str, fail: bool = True) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if ready():
                return
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            if dead and fail:
                break
            time.sleep(0.2)
        if fail:
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            raise RuntimeError(f"test Slurm: no {what}; exited: {dead}\n{self.logs()}")


@pytest.fixture(scope="module")
def slurm_cluster() -> Iterator[SlurmCluster]:
    require_slurm()
    cluster = SlurmCluster(
        Path(tempfile.mkdtemp(prefix="gpufleet-slurm-")), socket.gethostname().split(".")[0], True
    )
    try:
        cluster.write_config()
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)


@pytest.fixture
def slurm(slurm_cluster: SlurmCluster) -> Iterator[SlurmCluster]:
    """The module's Slurm; jobs a test leaves behind are cancelled so they hold no CPU."""
    yield slurm_cluster
    slurm_cluster.run("scancel", f"--partition={PARTITION}")


# -- helpers -----------------------------------------------------------------------------------
def job(job_id: int, command: str, gpus: int = 1, **kw: Any) -> Launch:
    nodes = (NodeGpus("c-0000", tuple(range(gpus))),)
    kw.setdefault("time_limit", 300.0)
    return Launch(job_id, "tenant-a", "site", "c", nodes, command=command, **kw)


def wait_reports(ex: SlurmExecutor, n: int, timeout: float = 30.0) -> list[Report]:
    """Poll until `n` reports came (all of them, duplicates included), then twice more."""
    reports: list[Report] = []
    deadline = time.monotonic() + timeout
    while len(reports) < n and time.monotonic() < deadline:
        reports += ex.poll()
        time.sleep(0.2)
    reports += ex.poll() + ex.poll()
    return sorted(reports, key=lambda r: r.job_id)


def wait_state(slurm: SlurmCluster, slurm_id: str, state: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    now = ""
    while time.monotonic() < deadline:
        now = slurm.run("squeue", "--noheader", "--states=all", f"--jobs={slurm_id}", "--format=%T")
        if now.strip() == state:
            return
        time.sleep(0.2)
    raise AssertionError(f"slurm job {slurm_id} is {now.strip()!r}, not {state}")


# -- the tests -----------------------------------------------------------------------------------
def test_missing_slurm_skips_except_under_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    message = "slurmctld not found: apt-get install slurm-wlm munge"
    with pytest.raises(pytest.skip.Exception, match=message):
        require_slurm(search_path=str(tmp_path))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=message):
        require_slurm(search_path=str(tmp_path))


def test_gpu_job_runs_with_what_gpufleet_asked(slurm: SlurmCluster) -> None:
    ex = slurm.executor(account_map={"tenant-a": "acct-a"})
    echo = (
        'echo "CVD=${CUDA_VISIBLE_DEVICES-unset} JOB_GPUS=${SLURM_JOB_GPUS-unset}'
        ' ON_NODE=$SLURM_GPUS_ON_NODE JOB=$GPUFLEET_JOB_ID FOO=$FOO"'
    )
    sid = ex.launch(job(101, echo, gpus=2, time_limit=90, env=(("FOO", "a b,c"),)))
    fields = parse_scontrol_job(slurm.run("scontrol", "--oneliner", "show", "job", sid))
    assert fields["JobName"] == "gpufleet-101"
    assert fields["Comment"] == "gpufleet:101"
    assert fields["Account"] == "acct-a"
    assert fields["Partition"] == PARTITION
    assert fields["TimeLimit"] == "00:02:00"  # 90 s, rounded up to whole minutes
    assert "gpu:2" in fields["TresPerNode"]
    assert fields["NumNodes"] in ("1", "1-1")  # "1-1" (min-max) while pending

    [report] = wait_reports(ex, 1)
    assert (report.job_id, report.state, report.exit_code) == (101, "completed", 0)
    assert report.detail.startswith(f"slurm job {sid}: COMPLETED")
    out = ex.output_path(101).read_text()
    if slurm.gpu_devices:
        assert "CVD=0,1 JOB_GPUS=0,1 " in out
    else:  # empty placeholder files: Slurm allocates the GPUs but names no devices
        assert "CVD=unset JOB_GPUS=unset " in out
    assert "ON_NODE=2 JOB=101 FOO=a b,c" in out
    assert ex.final_source == "sacct --completion"  # jobcomp/filetxt, no slurmdbd


def test_failing_command_is_failed_with_its_exit_code(slurm: SlurmCluster) -> None:
    ex = slurm.executor()
    ex.launch(job(102, "echo failing; exit 7"))
    [report] = wait_reports(ex, 1)
    assert (report.job_id, report.state, report.exit_code) == (102, "failed", 7)
    assert ex.output_path(102).read_text() == "failing\n"


def test_without_sacct_the_state_comes_from_scontrol(slurm: SlurmCluster) -> None:
    ex = slurm.executor(sacct=False)
    sid = ex.launch(job(103, "exit 2"))
    [report] = wait_reports(ex, 1)
    assert report == Report(
        103, "failed", 2, f"slurm job {sid}: FAILED, ExitCode=2:0, reason NonZeroExitCode"
    )
    assert ex.final_source == "scontrol"


def test_cancel_running_job(slurm: SlurmCluster) -> None:
    ex = slurm.executor()
    sid = ex.launch(job(104, "sleep 300"))
    wait_state(slurm, sid, "RUNNING")
    ex.cancel(104)
    [report] = wait_reports(ex, 1)
    assert (report.job_id, report.state) == (104, "cancelled")
    ex.cancel(104)  # ended and reported: not an error
    ex.cancel(999)  # never known here: not an error
    assert ex.poll() == []


def test_reconcile_after_restart_adopts_running_jobs(slurm: SlurmCluster, tmp_path: Path) -> None:
    flag = tmp_path / "go"
    wait_flag = f"while [ ! -e {flag} ]; do sleep 0.2; done; echo done"
    before = slurm.executor()
    running = before.launch(job(105, wait_flag))
    ended = before.launch(job(106, "exit 0"))
    before.launch(job(109, wait_flag))  # its Slurm id is "not recorded" below
    wait_state(slurm, running, "RUNNING")
    wait_state(slurm, ended, "COMPLETED")

    after = slurm.executor()  # the control plane restarted: a new executor, nothing in memory
    reports = after.reconcile(
        {105: running, 106: ended, 107: "999999", 108: ended, 109: "", 110: ""}
    )
    assert [(r.job_id, r.state, r.exit_code) for r in reports] == [
        (106, "completed", 0),
        (107, "failed", None),  # Slurm never had it
        (108, "failed", None),  # the Slurm id is another job (gpufleet-106)
        (110, "failed", None),  # no Slurm id recorded, and no job of that name
    ]
    assert all("outcome lost" in r.detail for r in reports[1:])
    assert after.poll() == []  # 105 and 109 (found by name) are adopted and still running
    flag.touch()
    assert [(r.job_id, r.state, r.exit_code) for r in wait_reports(after, 2)] == [
        (105, "completed", 0),
        (109, "completed", 0),
    ]
    assert after.output_path(105).read_text() == "done\n"


def test_poll_reports_each_job_exactly_once(slurm: SlurmCluster) -> None:
    ex = slurm.executor()
    for k in range(4):
        ex.launch(job(110 + k, f"sleep 0.{k}; exit {k}"))
    reports = wait_reports(ex, 4)
    assert [(r.job_id, r.exit_code) for r in reports] == [(110 + k, k) for k in range(4)]
    assert [r.state for r in reports] == ["completed", "failed", "failed", "failed"]
    assert ex.poll() == []


def test_sbatch_refusal_is_an_executor_error(slurm: SlurmCluster) -> None:
    ex = SlurmExecutor(partition="nosuch", env=slurm.env, output_dir=slurm.root / "out")
    with pytest.raises(SlurmCommandError) as err:
        ex.launch(job(120, "true"))
    assert "sbatch" in str(err.value) and "invalid partition" in err.value.stderr.lower()
    assert ex.poll() == []


@pytest.mark.skipif(not SLOW, reason="GPUFLEET_SLURM_SLOW=1 (or CI=true): Slurm needs 60-90 s")
def test_job_past_its_time_limit_is_timeout(slurm: SlurmCluster) -> None:
    # Slurm's limits are whole minutes and slurmctld checks them every 30 s, so a 1-minute
    # limit ends the job 60 to 90 s after it started; the mapping alone is tested without Slurm.
    ex = slurm.executor()
    ex.launch(job(130, "sleep 300", time_limit=1))
    [report] = wait_reports(ex, 1, timeout=150)
    assert (report.job_id, report.state) == (130, "timeout")


ROUTED_FLEET = """
name: routed
sites:
  - id: lab
    owner: Lab
    kind: research_cloud
    region: Daejeon
    source: "[A] test"
    clusters:
      - {id: lab-h100, gpu_model: H100, gpus: 8, source: "[A] test"}
  - id: hpc
    owner: Center
    kind: national_center
    region: Daejeon
    source: "[A] test"
    executor:
      kind: slurm
      partition: %s
      node_map: {hpc-h100-0000: %s}
      env: {SLURM_CONF: %s, PATH: "%s"}
    clusters:
      - {id: hpc-h100, gpu_model: H100, gpus: 8, source: "[A] test"}
"""


def test_serve_routes_each_site_to_its_executor(slurm: SlurmCluster, tmp_path: Path) -> None:
    """A fleet file whose `hpc` site names Slurm: the live engine runs that site's job with
    sbatch (pinned to the mapped node) and the `lab` job as a local process."""
    from gpufleet.api.service import make_executor, site_executors
    from gpufleet.db.records import JobSpec
    from gpufleet.db.store import Store
    from gpufleet.engine.clock import WallClock
    from gpufleet.engine.live import LiveEngine
    from gpufleet.fleet.loader import load_fleet
    from gpufleet.policy.registry import resolve

    path = tmp_path / "routed.yaml"
    path.write_text(ROUTED_FLEET % (PARTITION, slurm.node, slurm.conf, SEARCH_PATH))
    fleet = load_fleet(str(path))
    default = make_executor("local", fleet, tmp_path)
    by_site = site_executors(fleet, tmp_path, default)
    store = Store(f"sqlite:///{tmp_path / 'gpufleet.db'}")
    engine = LiveEngine(fleet, resolve("fifo"), store, default, WallClock(), site_executors=by_site)
    ids = {}
    for site in ("lab", "hpc"):
        spec = JobSpec(gpus=2, runtime=60.0, time_limit=120.0, sites=(site,), command="echo hi")
        rec = store.add_job("t", spec, time.time())[0]
        engine.submit(rec)
        ids[site] = rec.id
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        engine.step()
        if all(r.state == "completed" for r in store.jobs()):
            break
        time.sleep(0.2)
    jobs = {r.site: r for r in store.jobs()}
    assert {s: (r.state, r.executor) for s, r in jobs.items()} == {
        "lab": ("completed", "local"),
        "hpc": ("completed", "slurm"),
    }, slurm.logs()
    sid = jobs["hpc"].executor_id
    assert sid is not None and sid.isdigit()
    out = tmp_path / "slurm" / "hpc" / f"gpufleet-{ids['hpc']}.out"
    assert out.read_text().strip() == "hi"
    assert (tmp_path / "jobs" / str(ids["lab"]) / "0.out").read_text() == "hi\n"
    store.close()
