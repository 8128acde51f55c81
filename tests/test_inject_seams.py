"""An injector that ``follows`` another continues its output across a live reconnect.

Each session is a real FFmpeg encode (a new ingest: counters and timestamps start again),
run through the live SeamMarker and an injector of its own, as the pipeline does; the
sessions' outputs are joined and probed as the distributor would see them.
"""

from __future__ import annotations

import shutil
import subprocess
from itertools import pairwise
from pathlib import Path

import pytest

from scte35lab import Cue, probe
from scte35lab.errors import StreamError
from scte35lab.live.seam import SeamMarker
from scte35lab.ts.inject import Injector
from scte35lab.ts.packets import TS_PACKET_SIZE
from scte35lab.ts.psi import PMT_TABLE_ID, Pat, Pmt, crc_ok
from scte35lab.ts.sections import SectionAssembler

TICKS = 90_000
FFMPEG = shutil.which("ffmpeg")
pytestmark = pytest.mark.skipif(FFMPEG is None, reason="needs Debian's ffmpeg")


def encode(path: Path, *, seconds: float = 6, extra: tuple[str, ...] = ()) -> Path:
    """Test pattern + tone: H.264, an IDR every 25 frames (1 s), AAC."""
    cmd = [
        FFMPEG, "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast",
        "-g", "25", "-keyint_min", "25", "-sc_threshold", "0", "-b:v", "100k",
        "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "32k", "-ac", "1",
        *extra, "-f", "mpegts", str(path),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True)
    return path


@pytest.fixture(scope="module")
def ingests(tmp_path_factory):
    d = tmp_path_factory.mktemp("seams")
    return {
        "a": encode(d / "a.ts").read_bytes(),
        "b": encode(d / "b.ts", extra=("-vf", "hue=h=90")).read_bytes(),
        # another PMT: no audio stream
        "video_only": encode(d / "v.ts", extra=("-an",)).read_bytes(),
    }


def session(data: bytes, inj: Injector, chunk: int = 10_000) -> bytes:
    """One ingest through SeamMarker and the injector, in chunks that cut packets."""
    seam = SeamMarker()
    out = [inj.feed(seam.feed(data[i : i + chunk])) for i in range(0, len(data), chunk)]
    out.append(inj.feed(seam.flush()))
    out.append(inj.flush())
    return b"".join(out)


def cue_out(event: int) -> Cue:
    return Cue.splice_insert(event, break_duration=TICKS)


def joined(first: bytes, second: bytes) -> tuple[bytes, Injector, Injector]:
    one = Injector([(3.0, cue_out(101))], preroll=2.0, margin=0.5)
    a = session(first, one)
    two = Injector([(3.0, cue_out(202))], preroll=2.0, margin=0.5, follows=one)
    b = session(second, two)
    return a + b, one, two


def pmt_versions(data: bytes) -> list[tuple[int, bytes]]:
    """(version_number, section without version and CRC) of each PMT section, in order."""
    pmt_pid = None
    asm: dict[int, SectionAssembler] = {}
    out = []
    for i in range(0, len(data) - TS_PACKET_SIZE + 1, TS_PACKET_SIZE):
        p = data[i : i + TS_PACKET_SIZE]
        pid = ((p[1] & 0x1F) << 8) | p[2]
        if pid not in (0, pmt_pid) or not p[3] & 0x10:
            continue
        start = 4 if not p[3] & 0x20 else 5 + p[4]
        for s in asm.setdefault(pid, SectionAssembler()).push(p[start:], bool(p[1] & 0x40)):
            if not crc_ok(s):
                continue
            if pid == 0:
                pmt_pid = min(Pat.parse(s).pmt_pids.items())[1]
            elif s[0] == PMT_TABLE_ID:
                out.append((Pmt.parse(s).version_number, s[:5] + bytes([s[5] & 0xC1]) + s[6:-4]))
    return out


def one_line(versions: list[tuple[int, bytes]]) -> list[int]:
    """The distinct versions in order of appearance, after checking none is reused."""
    content: dict[int, bytes] = {}
    line: list[int] = []
    for v, c in versions:
        assert content.setdefault(v, c) == c, f"PMT version {v} sent with two contents"
        if not line or line[-1] != v:
            assert v not in line, f"PMT version {v} comes back after {line}"
            line.append(v)
    return line


def error_types(data: bytes) -> dict[str, int]:
    return probe(data).errors["type"].value_counts().to_dict()


def test_joined_sessions_probe_with_no_continuity_or_pcr_errors(ingests):
    data, one, two = joined(ingests["a"], ingests["b"])
    assert one.pid == two.pid
    types = error_types(data)
    for kind in ("cc_error", "pcr_discontinuity_error", "crc_error", "section_crc_error"):
        assert kind not in types, types


def test_the_scte35_pid_counter_goes_on_across_sessions(ingests):
    data, one, _ = joined(ingests["a"], ingests["b"])
    ccs = [
        data[i + 3] & 0x0F
        for i in range(0, len(data), TS_PACKET_SIZE)
        if ((data[i + 1] & 0x1F) << 8) | data[i + 2] == one.pid
    ]
    assert len(ccs) >= 4
    assert all((b - a) & 0x0F == 1 for a, b in pairwise(ccs)), ccs


def test_both_sessions_cues_are_decoded(ingests):
    data, one, two = joined(ingests["a"], ingests["b"])
    cues = probe(data).cues
    assert set(cues["splice_event_id"].dropna().astype(int)) == {101, 202}
    assert cues["crc_ok"].all()
    assert [p.status for p in one.placements + two.placements] == ["placed", "placed"]


def test_the_same_pmt_keeps_one_version_across_sessions(ingests):
    data, _, _ = joined(ingests["a"], ingests["b"])
    versions = pmt_versions(data)
    assert len(versions) > 4
    assert one_line(versions) == [1]  # FFmpeg writes version 0; ours is one more, once


def test_a_pmt_change_in_the_second_session_bumps_the_version_once(ingests):
    data, _, _ = joined(ingests["a"], ingests["video_only"])
    assert one_line(pmt_versions(data)) == [1, 2]
    assert "cc_error" not in error_types(data)


def test_a_pmt_that_changes_back_gets_a_new_version(ingests):
    one = Injector(preroll=2.0, margin=0.5)
    two = Injector(preroll=2.0, margin=0.5, follows=one)
    a = session(ingests["a"], one)
    b = session(ingests["video_only"], two)
    three = Injector(preroll=2.0, margin=0.5, follows=two)
    c = session(ingests["b"], three)
    assert one_line(pmt_versions(a + b + c)) == [1, 2, 3]


def test_following_an_injector_that_was_not_flushed_is_refused(ingests):
    one = Injector(preroll=2.0, margin=0.5)
    one.feed(ingests["a"][: 200 * TS_PACKET_SIZE])
    two = Injector(preroll=2.0, margin=0.5, follows=one)
    with pytest.raises(StreamError, match="flush"):
        two.feed(ingests["b"][: 10 * TS_PACKET_SIZE])
