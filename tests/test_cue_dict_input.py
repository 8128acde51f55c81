"""JSON/dict (and XML) input fails cleanly: every value is checked where it enters, and every cue
``encode()`` writes survives ``to_xml()``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cue_strategies import any_cue
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scte35lab.cue import (
    AudioComponent,
    AudioDescriptor,
    Cue,
    DtmfDescriptor,
    SegmentationDescriptor,
)
from scte35lab.errors import InvalidFieldError, Scte35Error

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))


def seg_dict(upid_type: int, upid: Any) -> dict:
    seg = SegmentationDescriptor(segmentation_event_id=1, segmentation_type_id=0x34)
    d = Cue.time_signal(0, [seg]).to_dict()
    d["descriptors"][0].update(segmentation_upid_type=upid_type, segmentation_upid=upid)
    return d


def refused(d: dict, field: str) -> InvalidFieldError:
    with pytest.raises(InvalidFieldError) as info:
        Cue.from_dict(d)
    assert info.value.field == field, str(info.value)
    return info.value


def test_splice_command_type_300_is_refused_naming_it() -> None:
    d = Cue.splice_null().to_dict()
    d["splice_command_type"] = 300
    refused(d, "splice_command_type")


def test_splice_descriptor_tag_256_is_refused_naming_it() -> None:
    d = Cue.splice_null().to_dict()
    d["descriptors"] = [{"splice_descriptor_tag": 256, "identifier": "ABCD", "private_bytes": ""}]
    refused(d, "splice_descriptor_tag")


@pytest.mark.parametrize("value", [-1, 2**64])
def test_airing_id_upid_out_of_64_bits_is_refused_naming_the_upid(value: int) -> None:
    err = refused(seg_dict(0x08, value), "segmentation_upid")
    assert str(value) in str(err)


@pytest.mark.parametrize(
    "text", ["not-a-uuid", "1234-5678", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"]
)
def test_malformed_uuid_upid_is_refused_naming_the_upid(text: str) -> None:
    refused(seg_dict(0x10, text), "segmentation_upid")
    with pytest.raises(InvalidFieldError, match="segmentation_upid"):
        Cue.decode(json.dumps(seg_dict(0x10, text)))


def test_malformed_eidr_upid_is_refused_naming_the_upid() -> None:
    refused(seg_dict(0x0A, "10.x/ZZZZ"), "segmentation_upid")


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("pts_adjustment",), 2**33, "pts_adjustment"),
        (("sap_type",), "3", "sap_type"),
        (("splice_command", "splice_event_id"), -1, "splice_event_id"),
        (("splice_command", "avail_num"), 256, "avail_num"),
        (("splice_command", "out_of_network_indicator"), "yes", "out_of_network_indicator"),
        (("splice_command", "break_duration", "duration"), 2**33, "duration"),
        (("splice_command", "splice_time", "pts_time"), 1.5, "pts_time"),
        (("splice_command", "splice_time", "reserved_bits"), {"reserved_0": 64}, "reserved_0"),
    ],
)
def test_out_of_range_values_are_refused_naming_the_field(
    path: tuple, value: Any, field: str
) -> None:
    d = Cue.splice_insert(1, pts_time=5, break_duration=9).to_dict()
    target = d
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    refused(d, field)


def test_builders_refuse_values_their_bits_cannot_hold() -> None:
    with pytest.raises(InvalidFieldError, match="splice_event_id"):
        Cue.splice_insert(2**32)
    with pytest.raises(InvalidFieldError, match="pts_adjustment"):
        Cue.time_signal(0, pts_adjustment=-5)
    with pytest.raises(InvalidFieldError, match="segment_num"):
        Cue.segmentation_pair("break", 1, 0, 90_000, segment_num=300)


def test_xml_with_a_malformed_uuid_upid_is_refused_with_a_named_error() -> None:
    cue = Cue.from_dict(seg_dict(0x10, "0x" + "ab" * 16))
    xml = cue.to_xml().replace("ab" * 16, "not hex")
    with pytest.raises(InvalidFieldError, match="SegmentationUpid"):
        Cue.from_xml(xml)


def test_dtmf_control_characters_and_odd_iso_codes_survive_xml() -> None:
    cue = Cue.time_signal(
        0,
        [
            DtmfDescriptor(preroll=5, dtmf_chars="1\x00\x1f*"),
            AudioDescriptor(
                [AudioComponent(iso_code="\x07e\x0b"), AudioComponent(iso_code="é\tx")]
            ),
        ],
    )
    xml = cue.to_xml()
    assert "lab:charsHex" in xml and "lab:ISOCodeHex" in xml
    assert Cue.from_xml(xml) == cue
    assert Cue.from_xml(xml).encode() == cue.encode()


# ----------------------------------------------------------------------------- the property

JUNK = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([-1, 0, 1, 255, 256, 300, 2**32, 2**33, 2**64, True, False, None, 1.5]),
    st.text(max_size=12),
    st.sampled_from(["0x", "0xZZ", "CUEI", "not-a-uuid", "10.5240/0E4F", "\x00\x01", "é"]),
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.sampled_from(["hex", "x"]), st.text(max_size=4), max_size=1),
)


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a nested dict/list that holds a value."""
    out = []
    items = obj.items() if isinstance(obj, dict) else enumerate(obj)
    for key, value in items:
        out.append((*prefix, key))
        if isinstance(value, dict | list):
            out.extend(_paths(value, (*prefix, key)))
    return out


@st.composite
def damaged_dict(draw: st.DrawFn) -> dict:
    d = json.loads(draw(any_cue).to_json())
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(d)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        target: Any = d
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = draw(JUNK)
    return d


@SETTINGS
@given(damaged_dict())
def test_from_dict_refuses_cleanly_or_gives_a_cue_that_encodes_and_survives_xml(d: dict) -> None:
    try:
        cue = Cue.from_dict(d)
    except Scte35Error:
        return
    data = cue.encode()
    assert Cue.from_xml(cue.to_xml()).encode() == data
    assert Cue.from_json(cue.to_json()).encode() == data


@SETTINGS
@given(any_cue)
def test_every_cue_encode_writes_is_written_by_to_xml_and_read_back_to_the_same_bytes(
    cue: Cue,
) -> None:
    assert Cue.from_xml(cue.to_xml()).encode() == cue.encode()
