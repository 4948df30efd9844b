"""Read the openb node list and pod list as a GPU-sharing cluster and its pods, fractions kept.

openb.py turns pods into whole-GPU `Job`s for the twin; the FGD replay needs what the pods
really asked: CPU, memory, thousandths of a GPU, GPU models. Node list columns: sn, cpu_milli,
memory_mib, gpu, model. Pod list columns: cpu_milli, memory_mib, num_gpu, gpu_milli,
gpu_spec (optional, `|`-separated). The files are small (1,523 nodes, at most ~9,000 pods), so
Python's csv module reads them; bad values raise TraceError naming the file, line and column.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from gpufleet.errors import TraceError
from gpufleet.fleet.sharing import SharedNodes
from gpufleet.workload.pods import PodList, pod_problem

NODE_COLUMNS = ("cpu_milli", "memory_mib", "gpu", "model")
POD_COLUMNS = ("cpu_milli", "memory_mib", "num_gpu", "gpu_milli")


def _rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row; the header is line 1."""
    try:
        f = path.open(newline="", encoding="utf-8")
    except OSError as e:
        raise TraceError(f"{path}: cannot read: {e.strerror}") from None
    with f:
        reader = csv.DictReader(f)
        found = reader.fieldnames or []
        missing = [c for c in required if c not in found]
        if missing:
            raise TraceError(
                f"{path}: header, column {missing[0]!r}: missing required column "
                f"(needs {', '.join(required)}; found {', '.join(found) or 'nothing'})"
            )
        for row in reader:
            yield reader.line_num, row


def _int(path: Path, line: int, row: dict[str, str], col: str, what: str) -> int:
    text = (row.get(col) or "").strip()
    try:
        value = int(float(text)) if text else 0
        if value < 0 or float(text or 0) != value:
            raise ValueError
    except ValueError:
        raise TraceError(
            f"{path}: line {line}, column {col!r}: expected {what}, got {text!r}"
        ) from None
    return value


def read_nodes(path: Path, *, with_gpus_only: bool = True) -> SharedNodes:
    """The nodes of an openb node list; CPU-only nodes are left out unless asked for."""
    names: list[str] = []
    models: list[str] = []
    cols: dict[str, list[int]] = {c: [] for c in ("gpu", "cpu_milli", "memory_mib")}
    for line, row in _rows(path, NODE_COLUMNS):
        gpus = _int(path, line, row, "gpu", "a whole number of GPUs >= 0")
        if with_gpus_only and gpus == 0:
            continue
        names.append((row.get("sn") or f"node-{line - 2}").strip())
        models.append((row.get("model") or "").strip())
        cols["gpu"].append(gpus)
        cols["cpu_milli"].append(_int(path, line, row, "cpu_milli", "milli-CPUs >= 0"))
        cols["memory_mib"].append(_int(path, line, row, "memory_mib", "MiB >= 0"))
    if not names:
        raise TraceError(f"{path}: no nodes with GPUs")
    return SharedNodes(
        names=tuple(names),
        models=tuple(models),
        gpus=np.array(cols["gpu"], dtype=np.int64),
        cpu=np.array(cols["cpu_milli"], dtype=np.int64),
        memory=np.array(cols["memory_mib"], dtype=np.int64),
    )


def read_pods(path: Path) -> PodList:
    """Every pod of an openb pod list, CPU pods included, in file order."""
    cols: dict[str, list[int]] = {c: [] for c in POD_COLUMNS}
    specs: list[tuple[str, ...]] = []
    for line, row in _rows(path, POD_COLUMNS):
        values = {
            "cpu_milli": _int(path, line, row, "cpu_milli", "milli-CPUs >= 0"),
            "memory_mib": _int(path, line, row, "memory_mib", "MiB >= 0"),
            "num_gpu": _int(path, line, row, "num_gpu", "a whole number of GPUs >= 0"),
            "gpu_milli": _int(path, line, row, "gpu_milli", "thousandths of a GPU, 0-1000"),
        }
        if values["num_gpu"] == 0:
            values["gpu_milli"] = 0  # the artifact gives CPU pods no GPU annotations
        problem = pod_problem(*values.values())
        if problem:
            raise TraceError(f"{path}: line {line}: {problem}, got {values}")
        for c, v in values.items():
            cols[c].append(v)
        spec = (row.get("gpu_spec") or "") if values["num_gpu"] else ""
        specs.append(tuple(s.strip() for s in spec.split("|") if s.strip()))
    return PodList(
        cpu=np.array(cols["cpu_milli"], dtype=np.int64),
        memory=np.array(cols["memory_mib"], dtype=np.int64),
        gpus=np.array(cols["num_gpu"], dtype=np.int64),
        milli=np.array(cols["gpu_milli"], dtype=np.int64),
        models=tuple(specs),
    )
