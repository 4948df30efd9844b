"""A sorted sequence for the scheduler's queues and planned ends, compiled with the core.

The layout is the one `sortedcontainers.SortedList` made standard: the items sit in a list
of sorted sublists of about `_LOAD` items each, with each sublist's last item kept in
`_maxes`, so adding or removing costs two bisections and one short `list.insert` or `del`.
What differs is that this one is compiled with the scheduler (gpufleet/_native.py) and keeps
only what the core uses: no positional index (the core reads the first item, walks in order,
or walks from a given item), so no index to update on every change. In the twin's profile the
pure-Python `SortedList.add` and `remove` took 11% of a run (docs/benchmarks.md, session 13).

Items are compared with `<` only; equal items may repeat, and `remove` takes one of them.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Iterator
from typing import Any

_LOAD = 1000  # a sublist splits in two past twice this, and merges with a neighbour below half


class SortedSeq:
    """Items kept in ascending order: add, remove, first, in-order walks and bisection."""

    __slots__ = ("_lists", "_maxes", "_n")

    def __init__(self, items: Iterable[Any] = ()) -> None:
        self._lists: list[list[Any]] = []
        self._maxes: list[Any] = []
        self._n = 0
        values = sorted(items)
        for i in range(0, len(values), _LOAD):
            part = values[i : i + _LOAD]
            self._lists.append(part)
            self._maxes.append(part[-1])
        self._n = len(values)

    def __len__(self) -> int:
        return self._n

    def __bool__(self) -> bool:
        return self._n > 0

    def add(self, item: Any) -> None:
        maxes = self._maxes
        self._n += 1
        if not maxes:
            self._lists.append([item])
            maxes.append(item)
            return
        pos = bisect_right(maxes, item)
        if pos == len(maxes):  # past every item: the last sublist's new end
            pos -= 1
            sub = self._lists[pos]
            sub.append(item)
            maxes[pos] = item
        else:
            sub = self._lists[pos]
            insort(sub, item)
        if len(sub) > 2 * _LOAD:
            half = sub[_LOAD:]
            del sub[_LOAD:]
            maxes[pos] = sub[-1]
            self._lists.insert(pos + 1, half)
            maxes.insert(pos + 1, half[-1])

    def remove(self, item: Any) -> None:
        """Remove one item equal to `item`; ValueError if there is none."""
        maxes = self._maxes
        pos = bisect_left(maxes, item)
        if pos == len(maxes):
            raise ValueError(f"{item!r} not in sequence")
        sub = self._lists[pos]
        i = bisect_left(sub, item)
        if sub[i] != item:
            raise ValueError(f"{item!r} not in sequence")
        del sub[i]
        self._n -= 1
        if not sub:
            del self._lists[pos]
            del maxes[pos]
            return
        if i == len(sub):
            maxes[pos] = sub[-1]
        if len(sub) < _LOAD // 2 and len(self._lists) > 1:
            self._merge(pos)

    def _merge(self, pos: int) -> None:
        """Fold the short sublist at `pos` into a neighbour (splitting again if too long)."""
        lists, maxes = self._lists, self._maxes
        left = pos - 1 if pos > 0 else pos
        joined = lists[left] + lists[left + 1]
        del lists[left + 1]
        del maxes[left + 1]
        if len(joined) > 2 * _LOAD:
            half = joined[_LOAD:]
            del joined[_LOAD:]
            lists[left] = joined
            maxes[left] = joined[-1]
            lists.insert(left + 1, half)
            maxes.insert(left + 1, half[-1])
        else:
            lists[left] = joined
            maxes[left] = joined[-1]

    def __getitem__(self, i: int) -> Any:
        """The item at position `i` (fast for the first and the last)."""
        n = self._n
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("sorted sequence index out of range")
        if i == 0:
            return self._lists[0][0]
        if i == n - 1:
            return self._lists[-1][-1]
        for sub in self._lists:
            if i < len(sub):
                return sub[i]
            i -= len(sub)
        raise IndexError("sorted sequence index out of range")  # unreachable: n counts all

    def head(self, n: int) -> list[Any]:
        """The first `n` items (all if fewer), as a new list."""
        out: list[Any] = []
        for sub in self._lists:
            if len(out) + len(sub) >= n:
                out.extend(sub[: n - len(out)])
                return out
            out.extend(sub)
        return out

    def __iter__(self) -> Iterator[Any]:
        for sub in self._lists:
            yield from sub

    def sublists(self) -> list[list[Any]]:
        """The sorted sublists themselves, in order, for a caller's tight loop (read only)."""
        return self._lists

    def __contains__(self, item: object) -> bool:
        pos = bisect_left(self._maxes, item)
        if pos == len(self._maxes):
            return False
        sub = self._lists[pos]
        i = bisect_left(sub, item)
        return bool(sub[i] == item)

    def bisect_left(self, item: Any) -> int:
        """How many items are less than `item`."""
        pos = bisect_left(self._maxes, item)
        before = 0
        for k in range(pos):
            before += len(self._lists[k])
        if pos == len(self._maxes):
            return before
        return before + bisect_left(self._lists[pos], item)

    def irange(self, minimum: Any, inclusive: tuple[bool, bool] = (True, True)) -> Iterator[Any]:
        """The items from `minimum` on (from just after it when `inclusive[0]` is False)."""
        maxes = self._maxes
        low = inclusive[0]
        pos = bisect_left(maxes, minimum) if low else bisect_right(maxes, minimum)
        lists = self._lists
        for k in range(pos, len(lists)):
            sub = lists[k]
            start = 0
            if k == pos:
                start = bisect_left(sub, minimum) if low else bisect_right(sub, minimum)
            for j in range(start, len(sub)):
                yield sub[j]
