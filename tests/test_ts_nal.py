"""H.264 / HEVC access-unit reading: keyframes, slice types, recovery-point SEI."""

from __future__ import annotations

from scte35lab.ts.nal import BitReader, HevcState, h264_picture, hevc_picture, unescape

SC = b"\x00\x00\x00\x01"
AUD = SC + b"\x09\xf0"


def _bits(bits: str) -> bytes:
    bits += "1"  # rbsp_stop_one_bit
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def _ue(v: int) -> str:
    b = bin(v + 1)[2:]
    return "0" * (len(b) - 1) + b


def _h264_slice(nal_type: int, slice_type: int) -> bytes:
    return SC + bytes([0x60 | nal_type]) + _bits(_ue(0) + _ue(slice_type) + _ue(0))


def test_exp_golomb_reads_ue_values():
    r = BitReader(_bits("".join(_ue(v) for v in (0, 1, 2, 7, 300))))
    assert [r.ue() for _ in range(5)] == [0, 1, 2, 7, 300]


def test_unescape_removes_emulation_prevention_bytes():
    assert unescape(b"\x00\x00\x03\x01\x00\x00\x03\x00") == b"\x00\x00\x01\x00\x00\x00"


def test_h264_idr_is_a_keyframe_and_an_i_picture():
    info = h264_picture(AUD + SC + b"\x67\x64" + SC + b"\x68\xee" + _h264_slice(5, 7))
    assert (info.keyframe, info.picture_type, info.recovery_point) == (True, "I", False)


def test_h264_non_idr_slice_types_are_read():
    assert h264_picture(AUD + _h264_slice(1, 5)).picture_type == "P"
    assert h264_picture(AUD + _h264_slice(1, 6)).picture_type == "B"
    assert not h264_picture(AUD + _h264_slice(1, 6)).keyframe


def test_h264_recovery_point_sei_before_an_i_slice_is_a_recovery_point():
    sei = SC + b"\x06" + bytes([6, 2]) + _bits(_ue(0) + "1" + "0" + "00")
    info = h264_picture(AUD + sei + _h264_slice(1, 7))
    assert (info.keyframe, info.recovery_point, info.picture_type) == (False, True, "I")


def test_h264_recovery_point_sei_before_a_p_slice_is_not():
    sei = SC + b"\x06" + bytes([6, 2]) + _bits(_ue(0) + "1" + "0" + "00")
    assert not h264_picture(AUD + sei + _h264_slice(1, 5)).recovery_point


def test_h264_sei_payload_type_and_size_of_255_or_more_are_read_past():
    # user_data_unregistered (type 5) of 300 bytes: size coded 0xFF 0x2D; then a recovery point
    first = bytes([5, 0xFF, 300 - 255]) + b"\x11" * 300
    sei = SC + b"\x06" + first + bytes([6, 2]) + _bits(_ue(0) + "1" + "0" + "00")
    assert h264_picture(AUD + sei + _h264_slice(1, 7)).recovery_point


def test_h264_sei_cut_inside_its_payload_type_is_no_recovery_point():
    sei = SC + b"\x06" + b"\xff\xff"
    assert not h264_picture(AUD + sei + _h264_slice(1, 7)).recovery_point


def test_h264_incomplete_access_unit_start_is_marked_incomplete():
    assert not h264_picture(AUD + SC + b"\x67\x64").complete


def _hevc_nal(nal_type: int, payload: bytes) -> bytes:
    return SC + bytes([nal_type << 1, 1]) + payload


def test_hevc_irap_is_a_keyframe_and_slice_type_uses_the_pps_extra_bits():
    state = HevcState()
    pps = _hevc_nal(34, _bits(_ue(0) + _ue(0) + "0" + "0" + "010"))  # 2 extra bits
    idr = _hevc_nal(19, _bits("1" + "0" + _ue(0) + "11" + _ue(2)))
    info = hevc_picture(pps + idr, state)
    assert (info.keyframe, info.picture_type) == (True, "I")
    trail = _hevc_nal(1, _bits("1" + _ue(0) + "00" + _ue(1)))
    info = hevc_picture(trail, state)
    assert (info.keyframe, info.picture_type) == (False, "P")


def test_hevc_cra_is_a_keyframe():
    info = hevc_picture(_hevc_nal(21, _bits("1" + "0" + _ue(0) + _ue(2))), HevcState())
    assert info.keyframe and info.nal_type == 21


def _first_packets(name: str, pid: int = 256):
    from pathlib import Path

    import numpy as np

    from scte35lab.ts.packets import packet_table
    from scte35lab.ts.pes import pes_timestamps

    data = (Path(__file__).resolve().parent.parent / "sample_streams" / name).read_bytes()
    rows = np.frombuffer(data, dtype=np.uint8)[: len(data) // 188 * 188].reshape(-1, 188)
    t = packet_table(rows)
    sel = np.flatnonzero((t.pid == pid) & t.pusi)
    ts = pes_timestamps(rows[sel], t.payload_start[sel])
    es = t.payload_start[sel].astype(np.int64) + ts.header_length
    return rows[sel], es


def test_vectorised_h264_reading_equals_the_one_at_a_time_reader():
    from scte35lab.ts.nal import H264_PICTURE_NAMES, h264_pictures

    for name in ("h264_aac.ts", "h264_open_gop.ts"):
        rows, es = _first_packets(name)
        b = h264_pictures(rows, es)
        assert b.done.sum() >= len(rows) - 4  # the few with SEI go the slow way
        for k in range(len(rows)):
            if b.done[k]:
                one = h264_picture(rows[k, es[k] :].tobytes())
                assert (bool(b.keyframe[k]), H264_PICTURE_NAMES[b.slice_type[k]]) == (
                    one.keyframe,
                    one.picture_type,
                )


def test_vectorised_hevc_reading_equals_the_one_at_a_time_reader():
    from scte35lab.ts.nal import HEVC_PICTURE_NAMES, hevc_pictures

    rows, es = _first_packets("hevc_aac.ts")
    state = HevcState()
    singles = [hevc_picture(rows[k, es[k] :].tobytes(), state) for k in range(len(rows))]
    b = hevc_pictures(rows, es, state)
    assert b.done.sum() >= len(rows) // 2
    for k in range(len(rows)):
        if b.done[k]:
            assert (bool(b.keyframe[k]), HEVC_PICTURE_NAMES[b.slice_type[k]]) == (
                singles[k].keyframe,
                singles[k].picture_type,
            )
