"""The compiled hot path (gpufleet._native): when the compiled modules may run, and the
tests that can only run from source."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gpufleet import _native

ROOT = Path(__file__).resolve().parents[1]


def _package(tmp_path: Path, compiled: bool, built: dict[str, str] | None) -> Path:
    """A package directory holding the sources of the hot path, compiled or not."""
    root = tmp_path / "gpufleet"
    for m in _native.MODULES:
        src = _native.source_of(m, root)
        src.parent.mkdir(parents=True, exist_ok=True)
        src.write_text(f"# {m}\n")
        if compiled:
            src.with_name(src.stem + ".cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    if built is not None:
        (root / _native.BUILD_FILE).write_text(json.dumps(built))
    return root


def _digests(root: Path) -> dict[str, str]:
    return {m: _native.digest(_native.source_of(m, root)) for m in _native.MODULES}


def test_nothing_compiled_runs_from_source(tmp_path: Path) -> None:
    assert _native.source_reason(_package(tmp_path, False, None), {}) == ""


def test_compiled_from_these_sources_runs_compiled(tmp_path: Path) -> None:
    root = _package(tmp_path, True, None)
    (root / _native.BUILD_FILE).write_text(json.dumps(_digests(root)))
    assert _native.source_reason(root, {}) is None
    assert _native.source_reason(root, {_native.PURE_ENV: "0"}) is None
    assert _native.source_reason(root, {_native.PURE_ENV: "1"}) == "GPUFLEET_PURE is set"


def test_an_edited_source_runs_everything_from_source(tmp_path: Path) -> None:
    root = _package(tmp_path, True, None)
    (root / _native.BUILD_FILE).write_text(json.dumps(_digests(root)))
    _native.source_of("gpufleet.scheduler.quota", root).write_text("# edited\n")
    why = _native.source_reason(root, {})
    assert why == "edited since it was compiled: gpufleet.scheduler.quota"


def test_compiled_without_a_record_of_its_sources_is_not_trusted(tmp_path: Path) -> None:
    why = _native.source_reason(_package(tmp_path, True, None), {})
    assert why is not None and why.startswith("edited since it was compiled: ")
    assert why.count("gpufleet.") == len(_native.MODULES)
    bad = _package(tmp_path / "bad", True, None)
    (bad / _native.BUILD_FILE).write_text("{not json")
    assert _native.source_reason(bad, {}) == why


def test_this_install_runs_what_its_files_say() -> None:
    """The mode this process runs in matches the modules it imported."""
    import gpufleet.scheduler.core as core

    assert _native.mode() == "compiled" or _native.mode().startswith("source")
    assert core.__file__ is not None
    assert core.__file__.endswith(".py") == (_native.mode() != "compiled")


def test_source_only_tests_pass_from_source() -> None:
    """Tests that patch functions compiled callers call directly run here, from source,
    when this install is compiled (else they ran in place)."""
    if _native.mode() != "compiled":
        pytest.skip("the hot path runs from source: the source_only tests ran in place")
    env = {**os.environ, _native.PURE_ENV: "1"}
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "source_only"]
    done = subprocess.run(
        [*args, "tests"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and " skipped" not in done.stdout, done.stdout[-2000:]
