"""A target on one metric, such as `p95_wait_h <= 4`, that a row meets or misses."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gpufleet.plan.row import ALIASES, METRICS, Row

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
}
_FORM = re.compile(r"^\s*([A-Za-z0-9_]+)\s*(<=|>=|<|>)\s*([-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*$")


@dataclass(frozen=True, slots=True)
class Target:
    """`metric op value`; `metric` is a Row field name."""

    metric: str
    op: str
    value: float

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"

    def value_of(self, row: Row) -> float:
        v = getattr(row, self.metric)
        return float("nan") if v is None else float(v)

    def met(self, value: float) -> bool:
        """NaN (a cost with no prices) never meets a target."""
        return value == value and _OPS[self.op](value, self.value)

    def worst(self, values: Sequence[float]) -> float:
        """The value furthest from meeting: seeds must all meet, so the worst one decides."""
        if any(v != v for v in values):
            return float("nan")
        return max(values) if self.op in ("<=", "<") else min(values)


def parse_target(text: str) -> Target:
    """Parse `METRIC OP NUMBER`; raise ValueError saying what is expected."""
    m = _FORM.match(text)
    if m is None:
        raise ValueError(
            f"expected 'METRIC OP NUMBER' with OP one of <=, <, >=, > (e.g. 'p95_wait_h <= 4'), "
            f"got {text!r}"
        )
    metric = ALIASES.get(m.group(1), m.group(1))
    if metric not in METRICS:
        raise ValueError(f"unknown metric {m.group(1)!r}; valid: {', '.join(METRICS)}")
    return Target(metric, m.group(2), float(m.group(3)))
