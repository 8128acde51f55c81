"""An HTML view of a decoded cue for notebooks: the dict form as nested tables."""

from __future__ import annotations

import html
from typing import Any

from scte35lab.cue.shape import CueShape
from scte35lab.errors import Scte35Error

_STYLE = (
    "border-collapse:collapse;font-family:monospace;font-size:12px;text-align:left;margin:2px 0"
)


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return _table(value)
    if isinstance(value, list):
        if not value:
            return "[]"
        return "".join(_cell(item) for item in value)
    return html.escape(repr(value) if isinstance(value, str) else str(value))


def _table(d: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><th style='padding:1px 6px;vertical-align:top'>{html.escape(k)}</th>"
        f"<td style='padding:1px 6px'>{_cell(v)}</td></tr>"
        for k, v in d.items()
    )
    return f"<table style='{_STYLE}'>{rows}</table>"


def cue_html(cue: CueShape) -> str:
    """The decoded tree of ``cue`` with its base64 on top."""
    try:
        b64 = cue.to_base64()
    except Scte35Error as exc:  # shown in place: the view must still render
        b64 = f"(cannot encode: {exc})"
    head = f"<div style='font-family:monospace'><b>{html.escape(repr(cue))}</b><br>{b64}</div>"
    return head + _table(cue.to_dict())
