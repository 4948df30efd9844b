"""The fleet file's per-site `executor:` block: what it holds, and one-line errors."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from gpufleet.api.service import site_executors
from gpufleet.engine.local import LocalExecutor
from gpufleet.engine.slurm import SlurmExecutor
from gpufleet.errors import ConfigError
from gpufleet.fleet.loader import load_fleet
from gpufleet.fleet.model import SiteExecutor


def _two_nodes(tmp_path: Path, block: str) -> Path:
    """two-nodes with `block` (YAML lines at site level) added to its only site."""
    text = (resources.files("gpufleet.fleet") / "scenarios" / "two-nodes.yaml").read_text()
    text = text.replace("    clusters:\n", block + "    clusters:\n", 1)
    p = tmp_path / "fleet.yaml"
    p.write_text(text)
    return p


SLURM = """    executor:
      kind: slurm
      partition: gpu
      account: lab-acct
      gres: gpu:h100
      node_map: {lab-h100-0001: gpu-b7}
      env: {SLURM_CONF: /etc/slurm/lab.conf}
"""


def test_absent_means_the_default_executor() -> None:
    assert all(s.executor is None for s in load_fleet("two-nodes").sites)


def test_a_slurm_block_is_read_and_builds_its_executor(tmp_path: Path) -> None:
    fleet = load_fleet(str(_two_nodes(tmp_path, SLURM)))
    assert fleet.sites[0].executor == SiteExecutor(
        kind="slurm",
        partition="gpu",
        account="lab-acct",
        gres="gpu:h100",
        node_map=(("lab-h100-0001", "gpu-b7"),),
        env=(("SLURM_CONF", "/etc/slurm/lab.conf"),),
    )
    default = LocalExecutor(tmp_path)
    [(site, ex)] = site_executors(fleet, tmp_path, default).items()
    assert site == "lab" and isinstance(ex, SlurmExecutor)
    assert ex.partition == "gpu" and ex.gres_name == "gpu:h100"
    assert ex.node_map == {"lab-h100-0001": "gpu-b7"} and "--account=lab-acct" in ex.extra_args
    assert ex.env["SLURM_CONF"] == "/etc/slurm/lab.conf"


def test_a_local_block_shares_the_local_executor(tmp_path: Path) -> None:
    fleet = load_fleet(str(_two_nodes(tmp_path, "    executor: {kind: local}\n")))
    default = LocalExecutor(tmp_path)
    assert site_executors(fleet, tmp_path, default) == {"lab": default}


BAD = [
    ("    executor: {kind: pbs}\n", "sites[0].executor.kind"),
    ("    executor: {kind: local, partition: gpu}\n", "partition is for kind: slurm only"),
    (
        "    executor: {kind: slurm, node_map: {lab-h100-0009: n1}}\n",
        "'lab-h100-0009' is not a node",
    ),
    ("    executor: {kind: slurm, queue: gpu}\n", "queue"),
    ("    executor: {kind: slurm, account: a, accounts: {t: b}}\n", "account or accounts"),
    ("    executor: {kind: slurm, gres: 'gpu h100'}\n", "gres"),
]


@pytest.mark.parametrize(("block", "text"), BAD)
def test_bad_blocks_name_the_field(tmp_path: Path, block: str, text: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_fleet(str(_two_nodes(tmp_path, block)))
    msg = str(e.value)
    assert "fleet.yaml" in msg and text in msg, msg
