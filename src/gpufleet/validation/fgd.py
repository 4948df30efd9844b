"""Check 2: GPU allocation on the openb cluster at 130% arrived, against FGD (ATC'23) Fig. 9(a).

Published: the artifact's expected_results/analysis_allo_discrete.csv, column `130`, averaged
over its 10 seeds (42-51) per policy, for the default pod list. Ours: the same replay
(replay.py) with the same seeds, our placements of the same names. The seeds drive our own
random streams, so single runs differ from the artifact's; the means should agree.
"""

from __future__ import annotations

import csv
import random
import time
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from pathlib import Path

from gpufleet.errors import TraceError
from gpufleet.fleet.sharing import SharedNodes
from gpufleet.policy.fragmentation import TargetShapes, target_shapes
from gpufleet.policy.sharing import share_placement
from gpufleet.validation.checks import Options, Row, Skipped
from gpufleet.validation.replay import TUNE, arrival_order, node_rank, replay
from gpufleet.workload.pods import PodList
from gpufleet.workload.traces.openb_sharing import read_nodes, read_pods

FOLDER = "alibaba-openb-gpu2023"
NODES = "csv/openb_node_list_gpu_node.csv"  # [S] the artifact's data/prepare_input.sh
PUBLISHED = "published_results/fgd_analysis_allo_discrete.csv"
WORKLOAD = "openb_pod_list_default"
PERCENT = 130
FIRST_SEED = 42  # [S] generate_run_scripts.py: tune seeds 42..51
# our placement name -> the artifact's policy directory
ARTIFACT = {
    "random": "01-Random",
    "dot-product": "02-DotProd",
    "gpu-clustering": "03-GpuClustering",
    "packing": "04-GpuPacking",
    "best-fit": "05-BestFit",
    "fgd": "06-FGD",
}
OURS_ONLY = ("fgd-cpu", "fgd-exact", "fgd-best-fit", "worst-fit", "first-fit")


def check_fgd(options: Options) -> list[Row]:
    """One row per placement: mean allocation (%) at 130% arrived over the seeds."""
    folder = options.traces / FOLDER
    if not (folder / NODES).is_file() or not (folder / PUBLISHED).is_file():
        raise Skipped(
            f"{folder} lacks {NODES} or {PUBLISHED}: the fgd check needs the public openb "
            "traces (../shared/traces beside the project, or --traces DIR)"
        )
    published = read_published(folder / PUBLISHED, WORKLOAD, PERCENT)
    seeds = range(FIRST_SEED, FIRST_SEED + options.seeds)
    jobs = [(str(folder), name, seed) for name in (*ARTIFACT, *OURS_ONLY) for seed in seeds]
    if options.workers > 1:
        with ProcessPoolExecutor(options.workers) as pool:
            results = list(pool.map(_one, *zip(*jobs, strict=True)))
    else:
        results = [_one(*job) for job in jobs]
    rows = []
    for name in (*ARTIFACT, *OURS_ONLY):
        mine = [r for (_, n, _), r in zip(jobs, results, strict=True) if n == name]
        rows.append(
            Row(
                check="fgd",
                name=f"{name} ({WORKLOAD}, alloc % at {PERCENT}% arrived)",
                published=published.get(ARTIFACT.get(name, "")),
                ours=round(sum(a for a, _ in mine) / len(mine), 2),
                seconds=round(sum(s for _, s in mine), 1),
            )
        )
    return rows


def read_published(path: Path, workload: str, percent: int) -> dict[str, float]:
    """Mean over seeds of column `percent`, per artifact policy, for one workload."""
    values: dict[str, list[float]] = {}
    with path.open(newline="", encoding="utf-8") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            if row.get("workload") != workload:
                continue
            try:
                values.setdefault(row["sc_policy"], []).append(float(row[str(percent)]))
            except (KeyError, ValueError):
                raise TraceError(
                    f"{path}: line {line}, column {str(percent)!r}: expected a percentage"
                ) from None
    if not values:
        raise TraceError(f"{path}: no rows for workload {workload!r}")
    return {k: round(sum(v) / len(v), 2) for k, v in values.items()}


@lru_cache(maxsize=2)
def _inputs(folder: str, workload: str) -> tuple[SharedNodes, PodList, TargetShapes]:
    pods = read_pods(Path(folder) / "csv" / f"{workload}.csv")
    return read_nodes(Path(folder) / NODES), pods, target_shapes(pods)


def _one(folder: str, name: str, seed: int, workload: str = WORKLOAD) -> tuple[float, float]:
    """(allocation % at 130% arrived, seconds) of one placement and seed."""
    nodes, pods, target = _inputs(folder, workload)
    rng = random.Random(seed)
    order = arrival_order(pods, nodes.total_milli, rng, TUNE)
    rank = node_rank(len(nodes), rng)
    start = time.perf_counter()
    result = replay(nodes, order, share_placement(name), rng, target, rank)
    return result.allocation_at(PERCENT), time.perf_counter() - start
