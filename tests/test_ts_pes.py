"""PES headers and 33-bit timestamps."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from scte35lab.ts.packets import packet_bytes, packet_table
from scte35lab.ts.pes import (
    PTS_WRAP,
    build_pes,
    decode_timestamp,
    encode_timestamp,
    parse_pes_header,
    pes_packets,
    pes_timestamps,
    pts_diff,
)

ts33 = st.integers(min_value=0, max_value=PTS_WRAP - 1)


@given(ts33)
def test_timestamp_field_round_trips_all_33_bits(ts):
    assert decode_timestamp(encode_timestamp(2, ts)) == ts


@given(ts33, ts33)
def test_pts_diff_is_the_short_way_round_the_33_bit_circle(a, b):
    d = pts_diff(a, b)
    assert -(1 << 32) <= d < (1 << 32)
    assert (b + d) % PTS_WRAP == a


@given(ts33, ts33)
def test_pes_header_carries_pts_and_dts(pts, dts):
    pes = build_pes(0xE0, b"\x00\x00\x00\x01\x09\xf0", pts=pts, dts=dts)
    h = parse_pes_header(pes)
    assert (h.stream_id, h.pts, h.dts) == (0xE0, pts, dts)
    assert pes[h.header_length :] == b"\x00\x00\x00\x01\x09\xf0"


@given(st.lists(st.tuples(ts33, st.booleans()), min_size=1, max_size=20))
def test_vectorised_timestamps_equal_the_one_at_a_time_parser(items):
    packets = []
    for k, (pts, with_dts) in enumerate(items):
        pes = build_pes(0xE0, b"x" * 50, pts=pts, dts=(pts - 3003) % PTS_WRAP if with_dts else None)
        (pk,), _ = pes_packets(pes, 0x100, k & 15)
        packets.append(pk)
    rows = np.frombuffer(b"".join(packets), dtype=np.uint8).reshape(-1, 188)
    t = packet_table(rows)
    v = pes_timestamps(rows, t.payload_start)
    for k, pk in enumerate(packets):
        h = parse_pes_header(pk[int(t.payload_start[k]) :])
        assert v.valid[k]
        assert (int(v.pts[k]), int(v.dts[k]), int(v.header_length[k])) == (
            h.pts,
            h.dts,
            h.header_length,
        )


def test_a_packet_without_a_pes_start_code_is_not_valid():
    rows = np.frombuffer(packet_bytes(0x100, b"\x12" * 184, cc=0, pusi=True), dtype=np.uint8)
    rows = rows.reshape(1, 188)
    t = packet_table(rows)
    assert not pes_timestamps(rows, t.payload_start).valid[0]


def test_pes_packets_stuff_the_last_packet_with_an_adaptation_field():
    pes = build_pes(0xFC, b"\xfc" * 300, pts=1234)
    packets, cc = pes_packets(pes, 0x102, 14)
    assert cc == 0 and len(packets) == 2
    rows = np.frombuffer(b"".join(packets), dtype=np.uint8).reshape(-1, 188)
    t = packet_table(rows)
    assert int(t.payload_len.sum()) == len(pes)
    assert t.cc.tolist() == [14, 15]
