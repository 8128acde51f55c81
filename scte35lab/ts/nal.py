"""H.264 and HEVC access units: keyframes, picture type, recovery-point SEI.

Only the first bytes of an access unit are needed: NAL units come in a fixed order (AUD,
parameter sets, SEI, then the first slice), and the first slice header starts with the
fields that say what picture this is.

- H.264 (ITU-T H.264 7.3.1, 7.3.3): nal_unit_type = byte & 0x1F; 5 is an IDR slice, 1 a
  non-IDR slice; the slice header opens with first_mb_in_slice ue(v), slice_type ue(v)
  (0/5 P, 1/6 B, 2/7 I, 3/8 SP, 4/9 SI). SEI is type 6; payloadType 6 is recovery_point.
- HEVC (ITU-T H.265 7.3.1.2, 7.3.6.1): nal_unit_type = (byte >> 1) & 0x3F in a 2-byte
  header; 0-31 are VCL, 16-23 are IRAP (BLA, IDR, CRA); the slice header opens with
  first_slice_segment_in_pic_flag u(1), [no_output_of_prior_pics_flag u(1) for IRAP],
  slice_pic_parameter_set_id ue(v), then (first segment) num_extra_slice_header_bits
  reserved bits from the PPS and slice_type ue(v) (0 B, 1 P, 2 I). Prefix SEI is type 39.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

H264 = "h264"
HEVC = "hevc"

H264_SLICE = 1
H264_IDR = 5
H264_SEI = 6
H264_AUD = 9
HEVC_PPS = 34
HEVC_PREFIX_SEI = 39
SEI_RECOVERY_POINT = 6

_H264_SLICE_TYPES = "PBIPI"  # P, B, I, SP (a P), SI (an I)
_H264_SLICE_NAMES = ("P", "B", "I", "SP", "SI")
_HEVC_SLICE_TYPES = ("B", "P", "I")


@dataclass
class PictureInfo:
    """What the start of one access unit says about its picture."""

    keyframe: bool = False  # IDR (H.264) or IRAP (HEVC)
    recovery_point: bool = False  # an I picture announced by a recovery-point SEI
    picture_type: str | None = None  # "I", "P", "B" (H.264 "SP"/"SI" too), None if unread
    nal_type: int | None = None  # nal_unit_type of the first slice
    complete: bool = False  # a slice header was found and read


@dataclass
class HevcState:
    """PPS fields the HEVC slice header needs, by pps_pic_parameter_set_id."""

    extra_slice_header_bits: dict[int, int] = field(default_factory=dict)


def unescape(data: bytes | bytearray) -> bytes:
    """Remove emulation_prevention_three_byte (0x000003 -> 0x0000)."""
    data = bytes(data)
    if b"\x00\x00\x03" not in data:
        return data
    out = bytearray()
    i = 0
    while True:
        j = data.find(b"\x00\x00\x03", i)
        if j < 0:
            out += data[i:]
            return bytes(out)
        out += data[i : j + 2]
        i = j + 3


class BitReader:
    """MSB-first bit reader with Exp-Golomb (ue(v)) for NAL headers; raises EOFError at the end."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def u(self, n: int) -> int:
        v = 0
        for _ in range(n):
            byte = self.pos >> 3
            if byte >= len(self.data):
                raise EOFError
            v = (v << 1) | ((self.data[byte] >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return v

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise EOFError
        return (1 << zeros) - 1 + self.u(zeros)


def nal_units(data: bytes | bytearray, start: int = 0) -> list[tuple[int, int]]:
    """``(header_pos, end)`` of each NAL unit after a 0x000001 start code in ``data``.

    ``end`` of the last unit is ``len(data)`` (it may continue beyond what is given).
    """
    heads = []
    i = data.find(b"\x00\x00\x01", start)
    while i >= 0:
        heads.append(i + 3)
        i = data.find(b"\x00\x00\x01", i + 3)
    out = []
    for k, h in enumerate(heads):
        end = heads[k + 1] - 3 if k + 1 < len(heads) else len(data)
        if k + 1 < len(heads) and end > h and data[end - 1] == 0:
            end -= 1  # the zero_byte of a 4-byte start code belongs to the next unit
        out.append((h, end))
    return out


def _sei_number(rbsp: bytes, pos: int) -> tuple[int, int] | None:
    """An SEI payloadType or payloadSize at ``pos`` (0xFF bytes add 255 each, then the last
    byte); (value, next pos), or None when the RBSP ends first."""
    value = 0
    while pos < len(rbsp) and rbsp[pos] == 0xFF:
        value += 255
        pos += 1
    if pos >= len(rbsp):
        return None
    return value + rbsp[pos], pos + 1


def _sei_has_recovery_point(rbsp: bytes) -> bool:
    pos = 0
    while pos < len(rbsp) and rbsp[pos] != 0x80:  # 0x80: rbsp_trailing_bits
        ptype = _sei_number(rbsp, pos)
        if ptype is None:
            return False
        size = _sei_number(rbsp, ptype[1])
        if size is None:
            return False
        if ptype[0] == SEI_RECOVERY_POINT:
            return True
        pos = size[1] + size[0]
    return False


_MASK64 = (1 << 64) - 1


def _ue64(v: int, pos: int) -> tuple[int, int]:
    """ue(v) at bit ``pos`` of the 64-bit word ``v``; returns (value, next pos)."""
    x = (v << pos) & _MASK64
    if not x:
        raise EOFError
    lz = 64 - x.bit_length()
    return (x >> (64 - 2 * lz - 1)) - 1, pos + 2 * lz + 1


def h264_picture(data: bytes | bytearray, start: int = 0) -> PictureInfo:
    """Read the start of an H.264 access unit (Annex B bytes) up to its first slice header."""
    info = PictureInfo()
    recovery = False
    find = data.find
    n = len(data)
    i = find(b"\x00\x00\x01", start)
    while i >= 0:
        h = i + 3
        if h >= n:
            break
        nal_type = data[h] & 0x1F
        nxt = find(b"\x00\x00\x01", h)
        if nal_type == H264_SEI:
            end = nxt if nxt >= 0 else n
            recovery = recovery or _sei_has_recovery_point(unescape(data[h + 1 : end]))
        elif nal_type in (H264_SLICE, H264_IDR, 2):
            info.nal_type = nal_type
            info.keyframe = nal_type == H264_IDR
            head = bytes(data[h + 1 : h + 9])
            if b"\x00\x00\x03" in head:
                head = unescape(data[h + 1 : h + 16])[:8]
            try:
                _, pos = _ue64(int.from_bytes(head.ljust(8, b"\x00"), "big"), 0)  # first_mb
                st, pos = _ue64(int.from_bytes(head.ljust(8, b"\x00"), "big"), pos)
            except EOFError:
                return info
            if pos > 8 * len(head):
                return info  # the slice header is cut: more bytes needed
            st %= 5
            info.picture_type = _H264_SLICE_NAMES[st]
            info.recovery_point = recovery and _H264_SLICE_TYPES[st] == "I" and not info.keyframe
            info.complete = True
            return info
        i = nxt
    return info


H264_PICTURE_NAMES = np.array(["P", "B", "I", "SP", "SI", None], dtype=object)


@dataclass
class H264Batch:
    """Vectorised first-slice reading of many H.264 access units (see h264_pictures)."""

    done: np.ndarray  # bool: read here; the others need h264_picture() (SEI, more bytes)
    keyframe: np.ndarray  # bool
    slice_type: np.ndarray  # int8: slice_type % 5, -1 where not done


def h264_pictures(rows: np.ndarray, es_start: np.ndarray) -> H264Batch:
    """Read the first slice header of many access units at once.

    ``rows`` is ``(k, m)`` bytes, each the start of one access unit from ``es_start``. A row
    is done when a slice NAL unit (type 1 or 5) follows with no SEI before it (a SEI may hold
    a recovery point) and its slice header starts first_mb_in_slice = 0 inside the row.
    """
    k, m = rows.shape
    sc = (rows[:, : m - 3] == 0) & (rows[:, 1 : m - 2] == 0) & (rows[:, 2 : m - 1] == 1)
    sc &= np.arange(m - 3)[None, :] >= es_start[:, None]
    nal_type = rows[:, 3:] & 0x1F
    vcl = sc & ((nal_type == H264_SLICE) | (nal_type == H264_IDR))
    has_vcl = vcl.any(axis=1)
    first = np.argmax(vcl, axis=1)
    sei_before = (sc & (nal_type == H264_SEI) & (np.arange(m - 3)[None, :] < first[:, None])).any(
        axis=1
    )
    r = np.arange(k)
    hpos = np.minimum(first + 4, m - 2)  # slice header: after the 3-byte code and NAL header
    x = (rows[r, hpos].astype(np.int64) << 8) | rows[r, hpos + 1]
    first_mb_zero = (x & 0x8000) != 0
    y = (x << 1) & 0xFFFF
    lz = 16 - np.frexp(y.astype(np.float64))[1]
    width = 2 * lz + 1
    slice_type = (y >> np.clip(16 - width, 0, 16)) - 1
    done = has_vcl & ~sei_before & (first + 5 < m) & first_mb_zero & (y > 0) & (width <= 15)
    keyframe = done & (nal_type[r, first] == H264_IDR)
    return H264Batch(done, keyframe, np.where(done, slice_type % 5, -1).astype(np.int8))


HEVC_PICTURE_NAMES = np.array(["B", "P", "I", None], dtype=object)


def _ue_vec(w: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ue(v) at bit ``pos`` of 32-bit words ``w``: (value, next pos, ok)."""
    x = (w << pos.clip(0, 32)) & 0xFFFFFFFF
    lz = 32 - np.frexp(x.astype(np.float64))[1]
    width = 2 * lz + 1
    value = (x >> np.clip(32 - width, 0, 32)) - 1
    return value, pos + width, (x > 0) & (pos + width <= 32)


def hevc_pictures(rows: np.ndarray, es_start: np.ndarray, state: HevcState) -> H264Batch:
    """The HEVC counterpart of :func:`h264_pictures`.

    A row is done when a VCL NAL unit follows with neither a PPS (which changes ``state``)
    nor a prefix SEI before it, it is the first slice segment of its picture, its PPS is
    known, and the header fits in the row. ``slice_type`` uses HEVC's codes (0 B, 1 P, 2 I).
    """
    k, m = rows.shape
    cols = np.arange(m - 3)[None, :]
    sc = (rows[:, : m - 3] == 0) & (rows[:, 1 : m - 2] == 0) & (rows[:, 2 : m - 1] == 1)
    sc &= cols >= es_start[:, None]
    nal_type = (rows[:, 3:] >> 1) & 0x3F
    vcl = sc & (nal_type < 32)
    has_vcl = vcl.any(axis=1)
    first = np.argmax(vcl, axis=1)
    blocked = (
        sc & ((nal_type == HEVC_PPS) | (nal_type == HEVC_PREFIX_SEI)) & (cols < first[:, None])
    ).any(axis=1)
    r = np.arange(k)
    typ = nal_type[r, first]
    irap = (typ >= 16) & (typ <= 23)
    hp = np.minimum(first + 5, m - 4)  # slice header after the start code and 2-byte header
    w = (
        (rows[r, hp].astype(np.int64) << 24)
        | (rows[r, hp + 1].astype(np.int64) << 16)
        | (rows[r, hp + 2].astype(np.int64) << 8)
        | rows[r, hp + 3]
    )
    first_segment = (w >> 31) & 1 == 1
    pps_id, pos, ok1 = _ue_vec(w, 1 + irap.astype(np.int64))
    extra = np.full(64, -1, dtype=np.int64)
    for pid, bits in state.extra_slice_header_bits.items():
        if pid < 64:
            extra[pid] = bits
    e = extra[np.clip(pps_id, 0, 63)]
    st, pos, ok2 = _ue_vec(w, pos + np.maximum(e, 0))
    done = has_vcl & ~blocked & (first + 9 <= m) & first_segment & ok1 & ok2
    done &= (pps_id < 64) & (e >= 0) & (st >= 0) & (st <= 2)
    return H264Batch(done, done & irap, np.where(done, st, -1).astype(np.int8))


def _hevc_pps(rbsp: bytes, state: HevcState) -> None:
    r = BitReader(rbsp)
    try:
        pps_id = r.ue()
        r.ue()  # pps_seq_parameter_set_id
        r.u(1)  # dependent_slice_segments_enabled_flag
        r.u(1)  # output_flag_present_flag
        state.extra_slice_header_bits[pps_id] = r.u(3)
    except EOFError:
        return


def hevc_picture(data: bytes | bytearray, state: HevcState, start: int = 0) -> PictureInfo:
    """Read the start of an HEVC access unit (Annex B bytes) up to its first slice header."""
    info = PictureInfo()
    recovery = False
    find = data.find
    n = len(data)
    i = find(b"\x00\x00\x01", start)
    while i >= 0:
        h = i + 3
        if h + 1 >= n:
            break
        nal_type = (data[h] >> 1) & 0x3F
        nxt = find(b"\x00\x00\x01", h)
        if nal_type == HEVC_PPS:
            _hevc_pps(unescape(data[h + 2 : nxt if nxt >= 0 else n]), state)
        elif nal_type == HEVC_PREFIX_SEI:
            end = nxt if nxt >= 0 else n
            recovery = recovery or _sei_has_recovery_point(unescape(data[h + 2 : end]))
        elif nal_type < 32:
            info.nal_type = nal_type
            info.keyframe = 16 <= nal_type <= 23
            head = bytes(data[h + 2 : h + 10])
            if b"\x00\x00\x03" in head:
                head = unescape(data[h + 2 : h + 18])[:8]
            v = int.from_bytes(head.ljust(8, b"\x00"), "big")
            if not v >> 63:
                return info  # not the first slice segment of the picture
            pos = 2 if info.keyframe else 1  # first_slice_segment_in_pic_flag [+ no_output...]
            try:
                pps_id, pos = _ue64(v, pos)
                pos += state.extra_slice_header_bits.get(pps_id, 0)
                st, pos = _ue64(v, pos)
            except EOFError:
                return info
            if pos > 8 * len(head):
                return info  # the slice header is cut: more bytes needed
            info.picture_type = _HEVC_SLICE_TYPES[st] if st < 3 else None
            info.recovery_point = recovery and info.picture_type == "I" and not info.keyframe
            info.complete = True
            return info
        i = nxt
    return info


def h264_sps_size(sps_rbsp: bytes) -> tuple[int, int] | None:
    """Picture width and height from an H.264 SPS (ITU-T H.264 7.3.2.1.1), cropping applied."""
    r = BitReader(sps_rbsp)
    try:
        profile_idc = r.u(8)
        r.u(16)  # constraint flags, level_idc
        r.ue()  # seq_parameter_set_id
        chroma_format_idc = 1
        if profile_idc in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
            chroma_format_idc = r.ue()
            if chroma_format_idc == 3:
                r.u(1)
            r.ue()  # bit_depth_luma_minus8
            r.ue()  # bit_depth_chroma_minus8
            r.u(1)  # qpprime_y_zero_transform_bypass_flag
            if r.u(1):  # seq_scaling_matrix_present_flag
                for i in range(8 if chroma_format_idc != 3 else 12):
                    if r.u(1):
                        size = 16 if i < 6 else 64
                        last = nxt = 8
                        for _ in range(size):
                            if nxt:
                                delta = r.ue()
                                delta = (delta + 1) // 2 if delta % 2 else -(delta // 2)
                                nxt = (last + delta + 256) % 256
                            last = nxt or last
        r.ue()  # log2_max_frame_num_minus4
        poc_type = r.ue()
        if poc_type == 0:
            r.ue()
        elif poc_type == 1:
            r.u(1)
            r.ue()
            r.ue()
            for _ in range(r.ue()):
                r.ue()
        r.ue()  # max_num_ref_frames
        r.u(1)  # gaps_in_frame_num_value_allowed_flag
        width_mbs = r.ue() + 1
        height_units = r.ue() + 1
        frame_mbs_only = r.u(1)
        if not frame_mbs_only:
            r.u(1)
        r.u(1)  # direct_8x8_inference_flag
        width = width_mbs * 16
        height = height_units * 16 * (2 - frame_mbs_only)
        if r.u(1):  # frame_cropping_flag
            left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
            sub_w = 1 if chroma_format_idc == 3 else 2
            sub_h = 2 if chroma_format_idc == 1 else 1
            width -= (left + right) * (sub_w if chroma_format_idc else 1)
            height -= (top + bottom) * (sub_h if chroma_format_idc else 1) * (2 - frame_mbs_only)
        return width, height
    except EOFError:
        return None


def h264_access_unit_size(data: bytes | bytearray) -> tuple[int, int] | None:
    """Picture size from the first SPS in the start of an H.264 access unit, if it has one."""
    for h, end in nal_units(data):
        if data[h] & 0x1F == 7:
            return h264_sps_size(unescape(data[h + 1 : end]))
    return None
