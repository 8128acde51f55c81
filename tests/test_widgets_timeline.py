"""Timeline over real sample captures: which cues it marks misplaced, and what the figure
holds when zoomed to a cue."""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import numpy as np
import pytest

from scte35lab.analysis import probe
from scte35lab.widgets import Timeline
from scte35lab.widgets.common import ERROR, OK

SAMPLES = Path(__file__).resolve().parents[1] / "sample_streams"
DOCS = SAMPLES.parent / "docs"


@pytest.fixture(scope="module")
def probes():
    names = ("cues_ok", "cue_off_idr", "cue_late", "cue_out_no_in", "cue_bad_crc", "pts_wrap")
    return {n: probe(SAMPLES / f"{n}.ts") for n in names}


def _vlines(fig):
    """(x, color, linestyle) of every full-height vertical line (splice points)."""
    out = []
    for line in fig.axes[0].get_lines():
        x = line.get_xdata()
        if len(x) == 2 and x[0] == x[1] and tuple(line.get_ydata()) == (0, 1):
            out.append((float(x[0]), line.get_color(), line.get_linestyle()))
    return out


def test_cues_on_idrs_with_enough_preroll_are_all_ok(probes):
    t = Timeline(probes["cues_ok"])
    assert len(t.checks) == 6 and t.checks["ok"].all()
    assert (t.checks["offset_frames"] == 0).all()
    assert "all 3 cue(s) on an IDR" in t.summary.value
    assert "PASS" in t.summary.value
    assert t.figure.axes[0].get_title().endswith("3 cue(s) in 6 copies, all on time")
    assert {(x, c) for x, c, _ in _vlines(t.figure)} == {(6.0, OK), (8.0, OK)}


def test_a_cue_off_the_idr_stands_out_with_its_offset_in_frames(probes):
    t = Timeline(probes["cue_off_idr"])
    row = t.checks.iloc[0]
    assert not row["ok"]
    assert row["nearest_idr_time"] == 7.0 and row["offset_frames"] == -12.0
    assert row["reasons"] == "off_idr"
    assert "12.00 frames (480.0 ms) before the IDR at 7.000 s" in row["detail"]
    assert "1 of 1 cue(s) misplaced" in t.summary.value
    assert _vlines(t.figure) == [(6.52, ERROR, "--")]


def test_a_late_cue_is_flagged_for_its_preroll(probes):
    t = Timeline(probes["cue_late"])
    assert t.checks.loc[0, "preroll"] == 3.0
    assert t.checks.loc[0, "reasons"] == "late"
    assert t.checks.loc[0, "detail"] == "first arrives 3.000 s before its splice point < 4 s"
    assert "3.000 s before its splice point &lt; 4 s" in t.summary.value


def test_raising_the_preroll_minimum_flags_first_copies_under_it(probes):
    t = Timeline(probes["cues_ok"])
    t.preroll.value = 4.9
    late = t.checks[~t.checks["ok"]]
    assert list(late["key"]) == ["time_signal/0x34:200@1440000"]
    assert late.iloc[0]["preroll"] == 4.8
    assert "1 of 3 cue(s) misplaced" in t.summary.value


def test_repeats_may_arrive_under_the_preroll_but_before_the_splice(probes):
    t = Timeline(probes["cues_ok"], preroll=4.5)
    repeats = t.checks[t.checks["repeat"]]
    assert sorted(repeats["preroll"]) == [4.0, 4.48, 4.48]
    assert t.checks["ok"].all()


def test_a_cue_with_a_broken_crc_is_misplaced(probes):
    t = Timeline(probes["cue_bad_crc"])
    assert list(t.checks["ok"]) == [True, False]
    assert t.checks.loc[1, "reasons"] == "crc_error"


def test_zoom_frames_the_cue_and_annotates_idr_offset_and_preroll(probes):
    t = Timeline(probes["cue_off_idr"])
    t.zoom(0)
    ax = t.figure.axes[0]
    lo, hi = ax.get_xlim()
    assert lo < 1.0 and hi > 7.0 and hi - lo < 8.0
    texts = "\n".join(x.get_text() for x in ax.texts)
    assert "offset to nearest IDR (7.000 s): -480 ms = -12.00 frames" in texts
    assert "pre-roll 5.52 s (min 4 s)" in texts
    assert "MISPLACED (off_idr)" in texts
    t.zoom(None)
    assert t.figure.axes[0].get_xlim()[1] > 9.5


def test_break_spans_end_at_the_in_cue_or_stay_open_without_one(probes):
    closed = Timeline(probes["cues_ok"]).figure.axes[0].patches
    spans = sorted(
        (round(p.get_x(), 3), round(p.get_x() + p.get_width(), 3))
        for p in closed
        if p.get_width() > 0
    )
    assert spans == [(6.0, 8.0), (6.0, 8.0)]  # splice_insert 100 and time_signal 200
    t = Timeline(probes["cue_out_no_in"])
    (open_span,) = [p for p in t.figure.axes[0].patches if p.get_width() > 0]
    assert open_span.get_x() == 5.0 and open_span.get_hatch() == "//"


def test_an_out_that_never_returns_is_misplaced_as_unpaired(probes):
    t = Timeline(probes["cue_out_no_in"])
    assert t.checks.loc[0, "reasons"] == "unpaired"
    assert "an out with no in" in t.summary.value


def test_a_cue_across_the_pts_wrap_is_on_its_idr(probes):
    t = Timeline(probes["pts_wrap"])
    assert t.checks.loc[0, "ok"] and t.checks.loc[0, "splice_time"] == 5.0


def test_the_image_is_the_figure_as_png(probes):
    t = Timeline(probes["cue_late"])
    assert t.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    before = bytes(t.image.value)
    t.zoom(0)
    assert t.image.value != before
    assert np.isclose(t.figure.get_figwidth(), 11.0)


def test_the_docs_figure_script_writes_the_timeline_png(tmp_path):
    spec = importlib.util.spec_from_file_location("make_figures", DOCS / "make_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.make_timeline(tmp_path / "timeline.png")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1210, 396)
    assert (DOCS / "timeline.png").exists()
