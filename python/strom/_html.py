"""HTML tables for notebooks (``_repr_html_``): plain, escaped, no scripts or styles beyond a
few inline ones, so they render in Jupyter, VS Code and GitHub alike."""

from __future__ import annotations

import datetime as _dt
import html
from typing import Any, Iterable, Optional, Sequence


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def size(n: Optional[int]) -> str:
    if n is None:
        return ""
    step = 1024.0
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < step or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= step
    return f"{n} B"


def show_bytes(b: Optional[bytes], limit: int = 60) -> str:
    """A key or value for a table: text when it decodes as UTF-8, else hex; shortened."""
    if b is None:
        return "<i>null</i>"
    try:
        text = b.decode("utf-8")
        shown = text if len(text) <= limit else text[: limit - 1] + "…"
        return esc(shown)
    except UnicodeDecodeError:
        hexed = b.hex(" ")
        shown = hexed if len(hexed) <= limit else hexed[: limit - 1] + "…"
        return f"<code>{esc(shown)}</code>"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], raw: bool = False) -> str:
    """A table; cells are escaped unless `raw` (cells already HTML)."""
    head = "".join(f"<th style='text-align:left'>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f"<td style='text-align:left'>{c if raw else esc(c)}</td>" for c in row
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def titled(title: str, body: str, note: str = "") -> str:
    extra = f" <span style='color:#888'>{esc(note)}</span>" if note else ""
    return f"<div><b>{esc(title)}</b>{extra}{body}</div>"


def timestamp(ms: int) -> str:
    """Milliseconds since the epoch as an ISO time (UTC)."""
    try:
        t = _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.timezone.utc)
        return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return str(ms)
