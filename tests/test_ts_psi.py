"""PAT and PMT: parse and build with CRC_32."""

from __future__ import annotations

from pathlib import Path

import pytest

from scte35lab.errors import CrcError
from scte35lab.ts.psi import (
    EsInfo,
    Pat,
    Pmt,
    crc_ok,
    registration_descriptor,
)
from scte35lab.ts.sections import SectionAssembler

SAMPLES = Path(__file__).resolve().parent.parent / "sample_streams"


def _sections(path: Path, pid: int) -> list[bytes]:
    data = path.read_bytes()
    asm = SectionAssembler()
    out = []
    for i in range(0, len(data) - 187, 188):
        p = data[i : i + 188]
        if ((p[1] & 0x1F) << 8 | p[2]) == pid:
            start = 4 + (p[4] + 1 if p[3] & 0x20 else 0)
            out += asm.push(p[start:], bool(p[1] & 0x40))
    return out


def test_pat_build_then_parse_round_trips():
    pat = Pat({0: 0x10, 1: 0x1000, 2: 0x1001}, transport_stream_id=7, version_number=3)
    section = pat.build()
    assert crc_ok(section)
    assert Pat.parse(section) == pat
    assert Pat.parse(section).pmt_pids == {1: 0x1000, 2: 0x1001}


def test_pmt_build_then_parse_round_trips_with_cuei_and_scte35_stream():
    pmt = Pmt(
        program_number=1,
        pcr_pid=0x100,
        streams=[EsInfo(0x1B, 0x100), EsInfo(0x0F, 0x101), EsInfo(0x86, 500)],
        program_descriptors=[registration_descriptor("CUEI")],
        version_number=1,
    )
    section = pmt.build()
    back = Pmt.parse(section)
    assert back == pmt
    assert back.registration == "CUEI"
    assert back.stream(500).stream_type == 0x86


def test_pmt_parse_rejects_a_bad_crc():
    section = bytearray(Pmt(1, 0x100, [EsInfo(0x1B, 0x100)]).build())
    section[-1] ^= 1
    with pytest.raises(CrcError):
        Pmt.parse(bytes(section))


def test_ffmpeg_written_pat_and_pmt_parse_and_rebuild_bit_exact():
    pat_section = _sections(SAMPLES / "h264_aac.ts", 0)[0]
    pat = Pat.parse(pat_section)
    assert pat.build() == pat_section
    pmt_pid = pat.pmt_pids[1]
    pmt_section = _sections(SAMPLES / "h264_aac.ts", pmt_pid)[0]
    pmt = Pmt.parse(pmt_section)
    assert [(s.stream_type, s.elementary_pid) for s in pmt.streams] == [(0x1B, 256), (0x0F, 257)]
    assert pmt.build() == pmt_section
