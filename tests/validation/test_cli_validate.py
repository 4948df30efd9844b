"""`gpufleet validate`: skipping without data, unknown checks, and the markdown sections."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from gpufleet.cli import main
from gpufleet.validation.checks import Row
from gpufleet.validation.report import section, update


def test_validate_skips_without_traces(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["validate", "--traces", str(tmp_path), "--no-doc"])
    assert r.exit_code == 0, r.output
    assert "skipped fgd" in r.stdout and "needs the public openb traces" in r.stdout


def test_validate_unknown_check_is_exit_2(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["validate", "pollux-typo", "--traces", str(tmp_path)])
    assert r.exit_code == 2 and "unknown check 'pollux-typo'; valid: fgd" in r.stderr


def test_doc_sections_are_replaced_in_place(tmp_path: Path) -> None:
    doc = tmp_path / "validation.md"
    rows = [Row("fgd", "fgd (x)", 95.39, 95.5, 12.0), Row("fgd", "first-fit (x)", None, 90, 1)]
    update(doc, "fgd", section("fgd", rows, "gpufleet validate fgd"))
    doc.write_text(doc.read_text() + "\n## kept\n")
    update(doc, "fgd", section("fgd", rows[:1], "gpufleet validate fgd"))
    text = doc.read_text()
    assert text.count("<!-- check:fgd -->") == 1 and "## kept" in text
    assert "| fgd (x) | 95.39 | 95.50 | 0.11 | 12.0 |" in text and "first-fit" not in text
