"""``Timeline``: a probed stream drawn with matplotlib — frames, IDRs, audio, cue arrivals,
splice points and break spans — zooming to any cue with its IDR offset and pre-roll marked.

The timing rules are DESIGN.md's: a cue is placed right when its splice point is the PTS of
an IDR, and it arrives (PTS of the last video frame before it) at least ``preroll`` seconds
before that point.
"""

from __future__ import annotations

import html
import logging
import os

import ipywidgets as widgets
import pandas as pd
from matplotlib.figure import Figure

from scte35lab.analysis import Probe, probe
from scte35lab.analysis.timeline import (
    DEFAULT_PREROLL,
    break_spans,
    cue_checks,
    figure_png,
    plot_timeline,
)
from scte35lab.widgets.common import ERROR, OK, frame_html

log = logging.getLogger(__name__)

__all__ = ["Timeline", "break_spans", "cue_checks", "figure_png", "plot_timeline"]


class Timeline(widgets.VBox):
    """The timeline of a probed stream with a cue picker (``cue``: ``None`` = whole stream),
    the pre-roll minimum (``preroll``), the figure as an image (``image``; the matplotlib
    ``figure`` too) and the per-cue checks (``checks`` frame, ``table`` HTML)."""

    def __init__(
        self, source: Probe | str | os.PathLike, *, preroll: float = DEFAULT_PREROLL
    ) -> None:
        self.probe = source if isinstance(source, Probe) else probe(source)
        self.figure: Figure | None = None
        self.checks = cue_checks(self.probe, preroll=preroll)
        self.cue = widgets.Dropdown(description="zoom to", options=self._cue_options())
        self.preroll = widgets.BoundedFloatText(
            description="pre-roll ≥", value=preroll, min=0.0, max=60.0, step=0.5
        )
        self.image = widgets.Image(format="png")
        self.summary = widgets.HTML()
        self.table = widgets.HTML()
        self.cue.observe(lambda _c: self.redraw(), names="value")
        self.preroll.observe(lambda _c: self.redraw(), names="value")
        super().__init__(
            [widgets.HBox([self.cue, self.preroll]), self.image, self.summary, self.table]
        )
        self.add_class("s35-timeline")
        self.redraw()

    def _cue_options(self) -> list[tuple[str, int | None]]:
        opts: list[tuple[str, int | None]] = [("whole stream", None)]
        for c in self.checks.itertuples(index=False):
            mark = "ok" if c.ok else "MISPLACED"
            when = "" if pd.isna(c.splice_time) else f" → {c.splice_time:.2f} s"
            opts.append((f"#{c.cue} {c.command_name}{when} [{mark}]", c.cue))
        return opts

    def zoom(self, cue: int | None) -> None:
        """Zoom to row ``cue`` of ``probe.cues`` (``None``: the whole stream)."""
        self.cue.value = cue

    def redraw(self) -> None:
        """Recompute the checks and draw the figure for the current cue and pre-roll."""
        self.checks = cue_checks(self.probe, preroll=self.preroll.value)
        labels = dict((v, k) for k, v in self._cue_options())
        self.cue.options = [(labels[v], v) for _k, v in self.cue.options]
        self.figure = plot_timeline(self.probe, cue=self.cue.value, preroll=self.preroll.value)
        self.image.value = figure_png(self.figure)
        checks = self.checks
        bad = checks[~checks["ok"] & ~checks["repeat"]]
        cues = int((~checks["repeat"]).sum())
        verdict = html.escape(checks.attrs.get("summary", ""))
        if len(checks) == 0:
            self.summary.value = "<i>no cues in this stream</i>"
        elif len(bad):
            items = "".join(
                f"<li>cue {r.cue} ({html.escape(str(r.key))}): <b>{html.escape(r.reasons)}</b>"
                f" {html.escape(r.detail)}</li>"
                for r in bad.itertuples()
            )
            self.summary.value = (
                f"<div class='s35-misplaced' style='color:{ERROR}'><b>{len(bad)} of {cues} "
                f"cue(s) misplaced</b><ul>{items}</ul><small>{verdict}</small></div>"
            )
        else:
            self.summary.value = (
                f"<div class='s35-ok' style='color:{OK}'><b>all {cues} cue(s) on an IDR with "
                f"at least {self.preroll.value:g} s pre-roll</b><br><small>{verdict}</small></div>"
            )
        cols = ["cue", "command_name", "kind", "repeat", "arrival_time", "splice_time"]
        cols += ["offset_frames", "preroll", "ok", "reasons"]
        self.table.value = frame_html(checks[cols])

    def __repr__(self) -> str:
        return f"Timeline({self.probe.name!r}, {len(self.checks)} cue(s))"
