"""dash.js in headless Chromium plays what package_dash wrote and delivers its SCTE-35 events."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import play

from scte35lab import package_dash, probe

SAMPLES = Path(__file__).resolve().parents[2] / "sample_streams"
CUES_OK = SAMPLES / "cues_ok.ts"
SCHEMES = ("urn:scte:scte35:2013:xml", "urn:scte:scte35:2014:xml+bin")


@pytest.fixture(scope="module")
def played(chromium, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("dash-site")
    package_dash(CUES_OK, root / "dash", segment=2.0)
    out = play(chromium, root, "dash.html", "dash/manifest.mpd", seconds=20)
    assert out["error"] is None, (out["error"], out["console"][-10:])
    return out


def test_dashjs_receives_every_event_of_both_schemes(played):
    for scheme in SCHEMES:
        got = [e for e in played["received"] if e["scheme"] == scheme]
        assert sorted(e["id"] for e in got) == [0, 1, 2], played["received"]
        times = sorted(e["calculatedPresentationTime"] for e in got)
        assert times == [6.0, 6.0, 8.0]


def test_dashjs_gets_the_binary_sections_bit_exact(played):
    got = [e for e in played["received"] if e["scheme"] == SCHEMES[1]]
    sections = list(dict.fromkeys(probe(CUES_OK).cues["base64"]))
    assert [e["messageData"] for e in sorted(got, key=lambda e: e["id"])] == sections


def test_dashjs_starts_each_event_within_250_ms_of_its_time(played):
    started = played["started"]
    assert {(e["scheme"], e["id"]) for e in started} == {(s, i) for s in SCHEMES for i in (0, 1, 2)}
    for e in started:
        late = e["currentTime"] - e["calculatedPresentationTime"]
        assert 0 <= late <= 0.25, e
