"""The shared streaming demultiplexer: PAT/PMT following, sections, PES, access units."""

from __future__ import annotations

from pathlib import Path

from scte35lab import probe
from scte35lab.ts.demux import AccessUnit, Demux
from scte35lab.ts.packetize import SectionPacketizer
from scte35lab.ts.pes import build_pes, pes_packets
from scte35lab.ts.psi import SCTE35_STREAM_TYPE, EsInfo, Pat, Pmt

SAMPLES = Path(__file__).resolve().parent.parent / "sample_streams"


class Recorder:
    """A subscriber that keeps everything it is told."""

    def __init__(self) -> None:
        self.pats: list[Pat] = []
        self.pmts: list[tuple[int, Pmt]] = []
        self.sections: list[tuple[int, bytes, int]] = []
        self.pes: list[tuple[int, int | None, bytes, int]] = []
        self.aus: list[AccessUnit] = []

    def on_pat(self, pat: Pat) -> None:
        self.pats.append(pat)

    def on_pmt(self, program: int, pmt: Pmt) -> None:
        self.pmts.append((program, pmt))

    def on_section(self, pid: int, section: bytes, offset: int) -> None:
        self.sections.append((pid, section, offset))

    def on_pes(self, pid: int, header, data: bytes, offset: int) -> None:
        self.pes.append((pid, header.pts, bytes(data[:8]), offset))

    def on_access_unit(self, au: AccessUnit) -> None:
        self.aus.append(au)


def run(data: bytes, chunk: int | None = None, **kw) -> tuple[Recorder, Demux]:
    rec = Recorder()
    demux = Demux(rec, **kw)
    step = chunk or len(data) or 1
    for i in range(0, len(data), step):
        demux.feed(data[i : i + step])
    demux.flush()
    return rec, demux


def psi_packets(pat: Pat, pmts: dict[int, Pmt]) -> bytes:
    out = b"".join(SectionPacketizer(0).packets(pat.build()))
    for pid, pmt in pmts.items():
        out += b"".join(SectionPacketizer(pid).packets(pmt.build()))
    return out


def keyframes_of(path: Path) -> tuple[list[int], list[int]]:
    frames = probe(path, progress=False).frames
    frames = frames[frames["role"] == "video"]
    keys = frames[frames["keyframe"]]
    return frames["pts"].astype(int).tolist(), keys["pts"].astype(int).tolist()


def test_h264_access_units_and_idrs_match_probe():
    rec, _ = run((SAMPLES / "h264_aac.ts").read_bytes())
    pts, keys = keyframes_of(SAMPLES / "h264_aac.ts")
    assert [au.pts for au in rec.aus] == pts
    assert [au.pts for au in rec.aus if au.keyframe] == keys
    assert all(au.codec == "h264" and au.size > 0 for au in rec.aus)


def test_hevc_irap_pictures_are_keyframes():
    rec, _ = run((SAMPLES / "hevc_aac.ts").read_bytes(), chunk=1316)
    pts, keys = keyframes_of(SAMPLES / "hevc_aac.ts")
    assert len(keys) >= 2
    assert [au.pts for au in rec.aus] == pts
    assert [au.pts for au in rec.aus if au.keyframe] == keys
    assert {au.codec for au in rec.aus} == {"hevc"}


def test_pes_cut_across_chunks_reads_the_same_in_any_chunking():
    data = (SAMPLES / "h264_aac.ts").read_bytes()
    whole, _ = run(data)
    for chunk in (1, 187, 1000, 7 * 188 + 5):
        if chunk == 1:
            part, _ = run(data[: 188 * 400], chunk)
            ref, _ = run(data[: 188 * 400])
        else:
            part, ref = run(data, chunk)[0], whole
        assert [(a.pts, a.dts, a.keyframe, a.size, a.offset) for a in part.aus] == [
            (a.pts, a.dts, a.keyframe, a.size, a.offset) for a in ref.aus
        ]
        assert part.pes == ref.pes


def test_access_unit_size_counts_every_payload_byte_of_its_pes():
    payloads = [bytes([0, 0, 0, 1, 0x09, 0xF0]) + bytes(range(256)) * k for k in (1, 3, 9)]
    pmt = Pmt(1, 256, [EsInfo(0x1B, 256)])
    data = psi_packets(Pat({1: 4096}), {4096: pmt})
    sizes, cc = [], 0
    for k, body in enumerate(payloads):
        pes = build_pes(0xE0, body, pts=9000 * k)
        sizes.append(len(pes))
        packets, cc = pes_packets(pes, 256, cc)
        data += b"".join(packets)
    rec, _ = run(data, chunk=500)
    assert [au.size for au in rec.aus] == sizes
    assert [au.pts for au in rec.aus] == [0, 9000, 18000]


def test_pmt_version_change_is_followed():
    rec, demux = run((SAMPLES / "pmt_change.ts").read_bytes(), chunk=4096)
    versions = [pmt.version_number for _, pmt in rec.pmts]
    assert versions == [0, 1]
    assert SCTE35_STREAM_TYPE not in {es.stream_type for es in rec.pmts[0][1].streams}
    assert demux.streams[500] == (1, SCTE35_STREAM_TYPE)
    cues = [s for pid, s, _ in rec.sections if pid == 500]
    assert cues and all(s[0] == 0xFC for s in cues)


def test_two_programs_are_both_followed():
    rec, demux = run((SAMPLES / "two_programs.ts").read_bytes(), chunk=2048)
    assert sorted(p for p, _ in rec.pmts) == [1, 2]
    assert len(rec.pats) == 1 and len(rec.pats[0].pmt_pids) == 2
    video = {pid for pid, (_, st) in demux.streams.items() if st == 0x1B}
    assert len(video) == 2
    assert {au.pid for au in rec.aus} == video
    frames = probe(SAMPLES / "two_programs.ts", progress=False).frames
    for pid in video:
        want = frames[(frames["pid"] == pid)]["pts"].astype(int).tolist()
        assert [au.pts for au in rec.aus if au.pid == pid] == want


def test_moved_pmt_pid_is_followed_and_old_one_dropped():
    es = [EsInfo(0x1B, 256)]
    first = psi_packets(Pat({1: 4096}), {4096: Pmt(1, 256, es)})
    moved = psi_packets(Pat({1: 4097}, version_number=1), {4097: Pmt(1, 257, [EsInfo(0x1B, 257)])})
    rec, demux = run(first + moved)
    assert [p.pmt_pids for p in rec.pats] == [{1: 4096}, {1: 4097}]
    assert demux.psi.pmt_pids == {4097: 1}
    assert list(demux.streams) == [257]


def test_resync_after_sync_loss():
    data = (SAMPLES / "h264_aac.ts").read_bytes()
    cut = 188 * 300 + 77
    broken = data[:cut] + b"\x00" * 50 + data[cut:]
    rec, demux = run(broken, chunk=4000)
    whole, _ = run(data)
    assert demux.resyncs == 1
    assert demux.offset == len(broken)
    got = [a.pts for a in rec.aus]
    want = [a.pts for a in whole.aus]
    assert len(want) - 2 <= len(got) < len(want)  # only the access unit hit by the loss
    assert set(got) <= set(want)
    after = [a.offset - 50 for a in rec.aus if a.offset > cut]
    assert after == [a.offset for a in whole.aus if a.offset > cut]


def test_sections_spanning_packets_are_assembled():
    rec, _ = run((SAMPLES / "cues_packed.ts").read_bytes(), chunk=188 * 3 + 1)
    cues = [s for pid, s, _ in rec.sections if pid == 500]
    assert 281 in {len(s) for s in cues}  # the time_signal that spans two packets
    assert len({s for s in cues if len(s) < 184}) >= 3  # three in one packet
    big = Pmt(1, 256, [EsInfo(0x06, 300 + k, [(0x0A, b"eng\x00" * 8)]) for k in range(12)])
    section = big.build()
    assert len(section) > 2 * 184
    rec, _ = run(psi_packets(Pat({1: 4096}), {4096: big}), chunk=100)
    assert rec.pmts == [(1, Pmt.parse(section))]


def test_sections_of_extra_pids_and_pes_of_audio():
    data = (SAMPLES / "h264_aac.ts").read_bytes()
    rec, demux = run(data, section_pids=(0x11,))
    sdt = [s for pid, s, _ in rec.sections if pid == 0x11]
    assert sdt and sdt[0][0] == 0x42
    audio = [pid for pid, (_, st) in demux.streams.items() if st == 0x0F]
    heads = [d for pid, _, d, _ in rec.pes if pid == audio[0]]
    assert heads and all(h[0] == 0xFF and h[1] & 0xF0 == 0xF0 for h in heads)  # ADTS


def test_no_access_unit_work_without_a_subscriber_for_it():
    class PatOnly:
        def __init__(self) -> None:
            self.n = 0

        def on_pat(self, pat: Pat) -> None:
            self.n += 1

    sub = PatOnly()
    demux = Demux(sub)
    demux.feed((SAMPLES / "h264_aac.ts").read_bytes())
    assert sub.n == 1
    assert demux.video_pts == {}
