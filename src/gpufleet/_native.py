"""The scheduler's hot path, compiled or from source.

`pip install` compiles `MODULES` with mypyc (setup.py) into extension modules beside their
sources: the same code, typed as it is, run as C, about 1.3x to 1.5x faster (docs/benchmarks.md).
An extension module is imported before a source file of the same name, so an edited source
would be ignored until the next install; and compiled modules call one another directly, so
they run all compiled or all from source. `use_source_if_needed`, called when gpufleet is
imported, keeps them honest: it imports every one of them from source when
`GPUFLEET_PURE=1` is set, or when any source differs from the one that was compiled (with a
warning that says to reinstall).

Standard library only: setup.py reads `MODULES` from this file before gpufleet is built.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType

MODULES = (
    "gpufleet.value",
    "gpufleet.fleet.state",
    "gpufleet.policy.placement",
    "gpufleet.scheduler.events",
    "gpufleet.scheduler.sortedseq",
    "gpufleet.scheduler.core",
    "gpufleet.scheduler.fairqueue",
    "gpufleet.scheduler.fairshare",
    "gpufleet.scheduler.quota",
    "gpufleet.scheduler.tenants",
    "gpufleet.engine.faults",
    "gpufleet.engine.sim",
)
BUILD_FILE = "_native_build.json"  # module -> sha256 of the source it was compiled from
PURE_ENV = "GPUFLEET_PURE"

_ROOT = Path(__file__).resolve().parent  # the gpufleet package
_mode = "source"


def source_of(module: str, root: Path = _ROOT) -> Path:
    """The .py file of one of `MODULES` under the package directory `root`."""
    return root.joinpath(*module.split(".")[1:]).with_suffix(".py")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def compiled(module: str, root: Path = _ROOT) -> bool:
    """Is there an extension module for `module` beside its source?"""
    src = source_of(module, root)
    return any(
        src.with_name(src.stem + suffix).exists()
        for suffix in importlib.machinery.EXTENSION_SUFFIXES
    )


def mode() -> str:
    """'compiled' when the hot path runs compiled, else 'source' (with why, when it could
    have been compiled)."""
    return _mode


def use_source_if_needed(root: Path = _ROOT) -> str:
    """Import `MODULES` from source if asked to or if the compiled ones are out of date;
    returns the mode (see `mode`). Must run before any of them is imported."""
    global _mode
    why = source_reason(root, os.environ)
    if why is None:
        _mode = "compiled"
    elif not why:
        _mode = "source"
    else:
        if why.startswith("edited"):
            warnings.warn(
                f"gpufleet: {why}; running every compiled module from source (slower). "
                "Reinstall (pip install -e .) to compile them again.",
                RuntimeWarning,
                stacklevel=2,
            )
        if not any(isinstance(f, _SourceFinder) for f in sys.meta_path):
            sys.meta_path.insert(0, _SourceFinder(root))
        _mode = f"source ({why})"
    return _mode


def source_reason(root: Path, env: Mapping[str, str]) -> str | None:
    """Why `MODULES` under package directory `root` must run from source: "" when none is
    compiled, None when the compiled ones may run."""
    if not any(compiled(m, root) for m in MODULES):
        return ""
    if env.get(PURE_ENV, "") not in ("", "0"):
        return f"{PURE_ENV} is set"
    stale = _stale(root)
    if stale:
        return "edited since it was compiled: " + ", ".join(stale)
    return None


def _stale(root: Path) -> list[str]:
    """Modules whose source differs from the one compiled (all when nothing says)."""
    try:
        built = json.loads((root / BUILD_FILE).read_text())
    except (OSError, ValueError):
        return list(MODULES)
    return [m for m in MODULES if built.get(m) != digest(source_of(m, root))]


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Finds `MODULES` as source files, ahead of the extension modules beside them."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MODULES:
            return None
        return importlib.util.spec_from_file_location(fullname, source_of(fullname, self.root))
