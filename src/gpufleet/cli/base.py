"""The `gpufleet` command group and what every subcommand shares.

Errors from bad input (GpufleetError) become one line on stderr and exit code 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Console

from gpufleet.errors import GpufleetError

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_SCENARIO = "korea-2025"
DEFAULT_POLICY = "fifo+easy"


def out_console() -> Console:
    """Stdout console; at least 120 columns wide when not a terminal (pipes, files, tests)."""
    c = Console()
    return c if c.is_terminal else Console(width=max(c.width, 120))


def _fail(err: GpufleetError) -> None:
    click.echo(f"gpufleet: error: {err}", err=True)
    sys.exit(2)


class Group(click.Group):
    """Turns GpufleetError into one clear line and exit code 2, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GpufleetError as e:
            _fail(e)


@click.group(cls=Group)
@click.version_option(package_name="gpufleet")
def main() -> None:
    """gpufleet: the control plane and digital twin of a national GPU fleet."""
