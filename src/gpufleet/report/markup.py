"""HTML snippets every page uses: escaped text and numbers that carry their exact value.

A number on a page sits in an element with `data-metric` (where it comes from: a path in
metrics.json, or `energy.*`, `queue.*`, `ledger.*` for the report's own reductions) and
`data-value` (the exact value), so tests and scripts read the page back without parsing text.
"""

from __future__ import annotations

import html


def esc(text: object) -> str:
    """Text escaped for HTML content and attribute values."""
    return html.escape(str(text), quote=True)


def number(
    key: str, value: float, text: str, run: int | None = None, tag: str = "td", cls: str = ""
) -> str:
    """A number shown as `text`, carrying its key and exact value (and its run on a comparison)."""
    attrs = (f' class="{cls}"' if cls else "") + ("" if run is None else f' data-run="{run}"')
    return f'<{tag}{attrs} data-metric="{esc(key)}" data-value="{value!r}">{esc(text)}</{tag}>'


def table(table_id: str, heads: list[str], rows: list[str]) -> str:
    """A table with one header row; `rows` are finished `<tr>` elements."""
    th = "".join(f"<th>{esc(h)}</th>" for h in heads)
    return f"<table id='{esc(table_id)}'><tr>{th}</tr>{''.join(rows)}</table>"


def note(text: str, cls: str = "note") -> str:
    return f'<p class="{esc(cls)}">{esc(text)}</p>'
