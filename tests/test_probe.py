"""probe(): tables from real captures, checked against PyAV's demux and the codec."""

from __future__ import annotations

import base64
import io
from functools import cache
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest

from scte35lab.analysis import Probe, probe
from scte35lab.cue import Cue
from scte35lab.errors import StreamError
from scte35lab.ts.pes import PTS_WRAP

SAMPLES = Path(__file__).resolve().parent.parent / "sample_streams"
CLOSED_GOP = [
    "h264_aac.ts",
    "hevc_aac.ts",
    "h264_192.m2ts",
    "h264_204.ts",
    "cc_error.ts",
    "two_programs.ts",
    "cues_ok.ts",
    "cue_off_idr.ts",
    "cue_late.ts",
    "cue_out_no_in.ts",
    "cue_bad_crc.ts",
    "cues_packed.ts",
    "pmt_change.ts",
    "mid_packet.ts",
    "ffmpeg_remux.ts",
    "pts_wrap.ts",
]
CUE_SAMPLES = [
    "cues_ok.ts",
    "cue_off_idr.ts",
    "cue_late.ts",
    "cue_out_no_in.ts",
    "cue_bad_crc.ts",
    "cues_packed.ts",
    "pmt_change.ts",
    "mid_packet.ts",
    "ffmpeg_remux.ts",
    "pts_wrap.ts",
]


@cache
def _probe(name: str) -> Probe:
    return probe(SAMPLES / name)


@cache
def _pyav_video(name: str) -> dict[int, list[tuple[int, bool]]]:
    """PyAV's demux: per video PID, (pts mod 2**33, is_keyframe) of each packet."""
    out: dict[int, list[tuple[int, bool]]] = {}
    with av.open(str(SAMPLES / name)) as c:
        for pk in c.demux(c.streams.video):
            if pk.size:
                out.setdefault(pk.stream.id, []).append((pk.pts % PTS_WRAP, pk.is_keyframe))
    return out


@pytest.mark.parametrize("name", CLOSED_GOP)
def test_video_pts_and_keyframes_equal_pyav_demux(name):
    p = _probe(name)
    ref = _pyav_video(name)
    assert ref
    for pid, packets in ref.items():
        f = p.frames[p.frames["pid"] == pid]
        mine = list(zip(f["pts"].astype("int64").tolist(), f["keyframe"].tolist(), strict=True))
        assert mine == packets


def test_recovery_point_i_frames_are_what_ffmpeg_also_calls_keyframes():
    p = _probe("h264_open_gop.ts")
    ref = _pyav_video("h264_open_gop.ts")[256]
    v = p.video
    assert (v["keyframe"] | v["recovery_point"]).tolist() == [k for _, k in ref]
    assert v["keyframe"].sum() == 1 and v["recovery_point"].sum() == 2
    assert (v.loc[v["recovery_point"], "picture_type"] == "I").all()


@pytest.mark.parametrize("name", ["h264_aac.ts", "hevc_aac.ts"])
def test_picture_types_match_pyav_decoded_frames(name):
    with av.open(str(SAMPLES / name)) as c:
        # AVPictureType: 1 I, 2 P, 3 B
        decoded = {f.pts % PTS_WRAP: "_IPB"[int(f.pict_type)] for f in c.decode(video=0)}
    v = _probe(name).video
    mine = dict(zip(v["pts"].astype("int64"), v["picture_type"].astype(str), strict=True))
    assert mine == decoded


@pytest.mark.parametrize("name", CUE_SAMPLES)
def test_cue_rows_equal_what_the_codec_decodes_from_the_same_section(name):
    cues = _probe(name).cues
    assert len(cues)
    for _, row in cues.iterrows():
        section = base64.b64decode(row["base64"])
        cue = Cue.decode(section, check_crc=False)
        assert row["splice_command_type"] == cue.splice_command_type
        assert row["command_name"] == cue.command_name
        assert _same(row["splice_event_id"], cue.splice_event_id)
        assert _same(row["out_of_network_indicator"], cue.out_of_network_indicator)
        assert _same(row["pts_time"], cue.pts_time)
        assert _same(row["splice_point"], cue.splice_point)
        assert row["pts_adjustment"] == cue.pts_adjustment
        segs = cue.segmentation_descriptors
        if segs:
            assert row["segmentation_type_id"] == segs[0].segmentation_type_id
            assert row["segmentation_event_id"] == segs[0].segmentation_event_id
            assert row["upid"] == segs[0].upid_text
        else:
            assert _same(row["break_duration"], cue.break_duration)


def _same(a, b) -> bool:
    return (b is None and pd.isna(a)) or a == b


def test_splice_point_is_pts_time_plus_adjustment_modulo_2_33():
    row = _probe("pts_wrap.ts").cues.iloc[0]
    assert row["pts_adjustment"] == PTS_WRAP - 90_000
    assert row["splice_point"] == (row["pts_time"] + row["pts_adjustment"]) % PTS_WRAP
    assert row["splice_time"] == pytest.approx(5.0)
    assert row["preroll"] == pytest.approx(4.0)


def test_arrival_is_the_pts_of_the_last_video_frame_before_the_cue_packet():
    p = _probe("cue_late.ts")
    cue = p.cues.iloc[0]
    v = p.video
    before = v[v["packet"] < cue["packet"]].iloc[-1]
    assert cue["arrival_pts"] == before["pts"]
    assert cue["arrival_time"] == pytest.approx(3.0)
    assert cue["preroll"] == pytest.approx(3.0)
    assert cue["pcr"] is not pd.NA and cue["pcr"] <= before["pts"] * 300


def test_repeats_of_one_cue_share_a_key():
    cues = _probe("cues_ok.ts").cues
    assert cues.groupby("key").size().to_dict() == {
        "splice_insert/out:100@1440000": 3,
        "splice_insert/in:100@1620000": 2,
        "time_signal/0x34:200@1440000": 1,
    }


def test_several_sections_in_one_packet_and_a_section_spanning_packets_are_all_read():
    cues = _probe("cues_packed.ts").cues
    assert cues["command_name"].astype(str).tolist() == [
        "splice_insert",
        "splice_insert",
        "splice_null",
        "time_signal",
        "splice_insert",
    ]
    assert cues["crc_ok"].all()
    assert len(base64.b64decode(cues.iloc[3]["base64"])) > 184  # spans two packets


def test_ffmpeg_remuxed_cues_are_found_by_content_and_flagged_as_pes():
    remux = _probe("ffmpeg_remux.ts")
    orig = _probe("cues_ok.ts")
    row = remux.pids[remux.pids["role"] == "scte35"].iloc[0]
    assert row["stream_type"] == 0x06 and row["carriage"] == "pes"
    assert row["registration"] is None
    assert (remux.cues["carriage"] == "pes").all()
    assert remux.cues["base64"].tolist() == orig.cues["base64"].tolist()
    assert remux.cues["pes_pts"].notna().all()
    assert remux.cues["arrival_pts"].tolist() == orig.cues["arrival_pts"].tolist()


def test_scte35_pid_on_stream_type_0x86_with_cuei_is_listed():
    pids = _probe("cues_ok.ts").pids
    row = pids[pids["pid"] == 500].iloc[0]
    assert (row["stream_type"], row["codec"], row["role"]) == (0x86, "scte_35", "scte35")
    assert (row["registration"], row["carriage"]) == ("CUEI", "section")


def test_bad_crc_cue_is_a_row_with_crc_ok_false_and_an_error():
    p = _probe("cue_bad_crc.ts")
    assert p.cues["crc_ok"].tolist() == [True, False]
    errs = p.errors[p.errors["type"] == "scte35_crc_error"]
    assert errs["packet"].tolist() == [p.cues.iloc[1]["packet"]]


def test_continuity_error_is_reported_at_the_packet_after_the_gap():
    p = probe(SAMPLES / "cc_error.ts", packets=True)
    errs = p.errors[p.errors["type"] == "cc_error"]
    assert len(errs) == 1
    e = errs.iloc[0]
    assert e["pid"] == 256
    pk = p.packets
    same = pk[(pk["pid"] == 256) & (pk["packet"] <= e["packet"])].tail(2)
    assert (same["cc"].iloc[1] - same["cc"].iloc[0]) % 16 == 2


def test_capture_starting_mid_packet_resyncs_and_loses_nothing_after():
    mid = _probe("mid_packet.ts")
    whole = _probe("cues_ok.ts")
    assert mid.errors["type"].astype(str).tolist() == ["leading_bytes"]
    assert mid.cues["base64"].tolist() == whole.cues["base64"].tolist()
    assert mid.frames["pts"].tolist() == whole.frames["pts"].tolist()


@pytest.mark.parametrize("name,size", [("h264_192.m2ts", 192), ("h264_204.ts", 204)])
def test_192_and_204_byte_packets_are_read(name, size):
    p = _probe(name)
    assert p.packet_size == size
    assert p.packet_count * size == (SAMPLES / name).stat().st_size
    assert len(p.errors[p.errors["priority"] > 0]) == 0


def test_pmt_change_mid_stream_brings_in_the_scte35_pid():
    p = _probe("pmt_change.ts")
    assert p.errors["type"].astype(str).tolist() == ["pmt_change"]
    assert p.pids.set_index("pid").loc[500, "role"] == "scte35"
    assert len(p.cues) == 1 and p.cues.iloc[0]["splice_event_id"] == 109


def test_several_programs_are_listed_with_their_streams():
    pids = _probe("two_programs.ts").pids
    es = pids[pids["role"].isin(["video", "audio"])]
    assert es[["pid", "program_number", "codec"]].values.tolist() == [
        [256, 1, "h264"],
        [257, 1, "aac"],
        [258, 2, "h264"],
    ]


def test_pts_wrap_is_reported_and_seconds_keep_increasing():
    p = _probe("pts_wrap.ts")
    wraps = p.errors[p.errors["type"] == "pts_wrap"]
    assert set(wraps["pid"]) == {256, 257}
    v = p.video
    assert np.all(np.diff(v["dts_seconds"].to_numpy()) > 0)
    assert v["pts"].min() < 90_000 < 8_589_000_000 < v["pts"].max()
    assert v["stream_time"].iloc[-1] == pytest.approx(7.96)


def test_frame_sizes_equal_pyav_packet_sizes():
    with av.open(str(SAMPLES / "h264_aac.ts")) as c:
        sizes = [pk.size for pk in c.demux(video=0) if pk.size]
    assert _probe("h264_aac.ts").video["size"].tolist() == sizes


def test_random_access_flag_is_the_adaptation_field_flag_of_the_pes_start():
    p = probe(SAMPLES / "h264_aac.ts", packets=True)
    pk = p.packets.set_index("packet")
    f = p.frames
    assert f["random_access"].tolist() == pk.loc[f["packet"], "random_access"].tolist()
    assert f.loc[f["keyframe"], "random_access"].all()


def test_packets_table_counts_agree_with_pids_table():
    p = probe(SAMPLES / "cues_ok.ts", packets=True)
    counts = p.packets["pid"].value_counts().sort_index()
    assert counts.to_dict() == p.pids.set_index("pid")["packets"].to_dict()
    assert len(p.packets) == p.packet_count


def test_packets_table_is_built_on_demand_by_reading_again():
    p = _probe("h264_204.ts")
    assert len(p.packets) == p.packet_count
    assert (p.packets["offset"] % 204 == 0).all()


def test_path_bytes_and_file_object_give_the_same_tables():
    path = SAMPLES / "cues_ok.ts"
    data = path.read_bytes()
    a = probe(path)
    b = probe(data)
    c = probe(io.BytesIO(data))
    for other in (b, c):
        pd.testing.assert_frame_equal(a.frames, other.frames)
        pd.testing.assert_frame_equal(a.cues, other.cues)


def test_small_chunks_give_the_same_tables_as_one_big_chunk():
    from scte35lab.ts.scan import Scanner

    path = SAMPLES / "cues_packed.ts"
    whole = Probe(Scanner().scan(path), source=path)
    small = Probe(Scanner(chunk_bytes=188 * 7 + 100).scan(path), source=path)
    pd.testing.assert_frame_equal(whole.frames, small.frames)
    pd.testing.assert_frame_equal(whole.cues, small.cues)
    pd.testing.assert_frame_equal(whole.errors, small.errors)


def test_progress_callback_sees_every_byte():
    seen = []
    path = SAMPLES / "h264_aac.ts"
    probe(path, progress=seen.append)
    assert seen[-1] == path.stat().st_size
    assert seen == sorted(seen)


def test_pids_argument_limits_frames_and_cues():
    p = probe(SAMPLES / "cues_ok.ts", pids=[500])
    assert len(p.frames) == 0
    assert len(p.cues) == 6
    full = _probe("cues_ok.ts").cues
    assert p.cues["arrival_pts"].tolist() == full["arrival_pts"].tolist()
    p = probe(SAMPLES / "cues_ok.ts", pids=[257])
    assert set(p.frames["pid"]) == {257} and len(p.cues) == 0


def test_stream_time_zero_is_the_first_video_pts():
    p = _probe("cues_ok.ts")
    assert p.zero_pts == 900_000
    assert p.video["stream_time"].iloc[0] == 0.0


def test_missing_file_raises_a_stream_error_naming_it():
    with pytest.raises(StreamError, match=r"nope\.ts"):
        probe("/nonexistent/nope.ts")


def test_repr_and_html_summarise_the_capture():
    p = _probe("cues_ok.ts")
    assert "6 cues" in repr(p) and "250 video frames" in repr(p)
    html = p._repr_html_()
    assert "<table" in html and "splice_insert" in html


def _ffprobe_streams(name: str) -> list[dict]:
    import json
    import subprocess

    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(SAMPLES / name)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return json.loads(out)["streams"]


@pytest.mark.parametrize("name", ["cues_ok.ts", "hevc_aac.ts", "two_programs.ts"])
def test_pid_codecs_equal_ffprobe_streams(name):
    pids = _probe(name).pids.set_index("pid")
    for st in _ffprobe_streams(name):
        row = pids.loc[int(st["id"], 16)]
        assert row["codec"] == st["codec_name"]
        assert (
            row["role"] == {"video": "video", "audio": "audio", "data": "scte35"}[st["codec_type"]]
        )


def test_progress_true_shows_a_tqdm_bar_on_stderr(capsys):
    probe(SAMPLES / "h264_aac.ts", progress=True)
    assert "probe" in capsys.readouterr().err


def test_lenient_probe_reports_a_cue_that_breaks_the_syntax_instead_of_dropping_it():
    data = bytearray((SAMPLES / "cues_ok.ts").read_bytes())
    row = _probe("cues_ok.ts").cues.query("command_name == 'splice_insert'").iloc[0]
    section = base64.b64decode(row["base64"])
    at = data.find(section)
    assert at > 0 and Cue.decode(section).command.program_splice_flag
    broken = bytearray(section)
    broken[19] &= 0xBF  # program_splice_flag = 0, with no component loop after it
    from scte35lab.cue import crc32_mpeg2

    broken[-4:] = crc32_mpeg2(bytes(broken[:-4])).to_bytes(4, "big")
    data[at : at + len(section)] = broken
    strict = probe(bytes(data)).cues
    lenient = probe(bytes(data), lenient=True).cues
    assert len(strict) == len(lenient)
    hit = strict["base64"] == base64.b64encode(bytes(broken)).decode()
    assert strict[hit]["decode_error"].notna().all() and "decode_problems" not in strict
    got = lenient[hit].iloc[0]
    assert pd.isna(got["decode_error"]) and "kept as bytes" in got["decode_problems"]
    assert "bit" in got["decode_problems"] and got["command_name"] == "splice_insert"
    assert lenient[~hit]["decode_problems"].isna().all()
