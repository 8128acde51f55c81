"""Small pieces the widgets share: message boxes and tables as HTML."""

from __future__ import annotations

import html
from collections.abc import Iterable

import ipywidgets as widgets
import pandas as pd

from scte35lab.analysis.timeline import ERROR, OK

WARN = "#9a6700"


def message_html(lines: Iterable[str], color: str) -> str:
    """Lines as one coloured block (empty string when there are none)."""
    items = [html.escape(str(line)) for line in lines]
    if not items:
        return ""
    body = "<br>".join(items)
    return f"<div class='s35-msg' style='color:{color};font-family:monospace'>{body}</div>"


def show_error(target: widgets.HTML, error: BaseException | str) -> None:
    """Put ``error`` in ``target`` as one red line: errors stay in place, never tracebacks."""
    target.value = message_html([str(error)], ERROR)


def show_ok(target: widgets.HTML, text: str) -> None:
    """Put ``text`` in ``target`` as one green line."""
    target.value = message_html([text], OK)


def frame_html(df: pd.DataFrame, *, max_rows: int = 200, css_class: str = "s35-table") -> str:
    """``df`` as a compact HTML table (no index)."""
    if df.empty:
        return "<i>(none)</i>"
    table = df.head(max_rows).to_html(
        index=False, classes=css_class, border=0, na_rep="", escape=True
    )
    style = (
        f"<style>.{css_class} td, .{css_class} th {{white-space:nowrap;font-size:12px;"
        "padding:1px 6px;text-align:left}</style>"
    )
    return f"{style}<div style='overflow-x:auto;max-width:100%'>{table}</div>"
