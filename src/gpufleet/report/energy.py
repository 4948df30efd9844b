"""Power, energy, cost and CO2 of a run from busy GPUs, GPU TDPs and site PUEs.

Facility power of a (site, GPU model) group = (busy GPUs x TDP + idle GPUs x TDP x IDLE_SHARE)
x the site's PUE. Only GPUs are counted: host CPUs, memory and network switches are not, so the
figures are a floor for what the servers draw (a node's full `node_kw` would be the ceiling).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gpufleet.fleet.model import Fleet

# KEPCO industrial tariff for large users (Type B, > 300 kW contract) after the October 2024
# rise, KRW per kWh [S105].
KRW_PER_KWH = 182.7
# Korea's consumption-side grid emission factor for 2023, published December 2025, tCO2e per
# MWh [S109].
TCO2E_PER_MWH = 0.4173
# An idle GPU draws this share of its TDP [A]: no source gives a fleet-wide idle figure; an idle
# data-center GPU sits well under a fifth of TDP, and the share of an idle host is folded in.
IDLE_SHARE = 0.2

_J_PER_MWH = 3.6e9


@dataclass(frozen=True, slots=True)
class PowerKey:
    """GPUs of one model at one site, with what they draw."""

    site: str
    gpu_model: str
    gpus: int
    tdp_w: float
    pue: float


@dataclass(frozen=True, slots=True)
class Energy:
    """Facility energy over `hours`, with its cost and emissions."""

    hours: float
    mwh: float
    krw: float
    tco2e: float
    site_mwh: dict[str, float]

    @property
    def mean_mw(self) -> float:
        return self.mwh / self.hours if self.hours > 0 else 0.0


def power_keys(
    fleet: Fleet, keys: Sequence[tuple[str, str]], gpus: Sequence[int]
) -> list[PowerKey]:
    """PowerKeys for (site, GPU model) pairs with their GPU counts, from the fleet's specs."""
    pue = {s.id: s.pue for s in fleet.sites}
    return [
        PowerKey(site, model, int(n), fleet.models[model].tdp_w, pue[site])
        for (site, model), n in zip(keys, gpus, strict=True)
    ]


def _draw(busy: np.ndarray, capacity: float, keys: Sequence[PowerKey]) -> np.ndarray:
    """Facility draw per key when `busy` of `capacity` x gpus units are busy, the rest idle.

    With busy GPUs and capacity 1 this is watts; with busy GPU-seconds and capacity = seconds,
    joules. `busy` has shape (..., len(keys)).
    """
    gpus = np.array([k.gpus for k in keys], dtype=np.float64) * capacity
    tdp = np.array([k.tdp_w for k in keys], dtype=np.float64)
    pue = np.array([k.pue for k in keys], dtype=np.float64)
    busy = np.asarray(busy, dtype=np.float64)
    return np.asarray((busy * tdp + (gpus - busy) * tdp * IDLE_SHARE) * pue)


def power_mw(busy: np.ndarray, keys: Sequence[PowerKey]) -> np.ndarray:
    """Facility MW per key from busy GPUs of shape (samples, keys)."""
    return _draw(busy, 1.0, keys) / 1e6


def energy(busy_gpu_seconds: np.ndarray, keys: Sequence[PowerKey], seconds: float) -> Energy:
    """Energy of `seconds` of operation in which key k was busy busy_gpu_seconds[k] GPU-s.

    Idle GPU-seconds are the rest: gpus x seconds - busy. Cost and CO2 scale the MWh by the
    tariff [S105] and the emission factor [S109].
    """
    joules = _draw(busy_gpu_seconds, seconds, keys)
    site_mwh: dict[str, float] = {}
    for k, j in zip(keys, joules, strict=True):
        site_mwh[k.site] = site_mwh.get(k.site, 0.0) + float(j) / _J_PER_MWH
    mwh = float(joules.sum()) / _J_PER_MWH
    return Energy(
        hours=seconds / 3600.0,
        mwh=mwh,
        krw=mwh * 1000.0 * KRW_PER_KWH,
        tco2e=mwh * TCO2E_PER_MWH,
        site_mwh=site_mwh,
    )
