"""TS cues -> emsg -> TS: cmaf_to_ts remuxes CMAF and injects the sections its emsg boxes (or
event track) carry; the round trip is exact at the section level and still verifies."""

from __future__ import annotations

from pathlib import Path

import pytest

from scte35lab import package_cmaf, probe, verify
from scte35lab.errors import StreamError
from scte35lab.manifest import cmaf_to_ts

SAMPLES = Path(__file__).resolve().parents[1] / "sample_streams"
CUES_OK = SAMPLES / "cues_ok.ts"


def _sections(p) -> list[tuple[str, int]]:
    out: dict[str, int] = {}
    for row in p.cues.itertuples():
        out.setdefault(row.base64, int(row.splice_point))
    return list(out.items())


@pytest.mark.parametrize("version", [1, 0])
def test_ts_to_emsg_to_ts_keeps_every_section_bit_exact_at_its_splice_point(tmp_path, version):
    pkg = package_cmaf(CUES_OK, tmp_path / "cmaf", emsg_version=version)
    back = tmp_path / "back.ts"
    table = cmaf_to_ts(pkg.mpd, back)
    assert len(table) == 3
    src, out = probe(CUES_OK), probe(back)
    assert _sections(out) == _sections(src)
    assert out.keyframes["pts"].tolist() == src.keyframes["pts"].tolist()
    assert set(out.pids["codec"]) >= {"h264", "aac", "scte_35"}
    assert len(out.errors) == 0, out.errors.head().to_string()
    report = verify(out)
    assert report["ok"].all(), report.attrs["summary"]


def test_event_track_alone_converts_too(tmp_path):
    pkg = package_cmaf(CUES_OK, tmp_path / "cmaf", emsg_boxes=False, event_track=True)
    assert not any(b"emsg" in p.read_bytes() for p in (tmp_path / "cmaf").glob("video-*.m4s"))
    back = tmp_path / "back.ts"
    cmaf_to_ts(pkg.mpd, back)
    assert _sections(probe(back)) == _sections(probe(CUES_OK))


def test_a_ts_input_is_not_cmaf(tmp_path):
    with pytest.raises(StreamError, match="not fragmented MP4"):
        cmaf_to_ts(CUES_OK, tmp_path / "x.ts")
