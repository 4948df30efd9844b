"""Sites' power_phases in fleet files: read in order, and bad ones named by file, field, line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from gpufleet.errors import ConfigError
from gpufleet.fleet.loader import load_fleet

# line 1 is `name: t`; the phases start on line 8
SITE = """\
name: t
sites:
  - id: a
    owner: o
    kind: research_cloud
    region: r
    source: s
{phases}    clusters:
      - id: c
        gpu_model: H100
        gpus: 16
        source: s
"""


def _load(tmp_path: Path, phases: str) -> object:
    path = tmp_path / "f.yaml"
    path.write_text(SITE.format(phases=phases), encoding="utf-8")
    return load_fleet(str(path))


def test_phases_are_read_in_order(tmp_path: Path) -> None:
    fleet = _load(
        tmp_path,
        "    online: 2026-03\n"
        "    power_phases:\n"
        "      - {date: 2027-06, mw: 55, source: '[S46]'}\n"
        "      - {date: 2027-12-15, mw: 100, source: '[S47]'}\n",
    )
    site = fleet.sites[0]  # type: ignore[attr-defined]
    assert [(p.start, p.mw) for p in site.power_phases] == [
        (date(2027, 6, 1), 55.0),
        (date(2027, 12, 15), 100.0),
    ]


def test_korea_has_naver_and_sk_phases() -> None:
    korea = load_fleet("korea-2025")
    phases = {s.id: [p.mw for p in s.power_phases] for s in korea.sites if s.power_phases}
    assert phases == {"naver-gak-sejong": [55.0, 100.0, 200.0], "sk-ulsan": [40.0, 103.0]}


BAD = {
    "not_a_date": (
        "    power_phases:\n      - {date: 2027-H1, mw: 55, source: s}\n",
        ["sites[0].power_phases[0].date", "(line 9)", "YYYY-MM"],
    ),
    "out_of_order": (
        "    power_phases:\n"
        "      - {date: 2027-12, mw: 55, source: s}\n"
        "      - {date: 2027-06, mw: 100, source: s}\n",
        ["sites[0].power_phases[1].date", "(line 10)", "not after"],
    ),
    "zero_mw": (
        "    power_phases:\n      - {date: 2027-06, mw: 0, source: s}\n",
        ["sites[0].power_phases[0].mw", "greater than 0"],
    ),
    "no_source": (
        "    power_phases:\n      - {date: 2027-06, mw: 5}\n",
        ["sites[0].power_phases[0].source", "required"],
    ),
    "unknown_field": (
        "    power_phases:\n      - {date: 2027-06, mw: 5, source: s, kw: 3}\n",
        ["sites[0].power_phases[0].kw", "(line 9)", "unknown field"],
    ),
    "bad_online": ("    online: soon\n", ["sites[0].online", "(line 8)", "YYYY-MM"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_phases_name_file_field_and_line(case: str, tmp_path: Path) -> None:
    text, fragments = BAD[case]
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, text)
    msg = str(err.value)
    assert msg.startswith(str(tmp_path / "f.yaml")), msg
    assert "\n" not in msg
    for fragment in fragments:
        assert fragment in msg, (fragment, msg)
