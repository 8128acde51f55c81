"""``Cue.decode(data, strict=False)``: cues the field sends that break the syntax, CRC valid.

Each cue is built by hand from a valid one with the deviation named in the test, its
section_length and CRC_32 recomputed, so only the syntax is wrong.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scte35lab.cue import (
    Cue,
    SegmentationDescriptor,
    SpliceInsert,
    UndecodedCommand,
    UndecodedDescriptor,
    crc32_mpeg2,
)
from scte35lab.errors import LengthMismatchError, Scte35Error, TruncatedError

VECTORS = json.loads((Path(__file__).parent / "vectors" / "real_world.json").read_text())


def resealed(section: bytes | bytearray) -> bytes:
    """``section`` with section_length fitted to its bytes and CRC_32 recomputed."""
    out = bytearray(section)
    length = len(out) - 3
    out[1] = (out[1] & 0xF0) | (length >> 8)
    out[2] = length & 0xFF
    out[-4:] = crc32_mpeg2(bytes(out[:-4])).to_bytes(4, "big")
    return bytes(out)


def upid_past_descriptor() -> tuple[bytes, int]:
    """A time_signal whose segmentation_upid_length (at the returned byte) runs past."""
    seg = SegmentationDescriptor(
        segmentation_event_id=0x1234,
        segmentation_type_id=0x34,
        segmentation_duration=2_700_000,
        segmentation_upid_type=0x09,
        segmentation_upid="SIGNAL:abc",
    )
    data = bytearray(Cue.time_signal(900_000, [seg]).encode())
    at = data.index(b"SIGNAL:abc") - 1
    data[at] = 40  # the UPID is 10 bytes; 40 runs past the descriptor
    return resealed(data), at


def no_component_loop() -> bytes:
    """splice_insert with program_splice_flag=0 and no component_count or components."""
    data = bytearray(Cue.splice_insert(7, break_duration=5_400_000).encode())
    flags = 14 + 5  # splice_command_type, splice_event_id, cancel byte
    assert data[flags] & 0x40
    data[flags] &= ~0x40 & 0xFF
    return resealed(data)


def stuffing_in_loop() -> bytes:
    """A descriptor loop whose length also covers four 0xFF stuffing bytes."""
    cue = Cue.splice_insert(3, pts_time=90_000, break_duration=90_000)
    data = bytearray(cue.encode()[:-4])
    loop_at = len(data) - 2  # no descriptors: descriptor_loop_length is the last field
    data[loop_at : loop_at + 2] = (4).to_bytes(2, "big")
    data += b"\xff" * 4
    return resealed(data + b"\0\0\0\0")


def test_upid_length_past_its_descriptor_is_refused_strictly() -> None:
    data, _ = upid_past_descriptor()
    with pytest.raises(TruncatedError, match="segmentation_upid_length"):
        Cue.decode(data)


def test_upid_length_past_its_descriptor_keeps_the_descriptor_as_bytes() -> None:
    data, at = upid_past_descriptor()
    cue = Cue.decode(data, strict=False)
    (d,) = cue.descriptors
    assert isinstance(d, UndecodedDescriptor)
    assert d.decoded["segmentation_event_id"] == 0x1234
    assert d.decoded["segmentation_duration"] == 2_700_000
    (p,) = cue.problems
    assert (p.structure, p.field, p.bit) == (
        "segmentation_upid",
        "segmentation_upid_length",
        8 * at,
    )
    assert "segmentation_upid_length 40" in str(p)
    assert cue.pts_time == 900_000
    assert cue.encode() == data


def test_missing_component_loop_is_refused_strictly() -> None:
    with pytest.raises(Scte35Error):
        Cue.decode(no_component_loop())


def test_missing_component_loop_keeps_the_command_as_bytes_and_shows_its_start() -> None:
    data = no_component_loop()
    cue = Cue.decode(data, strict=False)
    assert isinstance(cue.command, UndecodedCommand)
    assert cue.splice_command_type == 5
    shown = cue.command.decoded
    assert shown["splice_event_id"] == 7
    assert shown["out_of_network_indicator"] is True
    assert shown["program_splice_flag"] is False
    (p,) = cue.problems
    assert p.bit is not None and 8 * 14 < p.bit <= 8 * (len(data) - 4)
    assert p.structure and p.field
    assert cue.encode() == data


def test_trailing_ff_stuffing_is_dropped_strictly_and_validate_says_so() -> None:
    valid = Cue.splice_insert(1, pts_time=0, break_duration=90_000).encode()
    cue = Cue.decode(valid + b"\xff" * 5)
    assert cue.encode() == valid
    assert cue.stuffing_dropped == 5
    assert any("5 bytes of 0xFF stuffing" in p for p in cue.validate())


def test_trailing_ff_stuffing_is_kept_leniently_and_listed() -> None:
    valid = Cue.splice_insert(1, pts_time=0, break_duration=90_000).encode()
    cue = Cue.decode(valid + b"\xff" * 5, strict=False)
    (p,) = cue.problems
    assert (p.structure, p.field, p.bit) == ("splice_info_section", "section_length", 12)
    assert "0xFF stuffing" in str(p)
    assert cue.encode() == valid + b"\xff" * 5
    assert any("decoded leniently" in v and "stuffing" in v for v in cue.validate())
    assert "1 problems, decoded leniently" in repr(cue)


def test_trailing_bytes_that_are_not_stuffing_are_kept_leniently() -> None:
    valid = Cue.splice_null().encode()
    with pytest.raises(LengthMismatchError):
        Cue.decode(valid + b"\x01\x02")
    cue = Cue.decode(valid + b"\x01\x02", strict=False)
    assert "not stuffing" in str(cue.problems[0])
    assert cue.encode() == valid + b"\x01\x02"


def test_ff_stuffing_inside_the_descriptor_loop_keeps_the_rest_of_the_loop() -> None:
    data = stuffing_in_loop()
    with pytest.raises(LengthMismatchError, match="descriptor_length"):
        Cue.decode(data)
    cue = Cue.decode(data, strict=False)
    assert cue.descriptors == [] and cue.descriptor_loop_rest == b"\xff" * 4
    (p,) = cue.problems
    assert (p.structure, p.field) == ("splice_descriptor", "descriptor_length")
    assert isinstance(cue.command, SpliceInsert) and cue.break_duration == 90_000
    assert cue.encode() == data


def test_command_length_counting_the_type_byte_decodes_leniently_to_the_same_bytes() -> None:
    vector = next(v for v in VECTORS if v["name"] == "splice_null_cmd_len_counts_type_byte_gots")
    cue = Cue.decode(vector["base64"], strict=False)
    assert cue.problems
    assert any(p.field == "descriptor_loop_length" for p in cue.problems)
    assert cue.to_base64() == vector["base64"]


@pytest.mark.parametrize("make", [no_component_loop, stuffing_in_loop])
def test_a_lenient_cue_survives_json_and_xml_to_the_same_bytes(make: object) -> None:
    data = make()  # type: ignore[operator]
    cue = Cue.decode(data, strict=False)
    assert Cue.from_json(cue.to_json()).encode() == data
    assert Cue.from_xml(cue.to_xml()).encode() == data
    assert json.loads(cue.to_json())["problems"] == [str(p) for p in cue.problems]


def test_upid_past_descriptor_survives_json_and_xml_to_the_same_bytes() -> None:
    data, _ = upid_past_descriptor()
    cue = Cue.decode(data, strict=False)
    assert Cue.from_json(cue.to_json()).encode() == data
    assert Cue.from_xml(cue.to_xml()).encode() == data


@pytest.mark.parametrize("vector", [v for v in VECTORS if v["crc_ok"]], ids=lambda v: v["name"])
def test_lenient_decoding_of_a_valid_cue_is_the_strict_decoding(vector: dict) -> None:
    try:
        strict = Cue.decode(vector["base64"])
    except Scte35Error:
        return  # the one non-conforming vector, covered above
    lenient = Cue.decode(vector["base64"], strict=False)
    assert lenient == strict and lenient.problems == ()


def test_strict_is_the_default() -> None:
    data, _ = upid_past_descriptor()
    with pytest.raises(Scte35Error):
        Cue.decode(data)


@pytest.mark.parametrize("encrypted", [False, True])
def test_kept_trailing_stuffing_survives_json_and_xml(encrypted: bool) -> None:
    cue = Cue.splice_null()
    if encrypted:
        cue = Cue(
            command=None,
            encrypted_packet=True,
            splice_command_length=5,
            encrypted_data=b"\x01\x02\x03\x04\x05\x06\x07\x08\x09",
        )
    data = cue.encode() + b"\xff\xff\xff"
    lenient = Cue.decode(data, strict=False)
    assert lenient.trailing_bytes == b"\xff\xff\xff" and lenient.encode() == data
    assert Cue.from_json(lenient.to_json()).encode() == data
    assert Cue.from_xml(lenient.to_xml()).encode() == data
