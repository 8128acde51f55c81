"""Section packetizer and reassembler: pointer_field, spanning, packing, stuffing, CC."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from scte35lab.cue import Cue
from scte35lab.ts.packetize import SectionPacketizer
from scte35lab.ts.packets import packet_table
from scte35lab.ts.psi import crc_ok, with_crc
from scte35lab.ts.sections import SectionAssembler


def _section(n: int, tag: int = 0xFC) -> bytes:
    """A syntactically valid private section of ``n`` bytes (CRC included)."""
    body_len = n - 3
    head = bytes([tag, 0x30 | (body_len >> 8), body_len & 0xFF])
    return with_crc(head + bytes((tag + k) & 0xFF for k in range(n - 7)))


def _reassemble(packets: list[bytes], drop: set[int] = frozenset()) -> list[bytes]:
    rows = np.frombuffer(b"".join(packets), dtype=np.uint8).reshape(-1, 188)
    t = packet_table(rows)
    asm = SectionAssembler()
    out = []
    prev_cc = None
    for i in range(len(rows)):
        if i in drop:
            continue
        cc = int(t.cc[i])
        if prev_cc is not None and cc != (prev_cc + 1) & 15:
            asm.reset()
        prev_cc = cc
        out += asm.push(rows[i, int(t.payload_start[i]) :].tobytes(), bool(t.pusi[i]))
    return out


sizes = st.lists(st.integers(min_value=8, max_value=700), min_size=1, max_size=8)


@settings(max_examples=200, deadline=None)
@given(sizes, st.booleans())
def test_sections_survive_packetize_then_reassemble(lengths, pack):
    sections = [_section(n, 0xFC) for n in lengths]
    packets = SectionPacketizer(500).packets(sections, pack=pack)
    assert all(len(p) == 188 for p in packets)
    assert _reassemble(packets) == sections


def test_a_section_ending_one_byte_before_a_packet_boundary_keeps_the_next_one():
    # 183 payload bytes after the pointer: a second section starting at byte 183 of the
    # stream cannot be announced in the first packet.
    first = _section(183)
    second = _section(40)
    packets = SectionPacketizer(500).packets([first, second], pack=True)
    assert _reassemble(packets) == [first, second]


def test_several_sections_share_one_packet_with_pointer_field_zero():
    cues = [Cue.splice_insert(k, pts_time=90_000 * k).encode() for k in range(1, 4)]
    packets = SectionPacketizer(500).packets(cues, pack=True)
    assert len(packets) == 1
    assert packets[0][4] == 0  # pointer_field
    assert _reassemble(packets) == cues
    assert all(crc_ok(c) for c in _reassemble(packets))


def test_the_packet_after_the_last_section_is_0xff_stuffing():
    cue = Cue.splice_null().encode()
    (packet,) = SectionPacketizer(500).packets(cue)
    assert packet[5 + len(cue) :] == b"\xff" * (188 - 5 - len(cue))


def test_continuity_counter_runs_on_across_calls_and_wraps():
    p = SectionPacketizer(500, cc=14)
    a = p.packets(_section(300))
    b = p.packets(_section(30))
    assert [pk[3] & 15 for pk in a + b] == [14, 15, 0]


def test_a_lost_packet_drops_the_section_it_cut_not_the_next():
    sections = [_section(400), _section(30)]
    packets = SectionPacketizer(500).packets(sections)
    assert len(packets) == 4  # 3 for the first, 1 for the second
    assert _reassemble(packets, drop={1}) == [sections[1]]


def test_a_continuation_without_a_start_is_ignored():
    packets = SectionPacketizer(500).packets(_section(400))
    assert _reassemble(packets[1:]) == []
