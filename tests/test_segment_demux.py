"""The HLS/DASH Segmenter reads the stream through the shared demultiplexer."""

from __future__ import annotations

import ast
from pathlib import Path

from scte35lab.manifest.segment import Segmenter

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_streams"


def test_segmenter_imports_no_analysis():
    tree = ast.parse((ROOT / "scte35lab" / "manifest" / "segment.py").read_text())
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any(m.startswith("scte35lab.analysis") for m in imported)
    assert "pandas" not in imported


def test_segmenter_cuts_at_splice_points_from_private_pes_cues():
    # ffmpeg_remux.ts carries its cues as FFmpeg writes them: SCTE-35 inside 0x06 PES
    seg = Segmenter(2.0)
    data = (SAMPLES / "ffmpeg_remux.ts").read_bytes()
    out = []
    for i in range(0, len(data), 1316):
        out += seg.feed(data[i : i + 1316])
    out += seg.flush()
    kinds = [(e.kind, e.event_id) for e in seg.events]
    assert ("out", 100) in kinds and ("in", 100) in kinds
    starts = {round(seg.stream_time(s.start), 3) for s in out if s.forced}
    assert {6.0, 8.0} <= starts
    assert all(len(s.data) % 188 == 0 and s.data[0] == 0x47 for s in out)
