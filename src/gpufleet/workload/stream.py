"""Jobs from two sources read as one stream in (submit, id) order, without a merged copy."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from gpufleet.workload.job import Job


@dataclass(frozen=True, slots=True)
class Merged:
    """`main` and `extra`, each already in (submit, id) order, interleaved in that order.

    The twin reads a run's jobs once, as its clock reaches each submit time; merging here
    instead of concatenating and sorting keeps a year's synthetic jobs in their compact
    columns (`workload.synthetic.SyntheticJobs`) until each is read. `extra` is the short
    one (inference replicas): the test per main job is one comparison of submit times.
    """

    main: Sequence[Job]
    extra: Sequence[Job]

    def __len__(self) -> int:
        return len(self.main) + len(self.extra)

    def __iter__(self) -> Iterator[Job]:
        extra = iter(self.extra)
        e = next(extra, None)
        for job in self.main:
            while e is not None and (
                e.submit < job.submit or (e.submit == job.submit and e.id < job.id)
            ):
                yield e
                e = next(extra, None)
            yield job
        while e is not None:
            yield e
            e = next(extra, None)


def submit_order(job: Job) -> tuple[float, int]:
    """The order the twin reads jobs in: by submit time, ties by id."""
    return (job.submit, job.id)
