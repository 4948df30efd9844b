"""Duration text from trace files."""

from __future__ import annotations

import pytest

from gpufleet.workload.units import parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("3600", 3600.0),
        ("1.5e3", 1500.0),
        (" 45 ", 45.0),
        ("0", 0.0),
        ("30s", 30.0),
        ("90m", 5400.0),
        ("15min", 900.0),
        ("2h", 7200.0),
        ("1.5h", 5400.0),
        ("1d", 86400.0),
        ("1w", 604800.0),
        ("1h30m", 5400.0),
        ("2H", 7200.0),
        ("05:30", 330.0),
        ("02:00:00", 7200.0),
        ("1-02:00:00", 93600.0),
    ],
)
def test_parses(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "  ", "abc", "1x", "h", "-5", "-1h", "inf", "nan", "1h-2m"])
def test_rejects_with_the_text_and_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match="duration") as info:
        parse_duration(text)
    if text.strip():
        assert repr(text) in str(info.value)
