"""Why jobs wait and which free GPUs no waiting job can use, from the run's queue samples.

Every sample (hourly in simulated time) the twin counts the waiting jobs per reason code
(`scheduler/why.py`) and the free GPUs that no waiting job could start on now. A report shows
both over time and totals the reasons over the run in job-hours (waiting jobs x hours), which
ranks the top reasons jobs wait however long the run is. Pure numpy; no files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gpufleet.report.charts import Chart, Series
from gpufleet.report.figures import DAY, KeyFigure, figure_text
from gpufleet.report.reduce import downsample
from gpufleet.scheduler.why import CODES

# What each code means on the page, in the words of scheduler/why.py.
REASONS: dict[str, str] = {
    "quota": "over quota: its tenant or a group above it runs its limit",
    "grant": "its grant has not started, has expired, is full or is spent",
    "resources": "first in line, waiting for enough GPUs to free up",
    "topology": "enough GPUs free, but not inside one NVLink domain, block or cluster",
    "priority": "behind other waiting jobs that come first in the policy's order",
    "new": "submitted since the last scheduling pass",
}
# Fixed colours per code (PALETTE indices), so pages and runs read alike.
_COLOR = {"quota": 5, "grant": 3, "resources": 0, "topology": 1, "priority": 4, "new": 9}
UNUSABLE_NOTE = (
    "Free GPUs = GPUs - busy GPUs (utilization.parquet). Unusable: free GPUs on clusters where "
    "no queued job could start now: too few free inside one NVLink domain, block or cluster "
    "for every waiting shape (fragmentation), or no waiting job allowed there. Zero when no "
    "job waits in a queue."
)


@dataclass(frozen=True, slots=True, eq=False)
class Waiting:
    """The queue samples reduced: per code (CODES order) and the free-GPU means."""

    job_hours: np.ndarray  # waiting jobs x hours, summed over the samples
    mean_jobs: np.ndarray  # waiting jobs, mean over the samples
    mean_free: float  # free GPUs, mean over the samples
    mean_unusable: float  # unusable free GPUs, mean over the samples

    @property
    def ranked(self) -> list[int]:
        """Code indices, most job-hours first (ties in CODES order)."""
        return sorted(range(len(CODES)), key=lambda k: (-float(self.job_hours[k]), k))


def sample_hours(t: np.ndarray) -> float:
    """Hours one sample stands for: the usual spacing of the samples (1 h for a lone one)."""
    gaps = np.diff(np.asarray(t, dtype=np.float64))
    return float(np.median(gaps)) / 3600.0 if gaps.size else 1.0


def free_gpus(
    queue_time: np.ndarray, sample_time: np.ndarray, busy: np.ndarray, gpus: float
) -> np.ndarray:
    """Free GPUs of the fleet at the queue's sample times, from busy GPUs per (site, model).

    The twin takes both samples at the same times; interpolation only matters for a
    hand-made run whose files disagree."""
    free = gpus - np.asarray(busy, dtype=np.float64).sum(axis=1)
    return np.asarray(np.interp(queue_time, sample_time, free))


def reduce_waiting(
    t: np.ndarray, waiting: np.ndarray, free: np.ndarray, unusable: np.ndarray
) -> Waiting:
    """Totals and means of the queue samples: `waiting` is (samples, len(CODES))."""
    w = np.asarray(waiting, dtype=np.float64).reshape(-1, len(CODES))
    n = max(w.shape[0], 1)
    return Waiting(
        job_hours=w.sum(axis=0) * sample_hours(t),
        mean_jobs=w.sum(axis=0) / n,
        mean_free=float(np.sum(free)) / n,
        mean_unusable=float(np.sum(unusable)) / n,
    )


def waiting_figures(w: Waiting) -> tuple[KeyFigure, ...]:
    """Key figures of the queue samples, keyed `queue.*` (they are not in metrics.json)."""
    out = [
        (f"queue.waiting_job_hours.{code}", f"job-hours waiting: {code}", float(w.job_hours[k]))
        for k, code in enumerate(CODES)
    ]
    out += [
        ("queue.free_gpus.mean", "free GPUs, mean", w.mean_free),
        ("queue.unusable_free_gpus.mean", "unusable free GPUs, mean", w.mean_unusable),
    ]
    return tuple(KeyFigure(k, label, v, figure_text(k, v)) for k, label, v in out)


def waiting_charts(
    t: np.ndarray,
    waiting: np.ndarray,
    free: np.ndarray,
    unusable: np.ndarray,
    w: Waiting,
    time: dict[str, Any],
) -> list[Chart]:
    """Waiting jobs by reason over time (stacked), their totals, and free against unusable."""
    days = np.asarray(t, dtype=np.float64) / DAY
    td, wd = downsample(days, np.asarray(waiting, dtype=np.float64).reshape(-1, len(CODES)))
    tf, fd = downsample(days, np.column_stack([free, unusable]))
    order = w.ranked
    mean_note = "Mean of each interval when downsampled."
    return [
        Chart(
            id="waiting-reasons",
            section="queue",
            title="Why jobs wait: waiting jobs by reason",
            y_title="waiting jobs",
            series=tuple(
                Series(CODES[k], td, wd[:, k], color=_COLOR[CODES[k]], stack=True)
                for k in range(len(CODES))
            ),
            **_noted(time, f"Stacked; sampled hourly. {mean_note}"),
        ),
        Chart(
            id="waiting-totals",
            section="queue",
            title="Top reasons jobs wait, whole run",
            x_title="reason",
            y_title="job-hours waiting",
            series=(
                Series(
                    "job-hours",
                    [CODES[k] for k in order],
                    [float(w.job_hours[k]) for k in order],
                    kind="bar",
                ),
            ),
            note="Waiting jobs x hours, summed over the samples (arrivals and drain).",
        ),
        Chart(
            id="fragmentation",
            section="queue",
            title="Fragmentation: free GPUs no waiting job can use",
            y_title="GPUs",
            series=(
                Series("free GPUs", tf, fd[:, 0], color=2),
                Series("unusable free GPUs", tf, fd[:, 1], color=5),
            ),
            **_noted(time, f"{UNUSABLE_NOTE} {mean_note}"),
        ),
    ]


def _noted(time: dict[str, Any], note: str) -> dict[str, Any]:
    """A time chart's fields with `note` before the axis's own note."""
    return {**time, "note": f"{note} {time.get('note', '')}".strip()}
