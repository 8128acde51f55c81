"""verify on manifests: what an SSAI reads from a playlist or an MPD, tag by tag."""

from __future__ import annotations

from pathlib import Path

import pytest

from scte35lab import package_dash, package_hls, probe_playlist, verify

SAMPLES = Path(__file__).resolve().parents[1] / "sample_streams"
CUES_OK = SAMPLES / "cues_ok.ts"


@pytest.fixture(scope="module")
def hls(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hls")
    package_hls(CUES_OK, out, segment=1.0, tags=("daterange", "cue-out", "oatcls"))
    return out / "index.m3u8"


def _edit(playlist: Path, tmp_path: Path, old: str, new: str) -> Path:
    text = playlist.read_text()
    assert old in text
    for seg in playlist.parent.glob("*.ts"):
        (tmp_path / seg.name).write_bytes(seg.read_bytes())
    path = tmp_path / "edited.m3u8"
    path.write_text(text.replace(old, new, 1))
    return path


def test_our_own_playlist_verifies_tag_by_tag(hls):
    table = verify(hls)
    assert len(table) >= 8 and table["ok"].all(), table
    assert table.attrs["summary"].startswith("PASS")


def test_a_table_read_by_probe_playlist_verifies_the_same(hls):
    assert verify(probe_playlist(hls))["ok"].tolist() == verify(hls)["ok"].tolist()


def test_an_in_where_the_duration_does_not_end_the_break_is_an_in_mismatch(hls, tmp_path):
    edited = _edit(hls, tmp_path, "#EXT-X-CUE-IN\n", "")
    edited.write_text(
        edited.read_text().replace("seg_00008.ts\n", "seg_00008.ts\n#EXT-X-CUE-IN\n", 1)
    )
    table = verify(edited)
    row = table[table["tag"] == "EXT-X-CUE-IN"].iloc[0]
    assert not row["ok"] and "in_mismatch" in row["reasons"]
    assert "CUE-OUT duration ends it" in row["detail"]


def test_a_cont_that_disagrees_with_its_break_is_inconsistent(hls, tmp_path):
    edited = _edit(hls, tmp_path, "ElapsedTime=1.000", "ElapsedTime=0.400")
    row = verify(edited).query("tag == 'EXT-X-CUE-OUT-CONT'").iloc[0]
    assert not row["ok"] and row["reasons"] == "cont_inconsistent"


def test_a_daterange_off_the_splice_point_is_a_position_error(hls, tmp_path):
    text = hls.read_text()
    start = text.split('START-DATE="', 1)[1].split('"', 1)[0]  # 1970-01-01T00:00:16.000Z
    edited = _edit(hls, tmp_path, f'START-DATE="{start}"', f'START-DATE="{start[:-4]}500Z"')
    table = verify(edited)
    moved = table[(table["tag"] == "EXT-X-DATERANGE") & ~table["ok"]]
    assert len(moved) == 1
    assert "position_error" in moved.iloc[0]["reasons"]
    assert "off_boundary" in moved.iloc[0]["reasons"]


def test_a_damaged_tag_fails_without_stopping_the_others(hls, tmp_path):
    edited = _edit(hls, tmp_path, "#EXT-OATCLS-SCTE35:/DA", "#EXT-OATCLS-SCTE35:@@")
    table = verify(edited)
    bad = table[~table["ok"]]
    assert set(bad["reasons"]) == {"damaged_tag"}
    assert table["ok"].sum() == len(table) - len(bad) > 0


def test_our_own_mpd_verifies_event_by_event(tmp_path):
    package_dash(CUES_OK, tmp_path, schemes=("xml", "xml+bin"))
    table = verify(tmp_path / "manifest.mpd")
    assert len(table) == 6 and table["ok"].all(), table


def test_scte35lab_verify_takes_a_playlist_and_exits_1_on_a_bad_tag(hls, tmp_path, capsys):
    from scte35lab.cli import main

    assert main(["verify", str(hls)]) == 0
    assert "PASS index.m3u8" in capsys.readouterr().out
    edited = _edit(hls, tmp_path, "ElapsedTime=1.000", "ElapsedTime=0.400")
    assert main(["verify", str(edited)]) == 1
    assert "cont_inconsistent" in capsys.readouterr().out
