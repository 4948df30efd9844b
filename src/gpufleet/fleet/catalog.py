"""The GPU model catalog: memory, dense BF16 throughput, power and NVLink domain size, sourced.

Source tags [Sn] refer to ../shared/research/domain.md's source list (copied into
docs/sources.md); [A] marks an assumption, [D] a figure derived by arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GpuModel:
    """One GPU model as the scheduler sees it.

    `bf16_tflops` (dense, no sparsity) is the throughput figure used to scale a job's run time
    from its reference model to the model it lands on.
    """

    name: str
    memory_gb: float
    bf16_tflops: float
    tdp_w: float
    nvlink_domain: int
    source: str


def _m(
    name: str, memory_gb: float, bf16_tflops: float, tdp_w: float, nvlink: int, source: str
) -> GpuModel:
    return GpuModel(name, memory_gb, bf16_tflops, tdp_w, nvlink, source)


CATALOG: dict[str, GpuModel] = {
    m.name: m
    for m in (
        _m("B200", 180, 2250, 1000, 8, "[S66][S67][S68] HGX/DGX B200; 180 GB usable of 192"),
        _m("B300", 288, 2250, 1100, 8, "[S71][S72] HGX/DGX B300; memory 270-288 GB"),
        _m("GB200", 186, 2500, 1200, 72, "[S66][S69][S70] B200 in GB200 NVL72"),
        _m("GB300", 288, 2500, 1400, 72, "[S71][S72][S80] B300 in GB300 NVL72"),
        _m(
            "RTXPRO6000",
            96,
            500,
            600,
            1,
            "[S73][S74][S75] RTX PRO 6000 Blackwell Server Edition, PCIe, no NVLink; "
            "BF16 [D] = 4,000 sparse FP4 TOPS / 8 (dense, then FP4->FP8->BF16)",
        ),
        _m("H100", 80, 989, 700, 8, "[S63][S64] H100 SXM"),
        _m("H200", 141, 989, 700, 8, "[S64][S65] H200 SXM"),
        _m(
            "GH200",
            96,
            989,
            1000,
            1,
            "[A] Hopper GPU of GH200 (H100-class BF16, 96 GB HBM3 config, 1,000 W module); "
            "NVLink domain 1 per domain.md section 7 [A]",
        ),
        _m("A100", 80, 312, 400, 8, "NVIDIA A100 datasheet (SXM4 80 GB, 312 TF BF16 dense, 400 W)"),
        _m(
            "V100",
            32,
            125,
            300,
            8,
            "NVIDIA V100 datasheet (SXM2 32 GB, 125 TF FP16 tensor; no BF16, FP16 used)",
        ),
        _m("T4", 16, 65, 70, 1, "NVIDIA T4 datasheet (16 GB, 65 TF FP16 mixed precision, 70 W)"),
    )
}
