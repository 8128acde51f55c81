"""hls.js (pinned 1.6.x) in headless Chromium plays what package_hls wrote and sees its cues."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from conftest import play

from scte35lab import package_hls, probe

SAMPLES = Path(__file__).resolve().parents[2] / "sample_streams"
CUES_OK = SAMPLES / "cues_ok.ts"
SPLICE_OUT = 6.0  # stream time of the splice_insert out (event 100) and time_signal 0x34
SPLICE_IN = 8.0


@pytest.fixture(scope="module")
def played(chromium, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("hls-site")
    package_hls(CUES_OK, root / "hls", segment=2.0)
    out = play(chromium, root, "hls.html", "hls/index.m3u8")
    assert out["error"] is None, (out["error"], out["console"][-10:])
    assert out["loaded"], out["console"][-10:]
    return out


def _hex(b64: str) -> str:
    return "0x" + base64.b64decode(b64).hex().upper()


def test_hlsjs_is_the_pinned_release(played):
    assert played["version"].startswith("1.6."), played["version"]


def test_hlsjs_parses_each_daterange_with_start_at_its_splice_time(played):
    ranges = {r["id"]: r for r in played["dateRanges"]}
    assert set(ranges) == {"splice-100", "seg-200"}
    for r in ranges.values():
        assert r["startTime"] == SPLICE_OUT  # exactly, not approximately
        assert r["plannedDuration"] == 2.0
    out = ranges["splice-100"]
    assert out["duration"] == SPLICE_IN - SPLICE_OUT
    cues = probe(CUES_OK).cues
    sections = {_hex(b) for b in cues["base64"]}
    assert out["attr"]["SCTE35-OUT"] in sections
    assert out["attr"]["SCTE35-IN"] in sections
    assert ranges["seg-200"]["attr"]["SCTE35-OUT"] in sections


def test_hlsjs_sees_the_cue_out_and_cue_in_tags_on_the_splice_segments(played):
    frags = {f["start"]: f["tags"] for f in played["fragments"]}
    assert "EXT-X-CUE-OUT:DURATION=2.000" in frags[SPLICE_OUT]
    assert "EXT-X-CUE-IN" in frags[SPLICE_IN]
    assert any(t.startswith("EXT-OATCLS-SCTE35:") for t in frags[SPLICE_OUT])
    assert not any("CUE" in t for start, tags in frags.items() if start < SPLICE_OUT for t in tags)


def test_scte35_out_cue_fires_within_250_ms_of_the_splice_time(played):
    fired = {k: v for k, v in played["cues"].items() if v["key"] == "SCTE35-OUT"}
    assert set(fired) == {"splice-100/SCTE35-OUT", "seg-200/SCTE35-OUT"}, played["cues"]
    for cue in fired.values():
        assert cue["startTime"] == SPLICE_OUT
        late = cue["currentTime"] - SPLICE_OUT
        assert 0 <= late <= 0.25, cue
    assert played["video"]["currentTime"] > SPLICE_IN  # it really played through the break


def test_scte35_out_cue_payload_is_the_section_bit_exact(played):
    cue = played["cues"]["splice-100/SCTE35-OUT"]
    assert "0x" + cue["data"] in {_hex(b) for b in probe(CUES_OK).cues["base64"]}
