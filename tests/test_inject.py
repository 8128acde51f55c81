"""The injector: cues on their own PID, every other PID untouched, placed by the timing rules.

Inputs are real FFmpeg encodes (320x180, 25 fps, an IDR every second) made once per module;
outputs are read back with ffprobe, PyAV and scte35lab's own probe.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from scte35lab import Cue, inject, probe, verify
from scte35lab.errors import InputFormatError, StreamError
from scte35lab.schedule import AdBreak, Schedule
from scte35lab.ts.inject import NULL_PACKET, CueRequest, Injector
from scte35lab.ts.pes import PTS_WRAP, pts_diff
from scte35lab.ts.psi import Pmt

SAMPLES = Path(__file__).resolve().parent.parent / "sample_streams"
TICKS = 90_000
FFMPEG = shutil.which("ffmpeg")
pytestmark = pytest.mark.skipif(FFMPEG is None, reason="needs Debian's ffmpeg")


def encode(path: Path, *, seconds: float = 12, extra: tuple[str, ...] = ()) -> Path:
    """Test pattern + tone: H.264 with B-frames, an IDR every 25 frames, AAC."""
    cmd = [
        FFMPEG, "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast",
        "-g", "25", "-keyint_min", "25", "-sc_threshold", "0", "-bf", "2", "-b:v", "150k",
        "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "48k", "-ac", "1",
        *extra, "-f", "mpegts", str(path),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True)
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    d = tmp_path_factory.mktemp("inject")
    return {
        "dir": d,
        "src": encode(d / "src.ts"),
        # CBR mux: the muxer pads with null packets
        "cbr": encode(d / "cbr.ts", seconds=10, extra=("-muxrate", "600k")),
    }


def out_cue() -> Cue:
    return Cue.splice_insert(7, break_duration=2 * TICKS)


def in_cue() -> Cue:
    return Cue.splice_insert(7, out_of_network=False)


@pytest.fixture(scope="module")
def injected(media):
    """src.ts with an out at 6.3 s (snapped to the 7 s IDR) and an in at 9 s."""
    dst = media["dir"] / "out.ts"
    report = inject(media["src"], dst, [(6.3, out_cue()), (9.0, in_cue())])
    return dst, report


def packets(path: Path) -> list[bytes]:
    data = Path(path).read_bytes()
    return [data[i : i + 188] for i in range(0, len(data), 188)]


def pid_of(p: bytes) -> int:
    return ((p[1] & 0x1F) << 8) | p[2]


def pmt_pid_of(path: Path) -> int:
    return int(probe(path).pids.query("codec == 'pmt'")["pid"].iloc[0])


def pmt_of(path: Path) -> Pmt:
    pmt_pid = pmt_pid_of(path)
    p = next(p for p in packets(path) if pid_of(p) == pmt_pid and p[1] & 0x40)
    start = 4 + (1 + p[4] if p[3] & 0x20 else 0)
    body = p[start + 1 + p[start] :]
    return Pmt.parse(body[: 3 + (((body[1] & 0x0F) << 8) | body[2])])


# ------------------------------------------------------------------------ the output file


def test_ffprobe_reads_the_output_without_errors_and_lists_an_scte_35_data_stream(injected):
    dst, _ = injected
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_packets", "-of", "json", str(dst)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stderr.strip() == ""
    streams = json.loads(done.stdout)["streams"]
    scte = [s for s in streams if s.get("codec_name") == "scte_35"]
    assert len(scte) == 1 and scte[0]["codec_type"] == "data"
    assert int(scte[0]["id"], 16) == 500


def _demux(path: Path) -> dict[int, list[tuple[int | None, bytes]]]:
    out: dict[int, list[tuple[int | None, bytes]]] = {}
    with av.open(str(path)) as c:
        streams = [s for s in c.streams if s.type in ("audio", "video")]
        for pk in c.demux(streams):
            if pk.size:
                out.setdefault(pk.stream.id, []).append((pk.pts, bytes(pk)))
    return out


def test_pyav_demuxes_every_original_audio_and_video_packet_with_identical_pts_and_bytes(
    media, injected
):
    before = _demux(media["src"])
    after = _demux(injected[0])
    assert set(before) == set(after) and len(before) == 2
    for pid in before:
        assert after[pid] == before[pid]


def test_every_other_pid_keeps_its_packets_order_and_continuity_counters(media, injected):
    dst, _ = injected
    pmt_pid = pmt_pid_of(media["src"])
    mine = {pmt_pid, 500}
    src_rest = [p for p in packets(media["src"]) if pid_of(p) not in mine]
    out_rest = [p for p in packets(dst) if pid_of(p) not in mine]
    assert out_rest == src_rest


def test_probe_finds_no_continuity_errors_the_input_did_not_have(media, injected):
    def cc_errors(path):
        e = probe(path).errors
        return e[e["type"] == "cc_error"][["pid", "detail"]].to_dict("records")

    assert cc_errors(injected[0]) == cc_errors(media["src"]) == []


def test_every_injected_cue_decodes_with_a_good_crc(injected):
    dst, report = injected
    cues = probe(dst).cues
    assert len(cues) == int(report["sends"].sum()) > 2
    assert cues["crc_ok"].all() and cues["decode_error"].isna().all()
    for b64 in cues["base64"]:
        cue = Cue.decode(b64)  # raises on a bad CRC
        assert cue.splice_event_id == 7


def test_an_independent_reader_threefive_finds_every_cue_on_the_scte35_pid(injected):
    threefive = pytest.importorskip("threefive")
    dst, report = injected
    seen = []
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        threefive.Stream(str(dst)).decode(
            func=lambda c: seen.append((c.packet_data.pid, round(c.command.pts_time * TICKS)))
        )
    want = [
        int(p) for p, n in zip(report["splice_pts"], report["sends"], strict=True) for _ in range(n)
    ]
    assert sorted(seen) == sorted((500, p) for p in want)


def test_pmt_declares_stream_type_0x86_and_cuei_with_a_new_version_and_good_crc(media, injected):
    before, after = pmt_of(media["src"]), pmt_of(injected[0])  # Pmt.parse checks CRC_32
    assert after.version_number == (before.version_number + 1) % 32
    assert after.registration == "CUEI"
    es = after.stream(500)
    assert es is not None and es.stream_type == 0x86
    assert [s.elementary_pid for s in after.streams[:-1]] == [
        s.elementary_pid for s in before.streams
    ]


def test_pmt_keeps_its_repetition(media, injected):
    pmt_pid = pmt_pid_of(media["src"])
    src = [i for i, p in enumerate(packets(media["src"])) if pid_of(p) == pmt_pid]
    out = [p for p in packets(injected[0]) if pid_of(p) != 500]
    assert [i for i, p in enumerate(out) if pid_of(p) == pmt_pid] == src


# ----------------------------------------------------------------------------- timing


def test_splice_snaps_to_the_first_idr_at_or_after_the_requested_time(injected):
    dst, report = injected
    p = probe(dst)
    key_pts = set(p.keyframes["pts"].astype("int64"))
    out = report.iloc[0]
    assert out["requested_time"] == pytest.approx(6.3)
    assert out["splice_time"] == pytest.approx(7.0)
    assert int(out["splice_pts"]) in key_pts
    assert set(p.cues["splice_point"].astype("int64")) <= key_pts


def test_first_copy_arrives_at_least_the_preroll_before_the_splice_point(injected):
    dst, report = injected
    v = verify(dst)
    assert v["ok"].all(), v.attrs["summary"]
    assert (v["preroll"] >= 4.0).all()
    assert (v["preroll"] < 4.0 + 0.25).all()  # the latest gap that still meets it
    assert report["preroll"].tolist() == v.sort_values("splice_time")["preroll"].tolist()


def test_copies_repeat_every_second_until_but_never_after_the_splice_point(injected):
    cues = probe(injected[0]).cues
    for _, g in cues.groupby("splice_point"):
        arrivals = g["arrival_pts"].astype("int64").tolist()
        sp = int(g["splice_point"].iloc[0])
        assert all(pts_diff(a, sp) < 0 for a in arrivals)
        gaps = np.diff([pts_diff(a, arrivals[0]) for a in arrivals]) / TICKS
        assert len(gaps) >= 3 and np.allclose(gaps, 1.0, atol=0.12)


def test_exact_pts_is_kept_when_not_snapping(media):
    dst = media["dir"] / "exact.ts"
    report = inject(media["src"], dst, [(6.3, out_cue())], snap_to_idr=False)
    zero = probe(media["src"]).zero_pts
    assert int(report["splice_pts"].iloc[0]) == (zero + round(6.3 * TICKS)) % PTS_WRAP
    v = verify(dst)
    assert v["reasons"].tolist() == ["off_idr"]  # verify says what the user asked for


def test_pts_adjustment_is_left_as_given_and_pts_time_rewritten_to_the_idr(media):
    dst = media["dir"] / "adjusted.ts"
    adj = 12_345
    inject(media["src"], dst, [(5.0, Cue.splice_insert(8, pts_time=0, pts_adjustment=adj))])
    cue = Cue.decode(probe(dst).cues["base64"].iloc[0])
    assert cue.pts_adjustment == adj
    assert cue.splice_point in set(probe(dst).keyframes["pts"].astype("int64"))
    assert cue.pts_time == (cue.splice_point - adj) % PTS_WRAP


def test_a_cue_given_with_its_own_splice_time_uses_it(media):
    zero = probe(media["src"]).zero_pts
    cue = Cue.time_signal((zero + 8 * TICKS) % PTS_WRAP)
    dst = media["dir"] / "own_time.ts"
    report = inject(media["src"], dst, [cue])
    assert int(report["splice_pts"].iloc[0]) == (zero + 8 * TICKS) % PTS_WRAP


def test_a_schedule_becomes_paired_out_and_in_cues_on_idrs(media):
    dst = media["dir"] / "schedule.ts"
    report = inject(media["src"], dst, Schedule([AdBreak(5, 3)]))
    assert report["splice_time"].tolist() == [5.0, 8.0]
    v = verify(dst, schedule=Schedule([AdBreak(5, 3, cue_id="b1")]))
    assert v["ok"].all(), v.attrs["summary"]
    assert v["paired"].all() and (v["cue_id"] == "b1").all()


def test_a_request_the_stream_cannot_reach_back_to_is_placed_and_reported_late(media):
    dst = media["dir"] / "late.ts"
    report = inject(media["src"], dst, [(2.0, out_cue())])
    assert report["status"].tolist() == ["late"]
    assert verify(dst)["reasons"].iloc[0].startswith("late")


def test_a_splice_beyond_the_end_is_reported_missed_and_not_sent(media):
    dst = media["dir"] / "missed.ts"
    report = inject(media["src"], dst, [(30.0, out_cue())])
    assert report["status"].tolist() == ["missed"]
    assert len(probe(dst).cues) == 0


def test_splice_immediate_only_when_asked(media):
    with pytest.raises(InputFormatError, match="no splice time"):
        inject(media["src"], media["dir"] / "x.ts", [Cue.splice_insert(9)])
    inj = Injector([CueRequest(Cue.splice_insert(9), at=3.0, immediate=True)])
    data = inj.feed(media["src"].read_bytes()) + inj.flush()
    cues = probe(data).cues
    assert len(cues) == 1 and cues["splice_point"].isna().all()
    assert Cue.decode(cues["base64"].iloc[0]).command.splice_immediate_flag


# ------------------------------------------------------------------- PIDs and nulls


def test_null_packets_are_replaced_where_the_stream_has_them(media):
    src = media["cbr"]
    dst = media["dir"] / "cbr_out.ts"
    report = inject(src, dst, [(6.0, out_cue())])
    sends = int(report["sends"].sum())
    assert sends >= 3
    assert dst.stat().st_size == src.stat().st_size
    nulls = [sum(p == NULL_PACKET for p in packets(f)) for f in (src, dst)]
    assert nulls[1] == nulls[0] - sends


def test_packets_are_inserted_where_there_are_no_null_packets(media, injected):
    dst, report = injected
    assert not any(pid_of(p) == 0x1FFF for p in packets(media["src"]))
    added = dst.stat().st_size - media["src"].stat().st_size
    assert added == 188 * int(report["sends"].sum())


def test_the_pid_is_chosen_among_pids_not_in_use_or_taken_as_given(media):
    used = set(probe(media["src"]).pids["pid"].astype(int))
    inj = Injector([(6.0, out_cue())])
    inj.feed(media["src"].read_bytes())
    assert inj.pid == 500 and 500 not in used
    dst = media["dir"] / "pid.ts"
    inject(media["src"], dst, [(6.0, out_cue())], pid=0x1F0)
    p = probe(dst)
    assert p.pids.set_index("pid").loc[0x1F0, "stream_type"] == 0x86
    assert (p.cues["pid"] == 0x1F0).all() and len(p.cues)


def test_a_pid_the_input_uses_is_refused(media):
    with pytest.raises(StreamError, match="already used"):
        inject(media["src"], media["dir"] / "bad_pid.ts", [(6.0, out_cue())], pid=256)


# ----------------------------------------------------------------------- the stage


def test_feeding_small_chunks_gives_the_same_bytes_as_the_file_function(media, injected):
    data = media["src"].read_bytes()
    inj = Injector([(6.3, out_cue()), (9.0, in_cue())])
    out = bytearray()
    for i in range(0, len(data), 1316):
        out += inj.feed(data[i : i + 1316])
    out += inj.flush()
    assert bytes(out) == injected[0].read_bytes()


def test_output_is_held_only_about_the_preroll_plus_margin(media):
    data = media["src"].read_bytes()
    inj = Injector(preroll=4.0, margin=1.0)
    half = len(data) // 2 // 1316 * 1316
    out = b"".join(inj.feed(data[i : i + 1316]) for i in range(0, half, 1316))
    assert 0 < len(out) < half
    held = probe(data[:half]).frames
    held = held[held["role"] == "video"]["stream_time"]
    released_to = probe(out).frames
    released_to = released_to[released_to["role"] == "video"]["stream_time"].max()
    assert held.max() - released_to == pytest.approx(5.0, abs=0.5)


# ---------------------------------------------------------------------- other inputs


def test_hevc_idrs_are_found(tmp_path):
    dst = tmp_path / "hevc.ts"
    report = inject(SAMPLES / "hevc_aac.ts", dst, [(2.5, out_cue())], preroll=2.0)
    assert report["splice_time"].tolist() == [3.0]
    assert verify(dst, preroll=2.0)["offset_frames"].tolist() == [0.0]


def test_pts_wrap_splice_after_the_wrap_from_a_cue_sent_before_it(tmp_path):
    src = SAMPLES / "pts_wrap.ts"  # PTS wraps 2**33 at ~2.72 s
    dst = tmp_path / "wrap.ts"
    report = inject(src, dst, [(6.0, Cue.splice_insert(77, break_duration=TICKS))])
    zero = probe(src).zero_pts
    assert zero + 6 * TICKS > PTS_WRAP
    assert int(report["splice_pts"].iloc[0]) == (zero + 6 * TICKS) % PTS_WRAP
    v = verify(dst)
    assert v["ok"].all(), v.attrs["summary"]
    mine = v[v["splice_event_id"] == 77].iloc[0]
    assert mine["preroll"] >= 4.0 and mine["first_arrival_time"] < 2.72


def test_existing_scte35_add_keeps_its_cues_and_adds_ours_on_its_pid(tmp_path):
    src, dst = SAMPLES / "cues_ok.ts", tmp_path / "add.ts"
    inject(src, dst, [(7.0, Cue.splice_insert(55, break_duration=TICKS))])
    before, after = probe(src), probe(dst)
    assert set(after.cues["pid"]) == {500}
    assert len(after.cues) == len(before.cues) + 4
    assert set(before.cues["base64"]) < set(after.cues["base64"])
    assert not (after.errors["type"] == "cc_error").any()


def test_existing_scte35_replace_drops_its_cues_for_ours(tmp_path):
    src, dst = SAMPLES / "cues_ok.ts", tmp_path / "replace.ts"
    inject(src, dst, [(7.0, Cue.splice_insert(55, break_duration=TICKS))], existing="replace")
    cues = probe(dst).cues
    assert set(cues["splice_event_id"]) == {55}
    assert len(packets(dst)) == len(packets(src)) + len(cues)  # theirs became null packets


def test_existing_scte35_keep_leaves_it_alone_and_uses_a_pid_of_our_own(tmp_path):
    src, dst = SAMPLES / "cues_ok.ts", tmp_path / "keep.ts"
    inject(src, dst, [(7.0, Cue.splice_insert(55, break_duration=TICKS))], existing="keep")
    before, after = probe(src).cues, probe(dst).cues
    assert after[after["pid"] == 500]["base64"].tolist() == before["base64"].tolist()
    ours = after[after["pid"] != 500]
    assert set(ours["splice_event_id"]) == {55} and len(ours) == 4
    assert [p for p in packets(dst) if pid_of(p) == 500] == [
        p for p in packets(src) if pid_of(p) == 500
    ]


def test_only_the_chosen_programs_pmt_changes(tmp_path):
    src, dst = SAMPLES / "two_programs.ts", tmp_path / "two.ts"
    inject(src, dst, [(2.0, out_cue())], preroll=1.0, program=2)
    pids = probe(dst).pids.set_index("pid")
    assert pids.loc[500, "program_number"] == 2 and pids.loc[500, "stream_type"] == 0x86
    pmt1 = int(pids.query("codec == 'pmt' and program_number == 1").index[0])
    assert [p for p in packets(dst) if pid_of(p) == pmt1] == [
        p for p in packets(src) if pid_of(p) == pmt1
    ]
    assert verify(dst, preroll=1.0)["ok"].all()


def test_a_pmt_change_is_followed_the_same_way_whatever_the_feed_size(tmp_path):
    # v0 has no SCTE-35; v1 (from 1 s) declares PID 500 with a cue of its own
    data = (SAMPLES / "pmt_change.ts").read_bytes()
    outs = []
    for size in (len(data), 188 * 7):
        inj = Injector([(7.0, out_cue())])
        out = b"".join(inj.feed(data[i : i + size]) for i in range(0, len(data), size))
        outs.append(out + inj.flush())
    assert outs[0] == outs[1]
    p = probe(outs[0])
    assert set(p.cues["pid"]) == {500} and set(p.cues["splice_event_id"]) == {7, 109}
    assert p.errors["type"].tolist() == ["pmt_change"]


def test_packets_other_than_188_bytes_are_refused_with_a_clear_error(tmp_path):
    with pytest.raises(StreamError, match="188-byte packets, not 192"):
        inject(SAMPLES / "h264_192.m2ts", tmp_path / "m.ts", [(1.0, out_cue())])


def test_a_pcr_carried_on_the_pmt_pid_keeps_its_place(tmp_path):
    src = tmp_path / "pcr_on_pmt.ts"
    pkts = packets(SAMPLES / "h264_aac.ts")
    pmt_pid = pmt_pid_of(SAMPLES / "h264_aac.ts")
    for k, p in enumerate(pkts):
        if pid_of(p) == pmt_pid:  # the same PMT, now after a 7-byte adaptation field
            pcr_base = 900_000 + k * 100
            pcr = pcr_base.to_bytes(5, "big")[1:]  # a made-up PCR: only its place matters
            af = bytes([7, 0x10, pcr_base >> 25 & 0xFF, *pcr[1:], 0x7E, 0])
            payload = p[4:]
            pkts[k] = bytes([p[0], p[1], p[2], 0x30 | (p[3] & 0x0F)]) + af + payload[: 184 - 8]
    src.write_bytes(b"".join(pkts))
    dst = tmp_path / "out.ts"
    inject(src, dst, [(3.0, out_cue())], preroll=1.0)

    def pcrs(path):
        """(flags + PCR bytes, what follows) of each PCR-carrying packet on the PMT PID."""
        ps = [p for p in packets(path) if pid_of(p) != 500]
        return [
            (p[5:12], ps[i + 1][:4] if i + 1 < len(ps) else None)
            for i, p in enumerate(ps)
            if pid_of(p) == pmt_pid and p[3] & 0x20 and p[5] & 0x10
        ]

    before, after = pcrs(src), pcrs(dst)
    assert len(before) == sum(pid_of(p) == pmt_pid for p in pkts) > 10
    assert [b for b, _ in after] == [b for b, _ in before]
    assert all(nxt[1:3] == bytes([0x40 | pmt_pid >> 8, pmt_pid & 0xFF]) for _, nxt in after)
    assert pmt_of(dst).registration == "CUEI"
    assert not (probe(dst).errors["type"] == "cc_error").any()


def _video_with_cut_pes_headers(src: Path, dst: Path) -> None:
    """PAT, PMT and video of ``src``, each video PES re-packetized so that its first packet
    holds a 176-byte adaptation field and only 4 bytes of the PES header."""
    pkts = packets(src)
    pmt_pid = pmt_pid_of(src)
    out, pes, cc = [], [], 0

    def flush():
        nonlocal cc
        if not pes:
            return
        data = b"".join(pes)
        first = bytes([0x47, 0x41, 0x00, 0x30 | cc, 179, 0x00]) + b"\xff" * 178 + data[:4]
        out.append(first)
        cc = (cc + 1) & 0x0F
        for i in range(4, len(data), 184):
            chunk = data[i : i + 184]
            pad = 184 - len(chunk)
            if pad:
                af = bytes([pad - 1]) + (b"\x00" + b"\xff" * (pad - 2) if pad > 1 else b"")
                out.append(bytes([0x47, 0x01, 0x00, 0x30 | cc]) + af + chunk)
            else:
                out.append(bytes([0x47, 0x01, 0x00, 0x10 | cc]) + chunk)
            cc = (cc + 1) & 0x0F
        pes.clear()

    for p in pkts:
        pid = pid_of(p)
        if pid in (0, pmt_pid):
            out.append(p)
        elif pid == 256:
            if p[1] & 0x40:
                flush()
            start = 4 + (1 + p[4] if p[3] & 0x20 else 0)
            pes.append(p[start:])
    flush()
    dst.write_bytes(b"".join(out))


def test_a_video_pes_header_split_across_packets_is_still_read(tmp_path):
    src, dst = tmp_path / "cut.ts", tmp_path / "cut_out.ts"
    _video_with_cut_pes_headers(SAMPLES / "h264_aac.ts", src)
    cut_video = probe(src).frames.query("pid == 256")
    whole_video = probe(SAMPLES / "h264_aac.ts").frames.query("pid == 256")
    assert cut_video["pts"].tolist() == whole_video["pts"].tolist()  # probe reads them too
    assert cut_video["keyframe"].tolist() == whole_video["keyframe"].tolist()
    inj = Injector([(3.0, out_cue())], preroll=1.0)
    data = inj.feed(src.read_bytes()) + inj.flush()
    dst.write_bytes(data)
    assert inj.placements[0].status == "placed"
    ref = probe(SAMPLES / "h264_aac.ts")
    assert inj.zero_pts == ref.zero_pts
    assert inj.placements[0].splice_pts == ref.zero_pts + 3 * TICKS


def test_fed_one_packet_at_a_time_output_follows_the_lookahead() -> None:
    """What comes before the first frame (PAT, PMT, audio) is held with that frame, not
    forever: a feeder that hands on one packet per call gets the stream back once the
    pre-roll plus margin of video is in."""
    data = (SAMPLES / "h264_aac.ts").read_bytes()
    inj = Injector(preroll=1.0, margin=0.5)
    out = bytearray()
    for i in range(0, len(data), 188):
        out += inj.feed(data[i : i + 188])
    assert len(out) > len(data) // 4
    out += inj.flush()
    a = np.frombuffer(data, np.uint8).reshape(-1, 188)
    b = np.frombuffer(bytes(out), np.uint8).reshape(-1, 188)
    pmt = ((a[:, 1].astype(int) & 0x1F) << 8 | a[:, 2]) == inj.pmt_pid
    assert a.shape == b.shape and (a[~pmt] == b[~pmt]).all()  # only the PMT is rewritten
