"""Regenerate every capture in sample_streams/ and its README.md table.

Video and audio come from the real ``ffmpeg`` CLI (testsrc2 + sine, x264/x265 with a closed
GOP of 25 frames at 25 fps, so an IDR every second, scene cuts off). SCTE-35 is added with
scte35lab's own PSI builder and section packetizer: a PMT with a ``CUEI`` registration
descriptor in program_info and an elementary stream of stream_type 0x86 on PID 500, whose
sections are built by the codec's ``Cue`` builders. One sample is then remuxed by FFmpeg to
show what it does to SCTE-35 (a stream_type 0x06 PES, no ``CUEI``).

Run from the repository root: ``.venv/bin/python sample_streams/make_samples.py``.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from scte35lab.cue import Cue, SegmentationDescriptor
from scte35lab.ts.packetize import SectionPacketizer
from scte35lab.ts.pes import PTS_WRAP, parse_pes_header, pts_diff
from scte35lab.ts.psi import PAT_PID, EsInfo, Pat, Pmt, registration_descriptor

log = logging.getLogger("make_samples")

HERE = Path(__file__).resolve().parent
FPS = 25
TICKS = 90_000
SCTE35_PID = 500
START = 10.0  # seconds: first PTS (output_ts_offset), so no splice time is near 0
WRAP_START = 95_441.0  # 2**33 ticks is 95443.72 s: this one wraps 2.72 s in


def ffmpeg(*args: str) -> None:
    """Run the ffmpeg CLI (argument list, no shell); raise with its stderr on failure."""
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise SystemExit("ffmpeg not found: install Debian's ffmpeg package")
    cmd = [exe, "-hide_banner", "-loglevel", "error", "-y", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"ffmpeg failed ({done.returncode}): {done.stderr.strip()}")


def encode(
    out: Path,
    *,
    seconds: float,
    codec: str = "h264",
    bframes: int = 0,
    start: float = START,
    extra: tuple[str, ...] = (),
    open_gop: bool = False,
) -> None:
    """A test pattern with a tone: 320x180, 25 fps, a keyframe every 25 frames, closed GOP
    (an IDR each time) unless ``open_gop``."""
    video = (
        [
            "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high",
            "-g", str(FPS), "-keyint_min", str(FPS), "-sc_threshold", "0",
            "-bf", str(bframes), "-x264-params", f"open-gop={int(open_gop)}", "-b:v", "120k",
        ]
        if codec == "h264"
        else [
            "-c:v", "libx265", "-preset", "veryfast", "-tag:v", "hvc1", "-b:v", "120k",
            "-x265-params",
            f"keyint={FPS}:min-keyint={FPS}:scenecut=0:open-gop=0:bframes={bframes}:log-level=error",
        ]
    )  # fmt: skip
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size=320x180:rate={FPS}",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", str(seconds), *video, "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "48k", "-ac", "1",
        "-output_ts_offset", str(start), "-muxdelay", "0", "-muxpreload", "0",
        "-pcr_period", "20", *extra, "-f", "mpegts", str(out),
    )  # fmt: skip


# --------------------------------------------------------------------- injection


@dataclass
class Insert:
    """Cue sections sent right after the video frame at ``at`` seconds of stream time."""

    at: float
    sections: list[bytes]
    pack: bool = False  # several sections back to back in shared packets


@dataclass
class Sample:
    name: str
    holds: str
    cues: list[tuple[float, str, float | None, float]] = field(default_factory=list)
    # (sent at s, what, splice at s, pre-roll s)


def packets_of(data: bytes) -> list[bytes]:
    return [data[i : i + 188] for i in range(0, len(data) - 187, 188)]


def _section_of(packet: bytes) -> bytes:
    start = 4 + (packet[4] + 1 if packet[3] & 0x20 else 0)
    pointer = packet[start]
    body = packet[start + 1 + pointer :]
    length = 3 + (((body[1] & 0x0F) << 8) | body[2])
    return body[:length]


def program_layout(packets: list[bytes]) -> tuple[int, Pmt, int]:
    """(PMT PID, the PMT, video PID) of a single-program stream."""
    pmt_pid = None
    for p in packets:
        pid = ((p[1] & 0x1F) << 8) | p[2]
        if pid == PAT_PID and pmt_pid is None:
            pmt_pid = next(iter(Pat.parse(_section_of(p)).pmt_pids.values()))
        elif pmt_pid is not None and pid == pmt_pid:
            pmt = Pmt.parse(_section_of(p))
            video = next(es.elementary_pid for es in pmt.streams if es.stream_type in (0x1B, 0x24))
            return pmt_pid, pmt, video
    raise SystemExit("no PAT/PMT in the encoded sample")


def video_frames(packets: list[bytes], video_pid: int) -> list[tuple[int, int]]:
    """(packet index, PTS) of each video PES start."""
    out = []
    for i, p in enumerate(packets):
        pid = ((p[1] & 0x1F) << 8) | p[2]
        if pid == video_pid and p[1] & 0x40:
            start = 4 + (p[4] + 1 if p[3] & 0x20 else 0)
            h = parse_pes_header(p[start:])
            if h is not None and h.pts is not None:
                out.append((i, h.pts))
    return out


def with_cues(
    data: bytes,
    inserts: list[Insert],
    *,
    pmt_change_at: float | None = None,
) -> tuple[bytes, int]:
    """Add an SCTE-35 PID (PMT with CUEI + stream_type 0x86) and cue sections to a TS.

    With ``pmt_change_at`` the original PMT stays until then and the SCTE-35 PID appears in a
    new PMT version from that time on. Returns the stream and its zero PTS.
    """
    packets = packets_of(data)
    pmt_pid, pmt, video_pid = program_layout(packets)
    frames = video_frames(packets, video_pid)
    zero = frames[0][1]
    new_pmt = Pmt(
        program_number=pmt.program_number,
        pcr_pid=pmt.pcr_pid,
        streams=[*pmt.streams, EsInfo(0x86, SCTE35_PID)],
        program_descriptors=[*pmt.program_descriptors, registration_descriptor("CUEI")],
        version_number=(pmt.version_number + (1 if pmt_change_at is not None else 0)) & 0x1F,
    ).build()
    change_packet = 0
    if pmt_change_at is not None:
        change_packet = next(
            i for i, pts in frames if pts_diff(pts, zero) >= round(pmt_change_at * TICKS)
        )
    at_packet: dict[int, list[Insert]] = {}
    for ins in inserts:
        later = [i for i, pts in frames if pts_diff(pts, zero) > round(ins.at * TICKS)]
        at_packet.setdefault(later[0], []).append(ins)
    cue_out = SectionPacketizer(SCTE35_PID)
    out = bytearray()
    for i, p in enumerate(packets):
        for ins in at_packet.get(i, []):
            for pk in cue_out.packets(ins.sections, pack=ins.pack):
                out += pk
        pid = ((p[1] & 0x1F) << 8) | p[2]
        if pid == pmt_pid and i >= change_packet:
            (pk,) = SectionPacketizer(pmt_pid, p[3] & 0x0F).packets(new_pmt)
            out += pk
        else:
            out += p
    return bytes(out), zero


def ticks(zero: int, seconds: float) -> int:
    return (zero + round(seconds * TICKS)) % PTS_WRAP


# ----------------------------------------------------------------------- samples


def make_all(out_dir: Path) -> list[Sample]:
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="scte35lab-samples-"))
    samples: list[Sample] = []
    try:
        samples += _plain(out_dir, tmp)
        samples += _cue_samples(out_dir, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return samples


def _plain(out: Path, tmp: Path) -> list[Sample]:
    s: list[Sample] = []
    encode(out / "h264_aac.ts", seconds=5, bframes=2)
    s.append(Sample("h264_aac.ts", "H.264 (B-frames, closed GOP) + AAC, no cues"))

    encode(out / "h264_open_gop.ts", seconds=3, bframes=2, open_gop=True)
    s.append(
        Sample("h264_open_gop.ts", "H.264 open GOP: one IDR, then I frames with recovery-point SEI")
    )

    encode(out / "hevc_aac.ts", seconds=4, codec="hevc")
    s.append(Sample("hevc_aac.ts", "HEVC (closed GOP, IDR every 1 s) + AAC, no cues"))

    encode(tmp / "m2ts.ts", seconds=3, extra=("-mpegts_m2ts_mode", "1"))
    shutil.copy(tmp / "m2ts.ts", out / "h264_192.m2ts")
    s.append(Sample("h264_192.m2ts", "192-byte packets (M2TS, 4-byte arrival timestamp)"))

    encode(tmp / "p204.ts", seconds=3)
    data = (tmp / "p204.ts").read_bytes()
    (out / "h264_204.ts").write_bytes(
        b"".join(p + bytes(16) for p in packets_of(data))  # 16 zero "Reed-Solomon" bytes
    )
    s.append(Sample("h264_204.ts", "204-byte packets (188 + 16 parity bytes)"))

    # One packet of video removed near the middle: a continuity_counter error.
    encode(tmp / "cc.ts", seconds=3)
    packets = packets_of((tmp / "cc.ts").read_bytes())
    _, _, video_pid = program_layout(packets)
    mid = len(packets) // 2
    drop = next(
        i
        for i in range(mid, len(packets))
        if ((packets[i][1] & 0x1F) << 8 | packets[i][2]) == video_pid and not packets[i][1] & 0x40
    )
    (out / "cc_error.ts").write_bytes(b"".join(packets[:drop] + packets[drop + 1 :]))
    s.append(Sample("cc_error.ts", f"one video packet (index {drop}) removed: a CC error"))

    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size=320x180:rate={FPS}",
        "-f", "lavfi", "-i", f"testsrc=size=320x180:rate={FPS}",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", "3", "-map", "0:v", "-map", "2:a", "-map", "1:v",
        "-c:v", "libx264", "-preset", "veryfast", "-g", str(FPS), "-sc_threshold", "0",
        "-bf", "0", "-b:v", "200k", "-c:a", "aac", "-b:a", "48k", "-ac", "1",
        "-program", "program_num=1:title=one:st=0:st=1",
        "-program", "program_num=2:title=two:st=2",
        "-output_ts_offset", str(START), "-muxdelay", "0", "-muxpreload", "0",
        "-pcr_period", "20", "-f", "mpegts", str(out / "two_programs.ts"),
    )  # fmt: skip
    s.append(Sample("two_programs.ts", "two programs (1: H.264 + AAC, 2: H.264)"))
    return s


def _splice_insert(
    zero: int,
    event: int,
    at: float,
    *,
    out: bool = True,
    dur: float | None = 2.0,
    adjustment: int = 0,
) -> bytes:
    return Cue.splice_insert(
        event,
        out_of_network=out,
        pts_time=(ticks(zero, at) - adjustment) % PTS_WRAP,
        break_duration=None if dur is None or not out else round(dur * TICKS),
        pts_adjustment=adjustment,
    ).encode()


def _cue_samples(out: Path, tmp: Path) -> list[Sample]:
    s: list[Sample] = []
    base = tmp / "base10.ts"
    encode(base, seconds=10)
    data = base.read_bytes()
    zero = video_frames(packets_of(data), program_layout(packets_of(data))[2])[0][1]

    # cues_ok: out at the IDR of 6 s (sent at 1.0, 1.52, 2.0: pre-roll 5, 4.48, 4 s), in at the
    # IDR of 8 s (sent at 3.0 and 3.52), and a time_signal placement opportunity at 6 s.
    out_cue = _splice_insert(zero, 100, 6.0)
    in_cue = _splice_insert(zero, 100, 8.0, out=False)
    seg = Cue.time_signal(
        ticks(zero, 6.0),
        [
            SegmentationDescriptor(
                segmentation_event_id=200,
                segmentation_type_id=0x34,
                segmentation_duration=2 * TICKS,
                segmentation_upid_type=0x0F,
                segmentation_upid="urn:scte35lab:sample:1",
            )
        ],
    ).encode()
    ok, _ = with_cues(
        data,
        [
            Insert(1.0, [out_cue]),
            Insert(1.2, [seg]),
            Insert(1.52, [out_cue]),
            Insert(2.0, [out_cue]),
            Insert(3.0, [in_cue]),
            Insert(3.52, [in_cue]),
        ],
    )
    (out / "cues_ok.ts").write_bytes(ok)
    s.append(
        Sample(
            "cues_ok.ts",
            "splice_insert out/in on IDRs with 4+ s pre-roll, repeats, time_signal 0x34",
            [
                (1.0, "splice_insert out, event 100, break 2 s", 6.0, 5.0),
                (1.2, "time_signal 0x34, seg event 200, 2 s, URI UPID", 6.0, 4.8),
                (1.52, "splice_insert out, event 100 (repeat)", 6.0, 4.48),
                (2.0, "splice_insert out, event 100 (repeat)", 6.0, 4.0),
                (3.0, "splice_insert in, event 100", 8.0, 5.0),
                (3.52, "splice_insert in, event 100 (repeat)", 8.0, 4.48),
            ],
        )
    )

    off, _ = with_cues(data, [Insert(1.0, [_splice_insert(zero, 101, 6.52)])])
    (out / "cue_off_idr.ts").write_bytes(off)
    s.append(
        Sample(
            "cue_off_idr.ts",
            "out at 6.52 s: a P frame, not an IDR",
            [(1.0, "splice_insert out, event 101, break 2 s", 6.52, 5.52)],
        )
    )

    late, _ = with_cues(data, [Insert(3.0, [_splice_insert(zero, 102, 6.0)])])
    (out / "cue_late.ts").write_bytes(late)
    s.append(
        Sample(
            "cue_late.ts",
            "out at the 6 s IDR sent at 3 s: pre-roll 3 s < 4 s",
            [(3.0, "splice_insert out, event 102, break 2 s", 6.0, 3.0)],
        )
    )

    no_in, _ = with_cues(data, [Insert(0.52, [_splice_insert(zero, 103, 5.0, dur=None)])])
    (out / "cue_out_no_in.ts").write_bytes(no_in)
    s.append(
        Sample(
            "cue_out_no_in.ts",
            "out at the 5 s IDR, no break_duration, never an in",
            [(0.52, "splice_insert out, event 103, no duration", 5.0, 4.48)],
        )
    )

    bad = bytearray(_splice_insert(zero, 104, 7.0))
    bad[-1] ^= 0xFF
    crc, _ = with_cues(
        data, [Insert(1.0, [_splice_insert(zero, 105, 6.0)]), Insert(2.0, [bytes(bad)])]
    )
    (out / "cue_bad_crc.ts").write_bytes(crc)
    s.append(
        Sample(
            "cue_bad_crc.ts",
            "a good out (event 105) and one with a broken CRC_32",
            [
                (1.0, "splice_insert out, event 105", 6.0, 5.0),
                (2.0, "splice_insert out, event 104, CRC_32 broken", 7.0, 5.0),
            ],
        )
    )

    # Sections sharing packets (pointer_field > 0 after a section) and one spanning packets.
    big = Cue.time_signal(
        ticks(zero, 7.0),
        [
            SegmentationDescriptor(
                segmentation_event_id=300 + k,
                segmentation_type_id=0x30,
                segmentation_duration=TICKS,
                segmentation_upid_type=0x0F,
                segmentation_upid=f"urn:scte35lab:sample:spanning:descriptor:{k}",
            )
            for k in range(4)
        ],
    ).encode()
    packed, _ = with_cues(
        data,
        [
            Insert(
                1.0,
                [
                    _splice_insert(zero, 106, 6.0),
                    _splice_insert(zero, 107, 8.0, out=False),
                    Cue.splice_null().encode(),
                ],
                pack=True,
            ),
            Insert(2.0, [big, _splice_insert(zero, 108, 9.0)], pack=True),
        ],
    )
    (out / "cues_packed.ts").write_bytes(packed)
    s.append(
        Sample(
            "cues_packed.ts",
            f"three sections in one packet; a {len(big)}-byte time_signal spanning packets",
            [
                (1.0, "splice_insert out 106 + in 107 + splice_null, one packet", 6.0, 5.0),
                (2.0, f"time_signal, 4 x 0x30 descriptors ({len(big)} bytes) + out 108", 7.0, 5.0),
            ],
        )
    )

    # PMT change: the SCTE-35 PID appears in PMT version 1 at 1 s.
    change, _ = with_cues(data, [Insert(1.52, [_splice_insert(zero, 109, 6.0)])], pmt_change_at=1.0)
    (out / "pmt_change.ts").write_bytes(change)
    s.append(
        Sample(
            "pmt_change.ts",
            "PMT v0 without SCTE-35, v1 (from 1 s) with PID 500 + CUEI",
            [(1.52, "splice_insert out, event 109", 6.0, 4.48)],
        )
    )

    # Starts mid-packet: cues_ok without its first 100 bytes.
    (out / "mid_packet.ts").write_bytes(ok[100:])
    s.append(Sample("mid_packet.ts", "cues_ok.ts without its first 100 bytes (resync)", s[0].cues))

    # FFmpeg remux: the SCTE-35 PID becomes a stream_type 0x06 PES without CUEI.
    ffmpeg(
        "-copyts", "-i", str(out / "cues_ok.ts"), "-map", "0", "-c", "copy",
        "-muxdelay", "0", "-muxpreload", "0", "-pcr_period", "20",
        "-f", "mpegts", str(out / "ffmpeg_remux.ts"),
    )  # fmt: skip
    s.append(
        Sample(
            "ffmpeg_remux.ts",
            "cues_ok.ts remuxed by ffmpeg -c copy: SCTE-35 as 0x06 PES",
            [(c[0], c[1], c[2], c[3]) for c in s[0].cues],
        )
    )

    # PTS wrap: starts 2.72 s before 2**33; the out at 5 s lies after the wrap and uses
    # pts_adjustment, so pts_time + pts_adjustment wraps too.
    wrap_src = tmp / "wrap.ts"
    encode(wrap_src, seconds=8, start=WRAP_START)
    wdata = wrap_src.read_bytes()
    wzero = video_frames(packets_of(wdata), program_layout(packets_of(wdata))[2])[0][1]
    wrap, _ = with_cues(
        wdata,
        [Insert(1.0, [_splice_insert(wzero, 110, 5.0, adjustment=(1 << 33) - 90_000)])],
    )
    (out / "pts_wrap.ts").write_bytes(wrap)
    s.append(
        Sample(
            "pts_wrap.ts",
            "PTS wraps 2**33 at ~2.72 s; out at 5 s with pts_adjustment",
            [(1.0, "splice_insert out, event 110, pts_adjustment 2**33-90000", 5.0, 4.0)],
        )
    )
    return s


def write_readme(out_dir: Path, samples: list[Sample]) -> None:
    """README.md: what each file holds, and each cue as probe() reads it back."""
    from scte35lab.analysis import probe

    lines = [
        "# sample_streams",
        "",
        "Small captures for tests and demos, regenerated by `make_samples.py` (real `ffmpeg` for",
        "audio/video, scte35lab's PSI builder and section packetizer for SCTE-35). Video is",
        "320x180 at 25 fps with an IDR every second (closed GOP, no scene cuts); stream time 0 is",
        f"the first video PTS ({int(START * TICKS)} ticks = {START:g} s; `pts_wrap.ts` starts at",
        f"{WRAP_START:g} s). SCTE-35 rides on PID 500 (stream_type 0x86, `CUEI` in program_info).",
        "",
        "Regenerate (needs Debian's `ffmpeg`): `.venv/bin/python sample_streams/make_samples.py`;",
        "it re-reads every cue file with `probe()` and stops if a cue is not where it was put.",
        "",
        "| file | bytes | holds |",
        "| --- | ---: | --- |",
    ]
    for smp in samples:
        size = (out_dir / smp.name).stat().st_size
        lines.append(f"| `{smp.name}` | {size} | {smp.holds} |")
    lines += [
        "",
        "## Cues",
        "",
        "Times in seconds of stream time. Sent: the video frame after which the section's",
        "packets are inserted (its arrival, as `probe().cues.arrival_time` reads it). Splice PTS:",
        "pts_time + pts_adjustment mod 2**33 in 90 kHz ticks, as `probe().cues.splice_point`",
        "reads it; on IDR: whether a keyframe of `probe().frames` has that PTS.",
        "",
        "| file | sent | cue | splice at | splice PTS | pre-roll | on IDR |",
        "| --- | ---: | --- | ---: | ---: | ---: | --- |",
    ]
    for smp in samples:
        if not smp.cues:
            continue
        p = probe(out_dir / smp.name)
        keys = set(p.keyframes["pts"].dropna().astype(int).tolist())
        cues = p.cues[p.cues["splice_point"].notna()]
        for sent, what, at, pre in smp.cues:
            here = cues[(cues["arrival_time"] - sent).abs() < 1e-6]
            here = here[(here["splice_time"] - at).abs() < 1e-6]
            if not len(here):
                raise SystemExit(f"{smp.name}: probe finds no cue sent at {sent} for {at}")
            sp = int(here["splice_point"].iloc[0])
            got_pre = float(here["preroll"].iloc[0])
            if abs(got_pre - pre) > 1e-6:
                raise SystemExit(f"{smp.name}: pre-roll {got_pre}, expected {pre}")
            lines.append(
                f"| `{smp.name}` | {sent:g} | {what} | {at:g} | {sp} | {pre:g} "
                f"| {'yes' if sp in keys else 'no'} |"
            )
    (out_dir / "README.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE, help="output folder (default: here)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    samples = make_all(args.out)
    write_readme(args.out, samples)
    for smp in samples:
        size = (args.out / smp.name).stat().st_size
        log.info("%-20s %8d bytes  %s", smp.name, size, smp.holds)
        if size >= 2 << 20:
            raise SystemExit(f"{smp.name} is {size} bytes, over the 2 MB budget")


if __name__ == "__main__":
    main()
