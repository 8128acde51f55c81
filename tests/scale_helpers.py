"""Shared by the scale tests: a few minutes of generated capture with cues, made once per
session by FFmpeg and scte35lab's injector, and table comparison."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd

from scte35lab.cue import Cue
from scte35lab.cue.descriptors import SegmentationDescriptor
from scte35lab.ts.inject import inject

CAPTURE_SECONDS = 180
TABLES = ("pids", "frames", "cues", "errors")


def generated_capture(folder: Path) -> Path:
    """Three minutes of 192x108 H.264 + AAC with a splice_insert out/in every 40 s and, between
    them, a time_signal whose five segmentation descriptors make a 1155-byte section (seven
    packets), each cue repeated every second until its splice time."""
    out = folder / "three_minutes.ts"
    if out.exists():
        return out
    plain = folder / "three_minutes.plain.ts"
    cmd = [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size=192x108:rate=25:duration={CAPTURE_SECONDS}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={CAPTURE_SECONDS}",
        "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-sc_threshold", "0",
        "-b:v", "150k", "-c:a", "aac", "-b:a", "32k",
        "-muxdelay", "0", "-muxpreload", "0", "-f", "mpegts", str(plain),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, timeout=120)
    cues = []
    for k, at in enumerate(range(20, CAPTURE_SECONDS - 10, 40)):
        cues.append((float(at), Cue.splice_insert(k + 1, out_of_network=True)))
        cues.append((float(at + 20), Cue.splice_insert(k + 1, out_of_network=False)))
        cues.append((float(at + 10), Cue.time_signal(0, _long_descriptors(k))))
    inject(str(plain), str(out), cues)
    plain.unlink()
    return out


def _long_descriptors(k: int) -> list[SegmentationDescriptor]:
    return [
        SegmentationDescriptor(
            segmentation_event_id=100 * k + i,
            segmentation_upid_type=0x09,
            segmentation_upid="ADI-" + "x" * 200,
            segmentation_type_id=0x34,
            segmentation_duration=20 * 90_000,
        )
        for i in range(5)
    ]


def assert_same_probe(got, want, *, packets: bool = False) -> None:
    """Every table (and the summary) of two probes equal, row for row, dtype for dtype."""
    for t in (*TABLES, "packets") if packets else TABLES:
        pd.testing.assert_frame_equal(getattr(got, t), getattr(want, t), obj=t)
    assert got.summary() | {"source": ""} == want.summary() | {"source": ""}
    assert got.zero_pts == want.zero_pts
