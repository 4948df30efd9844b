"""The openb replay on the real trace (skipped without ../shared/traces), and the readers'
bad input."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from gpufleet.errors import TraceError
from gpufleet.policy.sharing import SharePolicy, best_fit, gpu_clustering
from gpufleet.validation.checks import Options, Skipped
from gpufleet.validation.fgd import FOLDER, check_fgd, read_published
from gpufleet.validation.replay import TUNE, arrival_order, node_rank, replay
from gpufleet.workload.traces.openb_sharing import read_nodes, read_pods

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "traces"


@pytest.fixture(scope="module")
def openb() -> Path:
    if not (SHARED / FOLDER).is_dir():
        pytest.skip(f"shared traces not found at {SHARED}: the public traces sit in ../shared")
    return SHARED / FOLDER


def test_openb_cluster_and_pods(openb: Path) -> None:
    nodes = read_nodes(openb / "csv" / "openb_node_list_gpu_node.csv")
    pods = read_pods(openb / "csv" / "openb_pod_list_default.csv")
    assert (len(nodes), int(nodes.gpus.sum()), len(pods)) == (1213, 6212, 8152)
    assert (
        int((pods.gpus == 0).sum()) == 1088
        and int(((pods.milli > 0) & (pods.milli < 1000)).sum()) == 3078
    )
    published = read_published(openb / "published_results" / "fgd_analysis_allo_discrete.csv",
                               "openb_pod_list_default", 130)  # fmt: skip
    assert published["06-FGD"] == 95.39 and published["05-BestFit"] == 93.08
    assert published["03-GpuClustering"] == 91.88


@pytest.mark.parametrize(("policy", "published"), [(best_fit, 93.08), (gpu_clustering, 91.88)])
def test_openb_one_seed_is_near_published(
    openb: Path, policy: SharePolicy, published: float
) -> None:
    """One seed (about 2 s each): within 1 point of the published 10-seed mean."""
    nodes = read_nodes(openb / "csv" / "openb_node_list_gpu_node.csv")
    pods = read_pods(openb / "csv" / "openb_pod_list_default.csv")
    rng = random.Random(42)
    order = arrival_order(pods, nodes.total_milli, rng, TUNE)
    result = replay(nodes, order, policy, rng, None, node_rank(len(nodes), rng))
    assert abs(result.allocation_at(130) - published) < 1.0


def test_check_skips_without_traces(tmp_path: Path) -> None:
    with pytest.raises(Skipped, match="needs the public openb traces"):
        check_fgd(Options(traces=tmp_path))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("cpu_milli,memory_mib,num_gpu\n1,1,1\n", "header, column 'gpu_milli'"),
        ("cpu_milli,memory_mib,num_gpu,gpu_milli\n1,1,two,1000\n", "line 2, column 'num_gpu'"),
        ("cpu_milli,memory_mib,num_gpu,gpu_milli\n1,1,2,500\n", "line 2: a pod sharing"),
        ("cpu_milli,memory_mib,num_gpu,gpu_milli\n1,-5,1,500\n", "column 'memory_mib'"),
    ],
)
def test_bad_pod_lists(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "pods.csv"
    path.write_text(text)
    with pytest.raises(TraceError, match=match):
        read_pods(path)


def test_bad_node_lists(tmp_path: Path) -> None:
    path = tmp_path / "nodes.csv"
    path.write_text("sn,cpu_milli,memory_mib,gpu,model\nn0,1000,10,0,\n")
    with pytest.raises(TraceError, match="no nodes with GPUs"):
        read_nodes(path)
    with pytest.raises(TraceError, match="cannot read"):
        read_nodes(tmp_path / "missing.csv")
    path.write_text("sn,cpu_milli,memory_mib,gpu,model\nn0,1000,10,1.5,T4\n")
    with pytest.raises(TraceError, match="line 2, column 'gpu'"):
        read_nodes(path)
