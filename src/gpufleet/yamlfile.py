"""Read YAML files at the edge, turning pydantic and YAML errors into one-line ConfigErrors.

Every message names the file, the field path, the line when it can be found, and what was
expected, so that `gpufleet` can print it and exit 2 without a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from gpufleet.errors import ConfigError
from gpufleet.workload.units import parse_duration

# What every file model of the project takes: no unknown fields, values frozen once read.
STRICT = ConfigDict(extra="forbid", frozen=True)


def duration_seconds(v: Any) -> Any:
    """A pydantic `before` validator: "90m", "12h", "30d" to seconds; numbers pass through."""
    if isinstance(v, str):
        try:
            return parse_duration(v)
        except ValueError as e:
            raise ValueError(str(e)) from None
    return v


M = TypeVar("M", bound=BaseModel)


def load_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    """Parse a YAML file; return the data and its node tree (for line numbers)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read file: {e.strerror or e}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{path}:{where} malformed YAML: {problem}") from None
    dup = _duplicate_key(node)
    if dup is not None:
        key, line = dup
        raise ConfigError(f"{path}: line {line}: duplicate key {key!r}")
    return data, node


def _duplicate_key(node: yaml.Node | None) -> tuple[str, int] | None:
    """The first mapping key that appears twice (YAML would silently keep the last)."""
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.MappingNode):
            seen: set[str] = set()
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode):
                    if k.value in seen:
                        return k.value, k.start_mark.line + 1
                    seen.add(k.value)
                stack.append(v)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
    return None


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """Follow a pydantic error location through the YAML node tree to a line number."""
    line = None if node is None else node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                    nxt = v
                    break
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if 0 <= part < len(node.value) else None
        else:
            node = None
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def validate(model: type[M], data: Any, path: Path, node: yaml.Node | None) -> M:
    """Validate data against a pydantic model; raise ConfigError naming file, field and line."""
    if data is None:
        raise ConfigError(f"{path}: file is empty; expected a mapping")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        line = _line_of(node, loc)
        where = f" (line {line})" if line else ""
        extra = f" (+{e.error_count() - 1} more)" if e.error_count() > 1 else ""
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        raise ConfigError(f"{path}: {format_loc(loc)}{where}: {msg}{extra}") from None


def error_at(
    path: Path, node: yaml.Node | None, loc: tuple[int | str, ...], msg: str
) -> ConfigError:
    """Build a ConfigError for a cross-field check found after pydantic validation."""
    line = _line_of(node, loc)
    where = f" (line {line})" if line else ""
    return ConfigError(f"{path}: {format_loc(loc)}{where}: {msg}")
