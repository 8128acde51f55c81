"""The standard's sample messages and real-world cues: stated values and bit-exact re-encoding."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from scte35lab.cue import Cue, SegmentationDescriptor
from scte35lab.errors import CrcError, LengthMismatchError

VECTORS = Path(__file__).parent / "vectors"
STANDARD = json.loads((VECTORS / "standard_samples.json").read_text())
REAL = json.loads((VECTORS / "real_world.json").read_text())
VALID_REAL = [
    v for v in REAL if v["crc_ok"] and v["name"] != "splice_null_cmd_len_counts_type_byte_gots"
]
BAD_CRC = [v for v in REAL if not v["crc_ok"]]

HEADER_KEYS = ("pts_adjustment", "tier", "cw_index", "sap_type", "protocol_version")


def _check_expect(cue: Cue, expect: dict) -> None:
    for key in HEADER_KEYS:
        if key in expect:
            assert getattr(cue, key) == expect[key], key
    if "splice_command_type" in expect:
        assert cue.splice_command_type == expect["splice_command_type"]
    if "pts_time" in expect:
        assert cue.pts_time == expect["pts_time"]
    for key in ("splice_event_id", "out_of_network_indicator"):
        if key in expect:
            assert getattr(cue, key) == expect[key], key
    if "break_duration" in expect and isinstance(expect["break_duration"], int):
        assert cue.break_duration == expect["break_duration"]
    segs = expect.get("segmentation")
    if segs is None and "segmentation_type_id" in expect:
        segs = [expect]
    if segs:
        found = cue.segmentation_descriptors
        assert len(found) >= len(segs)
        for want, got in zip(segs, found, strict=False):
            _check_segmentation(got, want)


def _check_segmentation(got: SegmentationDescriptor, want: dict) -> None:
    for key in (
        "segmentation_event_id",
        "segmentation_type_id",
        "segmentation_duration",
        "segmentation_upid_type",
        "segment_num",
        "segments_expected",
        "sub_segment_num",
        "sub_segments_expected",
    ):
        if key in want:
            assert getattr(got, key) == want[key], key
    if "segmentation_upid_hex" in want:
        from scte35lab.cue.upids import upid_bytes

        raw = upid_bytes(got.segmentation_upid_type, got.segmentation_upid)
        assert raw.hex() == want["segmentation_upid_hex"].lower().removeprefix("0x")


@pytest.mark.parametrize("vector", STANDARD, ids=[v["name"] for v in STANDARD])
def test_standard_sample_decodes_to_the_values_the_standard_states(vector: dict) -> None:
    cue = Cue.decode(vector["base64"])
    _check_expect(cue, vector["expect"])


@pytest.mark.parametrize("vector", STANDARD, ids=[v["name"] for v in STANDARD])
def test_standard_sample_reencodes_bit_exactly(vector: dict) -> None:
    assert Cue.decode(vector["base64"]).to_base64() == vector["base64"]


@pytest.mark.parametrize("vector", VALID_REAL, ids=[v["name"] for v in VALID_REAL])
def test_real_world_cue_round_trips_bit_exactly(vector: dict) -> None:
    cue = Cue.decode(vector["base64"])
    assert cue.to_base64() == vector["base64"]
    assert Cue.from_dict(json.loads(cue.to_json())).to_base64() == vector["base64"]
    _check_expect(cue, vector["expect"])


@pytest.mark.parametrize("vector", BAD_CRC, ids=[v["name"] for v in BAD_CRC])
def test_real_world_cue_with_bad_crc_is_refused_naming_crc_32(vector: dict) -> None:
    with pytest.raises(CrcError, match="CRC_32"):
        Cue.decode(vector["base64"])


@pytest.mark.parametrize("vector", BAD_CRC, ids=[v["name"] for v in BAD_CRC])
def test_bad_crc_cue_decodes_when_told_and_reencodes_with_the_right_crc(vector: dict) -> None:
    raw = base64.b64decode(vector["base64"])
    cue = Cue.decode(raw, check_crc=False)
    assert cue.crc_32 == int.from_bytes(raw[-4:], "big")
    out = cue.encode()
    assert out[:-4] == raw[:-4]
    assert out[-4:] != raw[-4:]


def test_splice_null_whose_command_length_counts_the_type_byte_is_refused() -> None:
    vector = next(v for v in REAL if v["name"] == "splice_null_cmd_len_counts_type_byte_gots")
    with pytest.raises(LengthMismatchError, match="descriptor_loop_length"):
        Cue.decode(vector["base64"])


def test_vectors_cover_many_upid_types() -> None:
    types = {
        sd.segmentation_upid_type
        for v in VALID_REAL
        for sd in Cue.decode(v["base64"]).segmentation_descriptors
    }
    assert {0x01, 0x03, 0x06, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0F} <= types
