"""The command line claims nothing it has not seen: input that is not MPEG-TS, nothing to
verify and cues not placed are exit codes with one line that says so; a failed command
leaves no output behind; a bad option is one line, not a usage block."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from scte35lab import Cue, inject, probe
from scte35lab.cli import main

SAMPLES = Path(__file__).resolve().parents[1] / "sample_streams"
SRC = SAMPLES / "h264_aac.ts"  # 5 s, an IDR every second, last frame at 4.96 s
OUT_CUE = Cue.splice_insert(1, break_duration=90_000)
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")


def _err_line(capsys) -> str:
    """stderr, which must be exactly one line; that line."""
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err and "usage:" not in err
    return err.strip()


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture(scope="module")
def clip_mp4(tmp_path_factory) -> Path:
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs ffmpeg")
    path = tmp_path_factory.mktemp("mp4") / "clip.mp4"
    argv = ["ffmpeg", "-hide_banner", "-v", "error", "-f", "lavfi", "-i"]
    argv += ["testsrc=d=1:s=160x120:r=25", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(argv, check=True, timeout=60)
    return path


# ------------------------------------------------------------------ not MPEG-TS: exit 2


def test_verify_of_an_mp4_says_what_it_is_and_exits_2(clip_mp4, capsys):
    assert main(["verify", str(clip_mp4)]) == 2
    line = _err_line(capsys)
    assert line.startswith(f"error: verify: {clip_mp4} is an MP4/ISO BMFF file (ftyp box), not")
    assert "MPEG-TS" in line and "not fragmented" in line


def test_verify_of_an_empty_file_says_so_and_exits_2(tmp_path, capsys):
    empty = tmp_path / "empty.ts"
    empty.write_bytes(b"")
    assert main(["verify", str(empty)]) == 2
    assert _err_line(capsys) == f"error: verify: {empty} is empty (0 bytes), not MPEG-TS"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "MP4/ISO BMFF"),
        (b"", "is empty (0 bytes)"),
        (b"a shopping list\nmilk\n", "is text (starts 'a shopping list')"),
        (b"#EXTM3U\n#EXTINF:1,\na.ts\n", "is an HLS playlist (#EXTM3U)"),
        (b"\x47\x40\x00\x10" + bytes(50), "is too short (54 bytes"),
    ],
)
def test_probe_of_what_is_not_ts_is_one_line_and_exit_2(tmp_path, capsys, clip_mp4, content, words):
    path = clip_mp4 if content is None else tmp_path / "x.ts"
    if content is not None:
        path.write_bytes(content)
    assert main(["probe", str(path)]) == 2
    line = _err_line(capsys)
    assert line.startswith(f"error: probe: {path} ") and words in line
    assert line.endswith(", not MPEG-TS")
    assert capsys.readouterr().out == ""


# ----------------------------------------------------------- nothing to verify: exit 1


def test_verify_of_a_900_byte_fragment_is_nothing_to_verify(tmp_path, capsys):
    frag = tmp_path / "frag.ts"
    frag.write_bytes(SRC.read_bytes()[:900])
    assert main(["verify", str(frag)]) == 1
    captured = capsys.readouterr()
    assert captured.out == f"EMPTY {frag}: 0 cues, nothing to verify; pre-roll >= 4 s\n"
    assert captured.err == (
        f"error: verify: {frag}: no cues found: nothing to verify (--allow-empty accepts that)\n"
    )
    assert main(["verify", str(frag), "--allow-empty"]) == 0


def test_verify_of_a_capture_without_cues_fails_unless_allowed(capsys):
    assert main(["verify", str(SRC)]) == 1
    assert "no cues found" in capsys.readouterr().err
    assert main(["verify", str(SRC), "--allow-empty", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


# --------------------------------------------------------- cues not placed: exit 1


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["--at", "9999"], "the stream ended before its splice point (9999.000 s asked"),
        (["--at", "4.99"], "the stream ended before its splice point (4.990 s asked"),
    ],
)
def test_inject_of_a_cue_it_cannot_place_exits_1_and_writes_nothing(tmp_path, capsys, args, why):
    out = tmp_path / "out.ts"
    assert main(["inject", str(SRC), str(out), "--cue", OUT_CUE.to_base64(), *args]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"error: inject: cue 0 (splice_insert event 1): missed: {why}")
    assert err[0].endswith("last frame at 4.960 s)")
    assert err[1] == (
        f"error: inject: 1 of 1 cue(s) not placed: {out} not written "
        "(--allow-missed writes it anyway)"
    )
    assert _files(tmp_path) == []


def test_inject_of_a_cue_without_at_whose_own_time_is_not_in_the_stream_exits_1(tmp_path, capsys):
    zero = int(probe(SRC).zero_pts)
    cue = Cue.splice_insert(7, pts_time=zero + 60 * 90_000)  # a minute after the start
    out = tmp_path / "out.ts"
    assert main(["inject", str(SRC), str(out), "--cue", cue.to_base64()]) == 1
    err = capsys.readouterr().err
    assert "cue 0 (splice_insert event 7): missed: the stream ended before" in err
    assert not out.exists()


def test_one_missed_cue_of_two_names_that_one(tmp_path, capsys):
    out = tmp_path / "out.ts"
    good, bad = Cue.splice_insert(1).to_base64(), Cue.splice_insert(2).to_base64()
    argv = ["inject", str(SRC), str(out), "--cue", good, "--at", "2", "--cue", bad]
    assert main([*argv, "--at", "30", "--preroll", "1"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert [line.split(":")[2].strip() for line in err[:1]] == ["cue 1 (splice_insert event 2)"]
    assert "1 of 2 cue(s) not placed" in err[-1]
    assert not out.exists()


def test_allow_missed_writes_the_output_and_warns(tmp_path, capsys):
    out = tmp_path / "out.ts"
    argv = ["inject", str(SRC), str(out), "--cue", OUT_CUE.to_base64(), "--at", "9999"]
    assert main([*argv, "--allow-missed", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("warning: inject: cue 0 (splice_insert event 1): missed:")
    assert json.loads(captured.out)[0]["status"] == "missed"
    assert out.exists() and len(probe(out).cues) == 0
    assert main(["verify", str(out)]) == 1  # and a verify after it proves nothing


def test_the_api_report_says_why_and_strict_raises(tmp_path):
    from scte35lab.errors import CuesNotPlacedError

    report = inject(SRC, tmp_path / "a.ts", [(9999.0, OUT_CUE)])
    assert report["status"].tolist() == ["missed"]
    assert report["reason"].iloc[0].startswith("the stream ended before its splice point")
    with pytest.raises(CuesNotPlacedError, match="1 of 1 cue") as err:
        inject(SRC, tmp_path / "b.ts", [(9999.0, OUT_CUE)], strict=True)
    assert err.value.report["status"].tolist() == ["missed"]
    assert _files(tmp_path) == ["a.ts"]


@needs_ffmpeg
def test_condition_with_a_cue_it_cannot_place_exits_1_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "c.ts"
    argv = ["condition", str(SRC), str(out), "--at", "9999", "--cue", OUT_CUE.to_base64()]
    assert main(argv) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("error: condition: cue 0 (splice_insert event 1): missed: ")
    assert err[-1].startswith("error: condition: 1 of 1 cue(s) not placed")
    assert _files(tmp_path) == []


def test_a_cue_asked_for_before_the_stream_says_where_it_went_instead(tmp_path, capsys):
    zero = int(probe(SRC).zero_pts)
    cue = Cue.splice_insert(3, pts_time=zero - 10 * 90_000)
    out = tmp_path / "out.ts"
    assert main(["inject", str(SRC), str(out), "--cue", cue.to_base64(), "--preroll", "1"]) == 0
    line = _err_line(capsys)
    assert line.startswith("warning: inject: cue 0 (splice_insert event 3): late: ")
    assert line.endswith(
        "(asked for -10.000 s, before the stream's first frame: spliced at 0.000 s instead)"
    )
    assert main(["verify", str(out), "--preroll", "1"]) == 1  # and verify does not pass it


# -------------------------------------------------- a failure leaves nothing behind


def _psi_only(tmp_path: Path) -> Path:
    """A TS of the sample's PAT and PMT packets only: no video, no audio."""
    data = SRC.read_bytes()
    keep = [data[i : i + 188] for i in range(0, len(data), 188)]
    keep = [p for p in keep if ((p[1] & 0x1F) << 8 | p[2]) in (0, 4096)]
    path = tmp_path / "psi.ts"
    path.write_bytes(b"".join(keep))
    return path


def test_failed_inject_leaves_no_output(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    nulls = src / "nulls.ts"
    nulls.write_bytes(b"\x47\x1f\xff\x10" + bytes(184) * 1 + b"\x47\x1f\xff\x11" + bytes(184))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    cue = OUT_CUE.to_base64()
    assert main(["inject", str(nulls), str(out_dir / "o.ts"), "--cue", cue, "--at", "1"]) == 2
    assert (
        _err_line(capsys) == "error: inject: no PAT/PMT found in the input: nothing to inject into"
    )
    assert _files(out_dir) == []


def test_failed_hls_leaves_no_folder_and_no_files(tmp_path, capsys):
    psi = _psi_only(tmp_path)
    dest = tmp_path / "hls"
    assert main(["hls", str(psi), str(dest)]) == 2
    assert _err_line(capsys) == "error: hls: no video frames found: nothing to segment"
    assert not dest.exists()
    dest.mkdir()
    (dest / "old.txt").write_text("mine")
    assert main(["hls", str(psi), str(dest)]) == 2
    capsys.readouterr()
    assert _files(dest) == ["old.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hls", "psi.ts"]


def test_hls_of_an_mp4_is_one_line_and_no_folder(tmp_path, capsys, clip_mp4):
    assert main(["hls", str(clip_mp4), str(tmp_path / "hls")]) == 2
    assert _err_line(capsys).endswith("is an MP4/ISO BMFF file (ftyp box), not MPEG-TS")
    assert _files(tmp_path) == []


@needs_ffmpeg
def test_dash_and_condition_of_an_mp4_leave_nothing(tmp_path, capsys, clip_mp4):
    assert main(["dash", str(clip_mp4), str(tmp_path / "dash")]) == 2
    assert _err_line(capsys).endswith("not MPEG-TS")
    assert main(["condition", str(clip_mp4), str(tmp_path / "c.ts"), "--at", "1"]) == 2
    assert _err_line(capsys).endswith("not MPEG-TS")
    assert _files(tmp_path) == []


def test_successful_hls_into_a_new_folder(tmp_path, capsys):
    dest = tmp_path / "new" / "hls"
    assert main(["hls", str(SAMPLES / "cues_ok.ts"), str(dest), "--segment", "4"]) == 0
    assert json.loads(capsys.readouterr().out)["playlist"] == str(dest / "index.m3u8")
    assert (dest / "index.m3u8").exists()
    assert [p.name for p in dest.parent.iterdir()] == ["hls"]


# ---------------------------------------------------- bad options: one line, exit 2


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["inject", "a.ts", "b.ts", "--preroll", "abc"], "argument --preroll: not a number"),
        (["verify", "a.ts", "--preroll", "-1"], "argument --preroll: -1 is not >= 0"),
        (["probe", "a.ts", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["inject", "a.ts"], "the following arguments are required: output"),
        (["verify", "a.ts", "--preroll"], "argument --preroll: expected one argument"),
        (["probe", "a.ts", "--table", "nope"], "argument --table: invalid choice: 'nope'"),
        (["hls", "a.ts", "o", "--segment", "0"], "argument --segment: must be > 0"),
        ([], "the following arguments are required: COMMAND"),
        (["nosuchcommand"], "invalid choice: 'nosuchcommand'"),
    ],
)
def test_a_bad_option_is_one_line_naming_it_and_exit_2(capsys, argv, said):
    assert main(argv) == 2
    line = _err_line(capsys)
    assert line.startswith("error: scte35lab") and said in line


def test_help_still_works(capsys):
    assert main(["inject", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: scte35lab inject") and "--allow-missed" in out


# ---------------------------------------------------------- decode @capture.ts


def test_decode_of_a_capture_finds_the_scte35_pid_and_decodes_each_cue(capsys):
    capture = SAMPLES / "cues_ok.ts"
    assert main(["decode", f"@{capture}"]) == 0
    got = json.loads(capsys.readouterr().out)
    cues = probe(capture).cues
    assert [c["pid"] for c in got] == [int(p) for p in cues.drop_duplicates("base64")["pid"]]
    assert [
        Cue.from_dict(
            {k: v for k, v in c.items() if k not in ("pid", "packet", "copies")}
        ).to_base64()
        for c in got
    ] == list(cues["base64"].drop_duplicates())
    assert sum(c["copies"] for c in got) == len(cues)
    assert got[0]["packet"] == int(cues["packet"].iloc[0])


def test_decode_of_a_capture_without_scte35_says_to_use_probe(capsys):
    assert main(["decode", f"@{SRC}"]) == 2
    assert _err_line(capsys) == (
        f"error: decode: {SRC} is MPEG-TS with no SCTE-35 PID in its PMT: use "
        f"`scte35lab probe {SRC} --table pids` to see what it carries"
    )


def test_decode_of_cues_in_two_programs_says_to_use_probe(tmp_path, capsys):
    two = SAMPLES / "two_programs.ts"
    first, both = tmp_path / "p1.ts", tmp_path / "both.ts"
    inject(two, first, [(2.0, Cue.splice_insert(1))], program=1, preroll=1)
    inject(first, both, [(2.0, Cue.splice_insert(2))], program=2, preroll=1, pid=501)
    assert main(["decode", f"@{both}"]) == 2
    line = _err_line(capsys)
    assert "carries SCTE-35 in 2 programs" in line and f"`scte35lab probe {both} --pid N`" in line
