"""Fragmentation and FGD's choice, computed by hand on small nodes.

Target workload: 2 pods of (1 core, 500 milli, 1 GPU), 1 of (1 core, 1 whole GPU), 1 CPU pod
of 2 cores. Fragmentation = sum over shapes of count x fragment, / 4.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from sharing_cluster import three_nodes

from gpufleet.errors import ConfigError
from gpufleet.fleet.sharing import SharePlacement
from gpufleet.policy.fgd import fgd
from gpufleet.policy.fragmentation import TargetShapes, fragmentation, target_shapes
from gpufleet.workload.pods import Pod, PodList


def small_target() -> TargetShapes:
    share = Pod(cpu=1000, memory=0, gpus=1, milli=500)
    whole = Pod(cpu=1000, memory=0, gpus=1, milli=1000)
    return target_shapes(PodList.of([share, whole, share, Pod(cpu=2000, memory=0)]))


def _frag(left: list[int], cpu: int, model: str = "T4") -> float:
    rows = np.array([left], dtype=np.int64)
    models = np.array([model], dtype=object)
    return float(fragmentation(rows, np.array([cpu]), models, small_target())[0])


def test_shapes_are_ranked_by_count_then_largest_first() -> None:
    t = small_target()
    assert t.milli.tolist() == [500, 0, 1000]  # the count-1 tie: 2 cores before 1 core
    assert t.count.tolist() == [2, 1, 1]
    assert t.share.tolist() == [0.5, 0.25, 0.25]


def test_popularity_cuts_rare_shapes() -> None:
    pods = PodList.of([Pod(cpu=1, memory=0)] * 19 + [Pod(cpu=2, memory=0, gpus=1, milli=100)])
    assert len(target_shapes(pods, popularity=0.95)) == 1
    assert len(target_shapes(pods, popularity=1.0)) == 2
    with pytest.raises(ConfigError):
        target_shapes(pods, popularity=0)


def test_fragmentation_by_hand() -> None:
    """[400, 1000], 8 cores: 500-milli pods fit on the 1000 GPU, so the 400 is a fragment for
    them (2 x 400) and for whole-GPU pods (400); CPU pods fragment all 1400: 2600 / 4 = 650.
    [400, 400]: no GPU pod fits, all 800 for every shape: 800. Too little CPU: all 2000."""
    assert _frag([400, 1000], 8000) == 650.0
    assert _frag([400, 400], 8000) == 800.0
    assert _frag([1000, 1000], 500) == 2000.0
    assert _frag([1000, 1000], 8000) == 500.0  # only the CPU pods' view: 2000 / 4


def test_fgd_gradients_by_hand() -> None:
    assert _frag([400, 1000, 1000, 1000], 16000) == 1150.0
    assert _frag([0, 1000, 1000, 1000], 15000) == 750.0
    assert _frag([400, 600, 1000, 1000], 15000) == 1200.0
    assert _frag([600, 1000], 7000) == 550.0


def test_fgd_fills_the_fragment() -> None:
    """A 400-milli pod. n1 [400, 1000, 1000, 1000], 16 cores: (2 x 400 + 400 + 3400) / 4 = 1150;
    into GPU 0 -> [0, 1000, 1000, 1000]: 3000 / 4 = 750, score int(100 x sigmoid(0.4)) = 59;
    into GPU 1 -> [400, 600, 1000, 1000]: (800 + 1000 + 3000) / 4 = 1200, score 48. n0 (and
    n2): 2000 / 4 = 500 before, [600, 1000] after: (600 + 1600) / 4 = 550, score 48."""
    pod = Pod(cpu=1000, memory=0, gpus=1, milli=400)
    assert fgd(pod, three_nodes().view, random.Random(0), small_target()) == SharePlacement(1, (0,))


def test_fgd_needs_the_target() -> None:
    with pytest.raises(ConfigError, match="target"):
        fgd(Pod(cpu=1, memory=0), three_nodes().view, random.Random(0), None)
