"""dash.js in headless Chromium plays what package_cmaf wrote and fires each inband SCTE-35
event (emsg, urn:scte:scte35:2013:bin) at its splice point, version 1 and version 0."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import HERE, play

from scte35lab import package_cmaf, probe

SAMPLES = Path(__file__).resolve().parents[2] / "sample_streams"
CUES_OK = SAMPLES / "cues_ok.ts"
SCHEME = "urn:scte:scte35:2013:bin"
FRAME = 1 / 25  # cues_ok.ts is 25 fps


@pytest.fixture(scope="module", params=[1, 0], ids=["emsg-v1", "emsg-v0"])
def played(request, chromium, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp(f"cmaf-site-v{request.param}")
    package_cmaf(CUES_OK, root / "cmaf", segment=2.0, emsg_version=request.param)
    shutil.copyfile(HERE / "cmaf.html", root / "cmaf.html")
    out = play(chromium, root, "cmaf.html", "cmaf/manifest.mpd", seconds=20)
    assert out["error"] is None, (out["error"], out["console"][-10:])
    return out


def _sections() -> list[str]:
    return list(dict.fromkeys(probe(CUES_OK).cues["base64"]))


def test_dashjs_receives_each_emsg_once_with_the_section_bit_exact(played):
    got = [e for e in played["received"] if e["scheme"] == SCHEME]
    assert sorted(e["messageData"] for e in got) == sorted(_sections()), played["received"]
    times = sorted(round(e["calculatedPresentationTime"], 6) for e in got)
    assert times == [6.0, 6.0, 8.0]


def test_dashjs_fires_each_event_within_one_frame_of_its_splice_point(played):
    started = played["started"]
    assert sorted(e["messageData"] for e in started) == sorted(_sections())
    for e in started:
        late = e["currentTime"] - e["calculatedPresentationTime"]
        assert -1e-6 <= late <= FRAME, e


@pytest.fixture(scope="module")
def hls_played(chromium, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("cmaf-hls-site")
    package_cmaf(CUES_OK, root / "cmaf", segment=2.0)
    out = play(chromium, root, "hls.html", "cmaf/master.m3u8")
    assert out["error"] is None, (out["error"], out["console"][-10:])
    return out


def test_hlsjs_plays_the_same_cmaf_segments_and_fires_the_dateranges_on_time(hls_played):
    ranges = {r["id"]: r for r in hls_played["dateRanges"]}
    assert set(ranges) == {"splice-100", "seg-200"}
    assert all(r["startTime"] == 6.0 for r in ranges.values())
    fired = {k: v for k, v in hls_played["cues"].items() if v["key"] == "SCTE35-OUT"}
    assert set(fired) == {"splice-100/SCTE35-OUT", "seg-200/SCTE35-OUT"}, hls_played["cues"]
    for cue in fired.values():
        assert 0 <= cue["currentTime"] - 6.0 <= 0.25, cue
    assert hls_played["video"]["currentTime"] > 8.0  # fMP4 video really played through
