"""probe_playlist: every HLS cue dialect read back, positions checked, damage reported."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

import pandas as pd
import pytest

from scte35lab import package_hls, probe, probe_playlist
from scte35lab.errors import StreamError

SAMPLES = Path(__file__).resolve().parents[1] / "sample_streams"
CUES_OK = SAMPLES / "cues_ok.ts"
OUT_B64 = "/DAlAAAAAAAA///wFAUAAABkf+/+ABX5AP4AAr8gAAAAAAAA0ZNkOA=="  # splice_insert out 100, 6 s
OUT_HEX = "0xFC3025000000000000FFFFF01405000000647FEFFE0015F900FE0002BF20000000000000D1936438"


@pytest.fixture(scope="module")
def packaged(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hls")
    package_hls(CUES_OK, out, segment=1.0)
    return out / "index.m3u8"


def _playlist(tmp_path: Path, packaged: Path, body: str) -> Path:
    """A hand-written playlist over the packaged 2 s of segments 5 and 6 (6 s .. 8 s)."""
    for name in ("seg_00006.ts", "seg_00007.ts", "seg_00008.ts"):
        shutil.copyfile(packaged.parent / name, tmp_path / name)
    path = tmp_path / "hand.m3u8"
    path.write_text(body)
    return path


def test_round_trip_gives_every_source_cue_bit_exact(packaged):
    source = set(probe(CUES_OK).cues["base64"])
    read = probe_playlist(packaged)
    for tag in ("EXT-X-DATERANGE", "EXT-OATCLS-SCTE35"):
        rows = read[read["tag"] == tag]
        assert set(rows["base64"]) == source, tag
        assert rows["crc_ok"].all()


def test_result_has_the_probe_cue_columns(packaged):
    read = probe_playlist(packaged)
    missing = set(probe(CUES_OK).cues.columns) - set(read.columns)
    assert not missing
    for col in ("segment", "signalled_time", "actual_time", "position_error", "problem"):
        assert col in read.columns


def test_own_output_signals_every_cue_at_its_splice_point(packaged):
    read = probe_playlist(packaged)
    timed = read[read["actual_time"].notna() & (read["kind"] != "cont")]
    assert len(timed) >= 6
    assert (timed["position_error"].abs() < 1e-9).all()
    assert timed["problem"].isna().all()
    out = read[(read["tag"] == "EXT-X-DATERANGE") & (read["kind"] == "out")]
    assert sorted(out["signalled_time"]) == [6.0, 6.0]
    assert set(out["segment"]) == {6}
    assert read["problem"].isna().all()


def test_cue_out_cont_in_read_as_a_consistent_break(packaged):
    read = probe_playlist(packaged)
    kinds = read[read["tag"].isin(["EXT-X-CUE-OUT", "EXT-X-CUE-OUT-CONT", "EXT-X-CUE-IN"])]
    assert kinds["kind"].tolist() == ["out", "cont", "in"]
    assert kinds["signalled_time"].tolist() == [6.0, 7.0, 8.0]
    cont = kinds[kinds["kind"] == "cont"].iloc[0]
    assert cont["elapsed"] == 1.0 and cont["signalled_duration"] == 2.0
    assert cont["base64"] == OUT_B64


def test_misplaced_tag_reports_signalled_vs_actual(tmp_path, packaged):
    body = f"""#EXTM3U
#EXT-X-TARGETDURATION:1
#EXT-X-MEDIA-SEQUENCE:6
#EXTINF:1.0,
seg_00006.ts
#EXT-OATCLS-SCTE35:{OUT_B64}
#EXTINF:1.0,
seg_00007.ts
#EXT-X-ENDLIST
"""
    read = probe_playlist(_playlist(tmp_path, packaged, body))
    row = read.iloc[0]
    assert row["segment"] == 7
    assert row["signalled_time"] == 1.0 and row["actual_time"] == 0.0
    assert row["position_error"] == 1.0
    assert "splice point at 0.000 s" in row["problem"]


def test_damaged_tags_are_reported_not_fatal(tmp_path, packaged):
    body = f"""#EXTM3U
#EXT-X-TARGETDURATION:1
#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:00:16.000Z
#EXT-X-CUE-IN
#EXT-X-DATERANGE:ID="a",START-DATE="1970-01-01T00:00:16.000Z",SCTE35-OUT=0xZZ12
#EXT-X-DATERANGE:ID="b",SCTE35-OUT={OUT_HEX}
#EXT-OATCLS-SCTE35:not base64!!
#EXT-OATCLS-SCTE35:{OUT_B64[:-8]}AAAAAA==
#EXTINF:1.0,
seg_00006.ts
#EXT-X-CUE-OUT-CONT:ElapsedTime=5.0,Duration=9.0
#EXTINF:1.0,
seg_00007.ts
"""
    read = probe_playlist(_playlist(tmp_path, packaged, body))
    problems = read["problem"].fillna("").tolist()
    assert len(read) == 6
    assert "CUE-IN without a CUE-OUT" in problems[0]
    assert "hex" in problems[1] and read["base64"].isna().iloc[1]
    assert "without START-DATE" in problems[2] and read["base64"].iloc[2] == OUT_B64
    assert "base64" in problems[3]
    assert not read["crc_ok"].iloc[4]
    assert "CRC" in (read["decode_error"].iloc[4] or "")
    assert "without a CUE-OUT" in problems[5]


def test_ext_x_scte35_dialect(tmp_path, packaged):
    body = f"""#EXTM3U
#EXT-X-TARGETDURATION:1
#EXT-X-SCTE35:CUE="{OUT_B64}",ID="100",CUE-OUT=YES,DURATION=2.0
#EXTINF:1.0,
seg_00006.ts
#EXT-X-SCTE35:CUE="{OUT_B64}",ID="100",CUE-OUT=CONT,ELAPSED=1.0,DURATION=2.0
#EXTINF:1.0,
seg_00007.ts
"""
    read = probe_playlist(_playlist(tmp_path, packaged, body))
    assert read["kind"].tolist() == ["out", "cont"]
    assert read["splice_event_id"].tolist() == [100, 100]
    assert read["position_error"].iloc[0] == 0.0
    assert read["elapsed"].iloc[1] == 1.0
    assert read["problem"].isna().all()


def test_ext_x_cue_dialect(tmp_path, packaged):
    body = """#EXTM3U
#EXT-X-TARGETDURATION:1
#EXT-X-CUE:TYPE=SpliceOut,ID=100,TIME=16.0,DURATION=2.0
#EXTINF:1.0,
seg_00006.ts
#EXT-X-CUE-CONT:ID=100,AVAIL-DUR-ELAPSED=1.0
#EXTINF:1.0,
seg_00007.ts
"""
    read = probe_playlist(_playlist(tmp_path, packaged, body))
    assert read["kind"].tolist() == ["out", "cont"]
    assert read["id"].tolist() == ["100", "100"]
    # TIME=16.0 is PTS 1440000, the first PTS of seg_00006.ts: signalled where it is
    assert read["actual_time"].iloc[0] == 0.0 and read["position_error"].iloc[0] == 0.0
    assert read["signalled_duration"].iloc[0] == 2.0
    assert read["elapsed"].iloc[1] == 1.0


def test_cue_out_cont_slash_form_and_inconsistent_elapsed(tmp_path, packaged):
    body = """#EXTM3U
#EXT-X-TARGETDURATION:1
#EXT-X-CUE-OUT:2.0
#EXTINF:1.0,
seg_00006.ts
#EXT-X-CUE-OUT-CONT:0.5/2.0
#EXTINF:1.0,
seg_00007.ts
#EXT-X-CUE-IN
#EXTINF:1.0,
seg_00008.ts
"""
    read = probe_playlist(_playlist(tmp_path, packaged, body))
    assert read["kind"].tolist() == ["out", "cont", "in"]
    assert read["signalled_duration"].iloc[0] == 2.0
    assert "ElapsedTime 0.5" in read["problem"].iloc[1]
    assert pd.isna(read["problem"].iloc[2])


def test_multivariant_playlist_reads_each_variant(tmp_path, packaged):
    shutil.copytree(packaged.parent, tmp_path / "v1")
    (tmp_path / "master.m3u8").write_text(
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=300000\nv1/index.m3u8\n"
    )
    read = probe_playlist(tmp_path / "master.m3u8")
    assert set(read["base64"].dropna()) == set(probe(CUES_OK).cues["base64"])
    assert read["source"].str.endswith("v1/index.m3u8").all()


def test_playlist_read_over_http(packaged):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=packaged.parent)
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/index.m3u8"
        read = probe_playlist(url)
    finally:
        server.shutdown()
        server.server_close()
    assert set(read["base64"].dropna()) == set(probe(CUES_OK).cues["base64"])
    assert (read["position_error"].dropna().abs() < 1e-9).all()


def test_not_a_playlist_is_a_clear_error(tmp_path):
    bad = tmp_path / "x.m3u8"
    bad.write_text("<html>not found</html>")
    with pytest.raises(StreamError, match="not an HLS playlist"):
        probe_playlist(bad)


def test_unreachable_url_is_a_clear_error():
    with pytest.raises(StreamError, match="cannot fetch"):
        probe_playlist("http://127.0.0.1:9/none.m3u8")
