"""GPU capacity that a node's CPU left cannot feed: the lookahead `fgd-cpu` adds to FGD.

FGD's fragmentation looks one pod ahead: can a pod of each typical shape still fit here now?
It does not see that a node is running out of CPU faster than GPU. On openb the GPU pods ask
for about 10.9 CPU milli per GPU milli (14.0 with CPU pods) and, at 130% arrived, CPU is
oversubscribed too (1.3 x 14.0 = 18.2 asked per GPU milli of capacity, against 17.2 in the
cluster), while the G2 nodes, 71% of the GPUs, have 12 and the V100M16 nodes 8. A node
whose CPU left, at the workload's average CPU per GPU, feeds less GPU than it has left will
strand the rest: future pods run out of CPU there first. So the expected stranded GPU milli
of a node is

    max(0, GPU milli left - CPU left / (CPU per GPU milli of the target's GPU pods))

in the same unit as fragmentation (GPU milli), and placing a CPU-light pod on a CPU-poor node
(or a CPU-heavy one, or a CPU pod, on a CPU-rich node) is what lowers it. These are Borg's
"stranded resources" (Verma et al., EuroSys'15: one resource left idle because another on
the machine is used up) and Tetris' multi-resource alignment (Grandl et al., SIGCOMM'14),
stated as a fragment so that it adds to FGD's gradient rather than replacing it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from gpufleet.policy.fragmentation import TargetShapes, fragmentation

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


def cpu_per_gpu(target: TargetShapes) -> tuple[int, int]:
    """(CPU milli, GPU milli) asked by the target's GPU pods in all, weighted by pod count:
    their ratio is the CPU a GPU milli brings with it on average. CPU pods are left out: a
    placement can send them to CPU-rich nodes, so they need not consume a GPU's CPU."""
    gpu = target.milli > 0
    cpu = int((target.count * target.cpu)[gpu].sum())
    milli = int((target.count * target.milli * target.gpus)[gpu].sum())
    return cpu, milli


def stranded(left: Ints, cpu_left: Ints, cpu: int, milli: int) -> Floats:
    """GPU milli of each row (a node state) that its CPU left cannot feed at `cpu` CPU milli
    per `milli` GPU milli. Computed in integers and divided once, so equal states give
    bit-equal values. Without GPU demand, or GPU pods that ask for no CPU, nothing strands."""
    if cpu <= 0 or milli <= 0:
        return np.zeros(len(left))
    over = left.sum(axis=1) * cpu - cpu_left * milli
    out: Floats = np.maximum(over, 0) / cpu
    return out


def fragmentation_and_stranding(
    left: Ints, cpu_left: Ints, node_models: npt.NDArray[np.object_], target: TargetShapes
) -> Floats:
    """FGD's expected fragment plus the GPU milli the CPU left cannot feed, per row."""
    cpu, milli = cpu_per_gpu(target)
    frag = fragmentation(left, cpu_left, node_models, target)
    out: Floats = frag + stranded(left, cpu_left, cpu, milli)
    return out
