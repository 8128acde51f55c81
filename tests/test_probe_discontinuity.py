"""probe() honours a discontinuity_indicator carried in an adaptation-field-only packet
(ISO/IEC 13818-1 2.4.3.5): the next payload packet's continuity_counter may jump, and on the
PCR PID the next PCR starts a new time base. This is what the live SeamMarker writes where a
reconnecting publisher's new ingest joins the stream."""

from __future__ import annotations

from scte35lab import probe
from scte35lab.live.seam import discontinuity_packet
from scte35lab.ts.packets import TS_PACKET_SIZE, packet_bytes
from scte35lab.ts.scan import Scanner

PID = 0x100
PCR_STEP = 1800  # 20 ms of 90 kHz PCR base


def _pcr_af(base: int, *, disc: bool = False) -> bytes:
    """Adaptation field body: flags (PCR, maybe discontinuity) and the 6 PCR bytes."""
    flags = 0x10 | (0x80 if disc else 0)
    v = (base << 15) | (0x3F << 9)  # 33-bit base, 6 reserved bits, 9-bit extension 0
    return bytes([flags]) + v.to_bytes(6, "big")


def _run(n: int, *, cc0: int = 0, pcr0: int = 90_000, pcr: bool = True) -> list[bytes]:
    """``n`` payload packets on PID with consecutive counters (and a PCR in each)."""
    out = []
    for k in range(n):
        af = _pcr_af(pcr0 + k * PCR_STEP) if pcr else None
        out.append(packet_bytes(PID, bytes([k & 0xFF]) * 20, cc=cc0 + k, adaptation=af))
    return out


def _errors(data: bytes, kind: str) -> list[dict]:
    e = probe(data).errors
    return e[(e["type"] == kind) & (e["pid"] == PID)].to_dict("records")


def _scan_errors(data: bytes, kind: str, chunk_packets: int) -> list[dict]:
    # the scanner reads chunk_bytes + 4096 bytes at a time: make that whole packets
    scanner = Scanner(chunk_bytes=chunk_packets * TS_PACKET_SIZE - 4096)
    return [e for e in scanner.scan(data).errors if e["type"] == kind and e["pid"] == PID]


def test_cc_jump_after_an_adaptation_only_discontinuity_packet_is_not_an_error():
    first = _run(10, pcr=False)
    second = _run(10, cc0=7, pcr=False)  # counter restarts elsewhere, as a new ingest's does
    data = b"".join([*first, discontinuity_packet(PID, 6), *second])
    assert _errors(data, "cc_error") == []


def test_cc_jump_without_a_discontinuity_is_still_a_cc_error():
    data = b"".join(_run(10, pcr=False) + _run(10, cc0=7, pcr=False))
    errs = _errors(data, "cc_error")
    assert [e["packet"] for e in errs] == [10]


def test_the_discontinuity_excuses_only_the_next_payload_packet():
    after = _run(5, cc0=7, pcr=False) + _run(5, cc0=3, pcr=False)  # a second jump, unannounced
    data = b"".join([*_run(10, pcr=False), discontinuity_packet(PID, 6), *after])
    errs = _errors(data, "cc_error")
    assert [e["packet"] for e in errs] == [10 + 1 + 5]


def test_pcr_jump_after_an_adaptation_only_discontinuity_is_a_new_time_base():
    first = _run(10)
    second = _run(10, cc0=7, pcr0=900_000_000)  # ~2.8 h later: another time base
    data = b"".join([*first, discontinuity_packet(PID, 6), *second])
    assert _errors(data, "pcr_discontinuity_error") == []
    info = _errors(data, "discontinuity_indicator")
    # reported, as for a PCR packet that carries the flag itself, at the new base's first PCR
    assert [(e["packet"], e["priority"]) for e in info] == [(11, 0)]


def test_pcr_jump_without_a_discontinuity_is_a_pcr_discontinuity_error():
    data = b"".join(_run(10) + _run(10, cc0=10, pcr0=900_000_000))
    errs = _errors(data, "pcr_discontinuity_error")
    assert [e["packet"] for e in errs] == [10]


def test_a_discontinuity_packet_ending_a_chunk_excuses_the_jump_in_the_next():
    chunk = 50
    first = _run(chunk - 1)
    second = _run(30, cc0=9, pcr0=50_000_000)
    data = b"".join([*first, discontinuity_packet(PID, 8), *second])
    assert _scan_errors(data, "cc_error", chunk) == []
    assert _scan_errors(data, "pcr_discontinuity_error", chunk) == []
    assert [e["packet"] for e in _scan_errors(data, "discontinuity_indicator", chunk)] == [chunk]
    # the same stream without the mark: both jumps are errors at the chunk's first packet
    bare = b"".join(first + second)
    assert [e["packet"] for e in _scan_errors(bare, "cc_error", chunk - 1)] == [chunk - 1]
    assert [e["packet"] for e in _scan_errors(bare, "pcr_discontinuity_error", chunk - 1)] == [
        chunk - 1
    ]
