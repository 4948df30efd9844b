"""The read-only view of free capacity that placement policies see."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from gpufleet.fleet.model import Fleet


class FleetView(Protocol):
    """Read-only free capacity; `AllocationState` is the one implementation that mutates."""

    @property
    def fleet(self) -> Fleet: ...
    @property
    def free(self) -> Sequence[int]: ...
    @property
    def block_free(self) -> Sequence[int]: ...
    @property
    def block_full(self) -> Sequence[int]: ...
    @property
    def cluster_free(self) -> Sequence[int]: ...
    @property
    def cluster_full(self) -> Sequence[int]: ...
    @property
    def levels(self) -> Sequence[int]: ...
    @property
    def buckets(self) -> Sequence[Sequence[Mapping[int, None]]]: ...
