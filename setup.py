"""Build: compile the scheduler's hot path with mypyc (`gpufleet._native.MODULES`).

The project's metadata is in pyproject.toml; this file only adds the extension modules.
`GPUFLEET_PURE=1 pip install ...` builds none; without a C compiler or mypyc the build goes
on without them (a warning says so) and gpufleet runs from source, about 1.3x-1.5x slower.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
PACKAGE = HERE / "src" / "gpufleet"
native = runpy.run_path(str(PACKAGE / "_native.py"))


def _warn(what: str) -> None:
    print(f"gpufleet: {what}; gpufleet will run from source (slower)", file=sys.stderr)


# Commands that build code; pip also runs this file only to read metadata (egg_info,
# dist_info), where compiling would cost a minute for nothing.
BUILDS = {"build", "build_ext", "bdist_wheel", "editable_wheel", "develop", "install"}


def ext_modules() -> list[Any]:
    if os.environ.get(native["PURE_ENV"], "") not in ("", "0"):
        return []
    if not BUILDS & set(sys.argv[1:]):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        _warn("mypyc is not available, the hot path is not compiled")
        return []
    sources = [native["source_of"](m, PACKAGE) for m in native["MODULES"]]
    # Built in isolation: the run-time dependencies are not installed here, so their types
    # are unknown (Any) to the compiler; the project's strict settings are for `mypy` itself.
    args = ["--config-file", os.devnull, "--ignore-missing-imports", "--python-version", "3.11"]
    try:
        exts: list[Any] = mypycify(
            args + [str(p.relative_to(HERE)) for p in sources],
            opt_level="3",
            group_name="gpufleet_native",
        )
    except (Exception, SystemExit) as exc:  # mypyc refused the code: install it as it is
        _warn(f"mypyc could not compile the hot path ({exc!r})")
        return []
    built = {m: native["digest"](p) for m, p in zip(native["MODULES"], sources, strict=True)}
    (PACKAGE / native["BUILD_FILE"]).write_text(json.dumps(built, indent=1) + "\n")
    return exts


class OptionalBuildExt(build_ext):  # type: ignore[misc]
    """Compiling is an optimisation: a failed compile leaves the pure-Python package. All or
    nothing: the compiled modules call one another directly and share one runtime library."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler, no Python headers, ...
            for out in self.get_outputs():
                Path(out).unlink(missing_ok=True)
            (PACKAGE / native["BUILD_FILE"]).unlink(missing_ok=True)
            _warn(f"compiling the hot path failed ({exc})")


setup(ext_modules=ext_modules(), cmdclass={"build_ext": OptionalBuildExt})
