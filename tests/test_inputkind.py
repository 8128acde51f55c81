"""What an input is, from its first bytes: TS in every packet size probe reads, and what
other inputs look like instead (each a named error from every reader of captures)."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scte35lab import condition, inject, probe, verify
from scte35lab.cue import Cue
from scte35lab.errors import NotTransportStreamError, StreamError
from scte35lab.inputkind import HEAD_BYTES, input_kind, look, require_ts, sniff
from scte35lab.manifest import package_dash, package_hls

SAMPLES = Path(__file__).resolve().parents[1] / "sample_streams"
TS = SAMPLES / "h264_aac.ts"
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")


def _ffmpeg_clip(path: Path, *extra: str) -> Path:
    """One second of test picture written by FFmpeg in the container ``path`` names."""
    argv = ["ffmpeg", "-hide_banner", "-v", "error", "-y", "-f", "lavfi"]
    argv += ["-i", "testsrc=d=1:s=160x120:r=25", "-c:v", "libx264", "-pix_fmt", "yuv420p"]
    subprocess.run([*argv, *extra, str(path)], check=True, timeout=60)
    return path


@pytest.mark.parametrize(
    ("name", "size", "offset"),
    [
        ("h264_aac.ts", 188, 0),
        ("h264_192.m2ts", 192, 4),
        ("h264_204.ts", 204, 0),
        ("mid_packet.ts", 188, 88),
    ],
)
def test_every_packet_size_probe_reads_is_ts(name, size, offset):
    kind = input_kind(SAMPLES / name)
    assert (kind.kind, kind.packet_size, kind.offset) == ("ts", size, offset)


def test_a_fragment_of_a_few_packets_is_still_ts():
    data = TS.read_bytes()
    assert sniff(data[:900]).kind == "ts"
    assert sniff(data[:188]).kind == "ts"


@pytest.mark.parametrize(
    ("data", "kind", "words"),
    [
        (b"", "empty", "empty (0 bytes)"),
        (b"\x47" + bytes(99), "short", "too short (100 bytes"),
        (b"#EXTM3U\n#EXT-X-VERSION:3\n", "m3u8", "an HLS playlist"),
        (b'<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"/>', "mpd", "MPD"),
        (b"<html><body>404</body></html>", "text", "XML or HTML"),
        (b"hello, world\n", "text", "text (starts 'hello, world')"),
        (b"\x1a\x45\xdf\xa3" + bytes(300), "binary", "Matroska"),
        (bytes(range(256)) * 4, "binary", "unknown binary data"),
        (b"\x00\x00\x00\x18ftypisom" + bytes(300), "mp4", "MP4/ISO BMFF file (ftyp box)"),
        (b"\x00\x00\x00\x18styp" + bytes(300), "mp4", "styp box"),
        (b"FLV\x01\x05" + bytes(300), "flv", "an FLV file"),
    ],
)
def test_what_other_inputs_look_like(data, kind, words):
    got = sniff(data)
    assert got.kind == kind and words in got.description
    assert got.message("x.ts") == f"x.ts is {got.description}, not MPEG-TS"


@needs_ffmpeg
def test_real_mp4_and_flv_files_are_named(tmp_path):
    mp4 = _ffmpeg_clip(tmp_path / "clip.mp4")
    frag = _ffmpeg_clip(tmp_path / "frag.mp4", "-movflags", "+frag_keyframe+empty_moov")
    flv = _ffmpeg_clip(tmp_path / "clip.flv")
    assert input_kind(mp4).kind == "mp4"
    assert input_kind(frag).kind == "mp4"
    assert input_kind(flv).kind == "flv"
    with pytest.raises(NotTransportStreamError) as err:
        probe(mp4)
    said = str(err.value)
    assert said.startswith(f"{mp4} is an MP4/ISO BMFF file (ftyp box)")
    assert said.endswith("not MPEG-TS") and "not fragmented" in said
    assert err.value.kind.kind == "mp4"


def test_not_ts_is_a_stream_error_every_caller_already_catches():
    with pytest.raises(StreamError, match="is empty"):
        probe(b"")


@pytest.mark.parametrize("data", [b"", b"#EXTM3U\n", b"just text\n"])
def test_every_reader_of_captures_refuses_what_is_not_ts(tmp_path, data):
    src = tmp_path / "in.ts"
    src.write_bytes(data)
    cue = (2.0, Cue.splice_insert(1))
    calls = [
        lambda: probe(src),
        lambda: verify(src),
        lambda: inject(src, tmp_path / "out.ts", [cue]),
        lambda: package_hls(src, tmp_path / "hls"),
    ]
    if shutil.which("ffmpeg"):
        calls += [
            lambda: condition(src, tmp_path / "c.ts", [1.0]),
            lambda: package_dash(src, tmp_path / "dash"),
        ]
    for call in calls:
        with pytest.raises(NotTransportStreamError, match=r"in\.ts is .*, not MPEG-TS"):
            call()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.ts"]


def test_a_cut_or_damaged_ts_still_probes_and_says_what_is_wrong():
    data = TS.read_bytes()
    cut = probe(data[: 188 * 40 + 100])
    assert "truncated_packet" in cut.errors["type"].astype(str).tolist()
    damaged = bytearray(data)
    damaged[188 * 20] = 0
    assert "sync_loss" in probe(bytes(damaged)).errors["type"].astype(str).tolist()


def test_a_pipe_is_read_whole_after_being_looked_at():
    data = TS.read_bytes() * 3
    assert len(data) > HEAD_BYTES  # the rest comes from the pipe after the head

    class Pipe(io.RawIOBase):  # a real non-seekable reader over the bytes
        def __init__(self) -> None:
            self.inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, b) -> int:
            chunk = self.inner.read(min(len(b), 5000))
            b[: len(chunk)] = chunk
            return len(chunk)

    kind, ready = look(Pipe())
    assert kind.kind == "ts"
    assert ready.read() == data
    assert probe(Pipe()).packet_count == probe(data).packet_count


def test_a_seekable_file_is_put_back_where_it_was():
    f = io.BytesIO(b"junk" + TS.read_bytes())
    f.seek(4)
    assert require_ts(f) is f and f.tell() == 4


def test_the_stdin_of_the_cli_is_looked_at_and_probed():
    with TS.open("rb") as stdin:
        run = subprocess.run(
            [sys.executable, "-m", "scte35lab", "probe", "-", "--table", "summary"],
            stdin=stdin,
            capture_output=True,
            timeout=60,
            check=False,
        )
    assert run.returncode == 0, run.stderr
    assert f"packets        {probe(TS).packet_count}\n" in run.stdout.decode()


def test_text_on_stdin_is_named_in_one_line():
    run = subprocess.run(
        [sys.executable, "-m", "scte35lab", "probe", "-"],
        input=b"#EXTM3U\n",
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    said = "error: probe: <stdin> is an HLS playlist (#EXTM3U), not MPEG-TS\n"
    assert run.stderr.decode() == said
