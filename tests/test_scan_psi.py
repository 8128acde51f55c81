"""The probe follows PAT/PMT through the shared PsiFollower and classifies streams with the
demux's own function, and still reports what is wrong with the PSI it reads."""

from __future__ import annotations

import pytest

from scte35lab.ts.demux import PES, PRIVATE, SECTIONS, VIDEO, stream_kind
from scte35lab.ts.packetize import SectionPacketizer
from scte35lab.ts.psi import (
    CRC_ERROR,
    NOT_FOLLOWED,
    PARSE_ERROR,
    REPEAT,
    WRONG_TABLE,
    EsInfo,
    Pat,
    Pmt,
    PsiFollower,
    classify_stream,
    registration_descriptor,
    with_crc,
)
from scte35lab.ts.scan import Scanner

PMT_PID = 0x100

AC3_DESCRIPTOR = (0x6A, b"")
SUBTITLE_DESCRIPTOR = (0x59, b"eng\x10\x00\x01\x00\x01")

CASES = [
    # stream_type, descriptors, (role, codec, private), demux kind
    (0x86, [], ("scte35", "scte_35", False), SECTIONS),
    (0x05, [registration_descriptor()], ("scte35", "scte_35", False), SECTIONS),
    (0x05, [], ("other", "private_sections", False), PES),
    (0x1B, [], ("video", "h264", False), VIDEO),
    (0x24, [], ("video", "hevc", False), VIDEO),
    (0x0F, [], ("audio", "aac", False), PES),
    (0x06, [AC3_DESCRIPTOR], ("audio", "ac3", False), PES),
    (0x06, [registration_descriptor("Opus")], ("audio", "opus", False), PES),
    (0x06, [SUBTITLE_DESCRIPTOR], ("other", "dvb_subtitle", False), PES),
    (0x06, [], ("other", "private_pes", True), PRIVATE),
    (0x99, [], ("other", "0x99", False), PES),
]


@pytest.mark.parametrize(("stream_type", "descriptors", "want", "kind"), CASES)
def test_one_classification_serves_the_probe_and_the_demux(stream_type, descriptors, want, kind):
    es = EsInfo(stream_type, 0x101, descriptors)
    cls = classify_stream(stream_type, descriptors, es.registration)
    assert (cls.role, cls.codec, cls.private) == want
    assert stream_kind(stream_type, descriptors, es.registration) == kind
    pmt = Pmt(program_number=1, pcr_pid=0x1FFF, streams=[es])
    info = Scanner().scan(_ts(_pat(), pmt.build())).pid_info[0x101]
    assert (info.role, info.codec) == want[:2]
    assert info.carriage == {SECTIONS: "section", PRIVATE: "probe"}.get(kind)


def _pat(version: int = 0) -> bytes:
    return Pat(programs={1: PMT_PID}, version_number=version).build()


def _pmt(version: int = 0) -> bytes:
    streams = [EsInfo(0x1B, 0x101), EsInfo(0x86, 0x102, [registration_descriptor()])]
    return Pmt(1, 0x101, streams, version_number=version).build()


def _ts(*sections: bytes, pids: tuple[int, ...] | None = None) -> bytes:
    """Each section in its own packets, on PID 0 then the PMT PID (or on ``pids``)."""
    pids = pids or (0, *([PMT_PID] * (len(sections) - 1)))
    packetizers: dict[int, SectionPacketizer] = {}
    out = b""
    for pid, section in zip(pids, sections, strict=True):
        p = packetizers.setdefault(pid, SectionPacketizer(pid))
        out += b"".join(p.packets(section))
    return out


def test_the_follower_says_why_it_took_a_section_as_nothing_new():
    f = PsiFollower()
    assert f.section(0, _pat()) is not None and f.refusal is None
    assert f.section(0, _pat()) is None and f.refusal.reason == REPEAT
    bad = bytearray(_pat(1))
    bad[-1] ^= 1
    assert f.section(0, bytes(bad)) is None and f.refusal.reason == CRC_ERROR
    assert f.refusal.detail == "table_id 0x00 CRC_32 does not match"
    assert f.section(0, _pmt()) is None and f.refusal.reason == WRONG_TABLE
    assert f.refusal.detail == "table_id 0x02 on PID 0"
    assert f.section(0x200, _pmt()) is None and f.refusal.reason == NOT_FOLLOWED
    assert f.section(PMT_PID, _pat()) is None and f.refusal.reason == WRONG_TABLE
    broken = _broken_pmt()
    assert f.section(PMT_PID, broken) is None and f.refusal.reason == PARSE_ERROR
    assert "program_info_length" in f.refusal.detail
    assert f.section(PMT_PID, broken) is None and f.refusal.reason == REPEAT
    assert f.bad == 2
    assert isinstance(f.section(PMT_PID, _pmt()), Pmt) and f.refusal is None


def _broken_pmt() -> bytes:
    """A PMT with a good CRC_32 whose program_info_length overruns the section."""
    body = bytearray(_pmt()[:-4])
    body[10], body[11] = 0xF3, 0xFF
    return with_crc(bytes(body))


def _errors(data: bytes) -> list[tuple[str, int | None, str]]:
    """The errors but pid_error (the PMT's video PID has no packets here)."""
    errors = Scanner().scan(data).errors
    return [(e["type"], e["pid"], e["detail"]) for e in errors if e["type"] != "pid_error"]


def test_a_pmt_on_pid_0_is_a_pat_error_naming_its_table_id():
    errors = _errors(_ts(_pat(), _pmt(), _pmt(), pids=(0, 0, PMT_PID)))
    assert errors == [("pat_error", 0, "table_id 0x02 on PID 0")]


def test_a_pmt_that_does_not_parse_is_a_pmt_error_with_the_reason_once():
    errors = _errors(_ts(_pat(), _broken_pmt(), _broken_pmt()))
    assert [e[:2] for e in errors] == [("pmt_error", PMT_PID)]
    assert "program_info_length overruns the section" in errors[0][2]


def test_a_damaged_pat_is_a_crc_error_and_the_next_one_is_read():
    bad = bytearray(_pat())
    bad[-2] ^= 0x40
    data = _ts(bytes(bad), _pat(), _pmt(), pids=(0, 0, PMT_PID))
    assert _errors(data) == [("crc_error", 0, "table_id 0x00 CRC_32 does not match")]
    assert Scanner().scan(data).pid_info[0x102].role == "scte35"


def test_a_new_pmt_version_is_a_pmt_change_naming_both_versions():
    errors = _errors(_ts(_pat(), _pmt(0), _pmt(0), _pmt(3)))
    assert errors == [("pmt_change", PMT_PID, "program 1 PMT version 0 -> 3")]
