"""Parse duration text from trace files ("90m", "2h", "1d", "3600", "1-02:00:00") into seconds."""

from __future__ import annotations

import math
import re

_UNIT_SECONDS = {
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
}
# One or more "<number><unit>" parts, e.g. "2h", "1h30m", "1.5d".
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(sec|min|hr|s|m|h|d|w)", re.IGNORECASE)
_PARTS = re.compile(r"(?:\s*(?:\d+(?:\.\d*)?|\.\d+)\s*(?:sec|min|hr|s|m|h|d|w)\s*)+", re.IGNORECASE)
# Slurm-style clock: [D-]HH:MM:SS or MM:SS.
_CLOCK = re.compile(r"(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)")

_EXPECTED = "expected seconds (e.g. 3600) or a duration like 90m, 2h, 1d, 1h30m or [D-]HH:MM:SS"


def parse_duration(text: str) -> float:
    """Return the non-negative number of seconds that `text` denotes.

    Accepted: a plain number of seconds ("3600", "1.5e3"); number-and-unit parts with units
    s, m (or min), h, d, w, which may be chained ("1h30m"); Slurm clock time "[D-]HH:MM:SS" or
    "MM:SS". Raise ValueError naming the text and the accepted forms otherwise.
    """
    s = text.strip()
    if not s:
        raise ValueError(f"empty duration; {_EXPECTED}")
    try:
        value = float(s)
    except ValueError:
        value = _parse_units(s, text)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"not a duration: {text!r}; expected a finite value >= 0")
    return value


def _parse_units(s: str, text: str) -> float:
    """Parse number-and-unit parts or a clock time; `text` is the original, for the message."""
    if _PARTS.fullmatch(s):
        return sum(float(n) * _UNIT_SECONDS[u.lower()] for n, u in _PART.findall(s))
    if m := _CLOCK.fullmatch(s):
        days, hours, minutes, seconds = m.groups()
        return (
            int(days or 0) * 86400.0
            + int(hours or 0) * 3600.0
            + int(minutes) * 60.0
            + float(seconds)
        )
    raise ValueError(f"not a duration: {text!r}; {_EXPECTED}")
