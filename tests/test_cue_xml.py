"""SCTE 35 XML: element and Binary forms, round trips, namespaces, and errors on bad XML."""

from __future__ import annotations

import contextlib
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from scte35lab.cue import (
    AtscContentIdentifier,
    AudioComponent,
    AudioDescriptor,
    AvailDescriptor,
    BreakDuration,
    Cue,
    DtmfDescriptor,
    InsertComponent,
    MidUpid,
    Mpu,
    PrivateDescriptor,
    ScheduleComponent,
    ScheduleEvent,
    SegmentationComponent,
    SegmentationDescriptor,
    SpliceInsert,
    SpliceSchedule,
    SpliceTime,
    TimeDescriptor,
    TimeSignal,
    UnknownCommand,
)
from scte35lab.cue.xmlform import EXT_NS, SCTE35_NS
from scte35lab.errors import InputFormatError, InvalidFieldError, Scte35Error

VECTORS = Path(__file__).parent / "vectors"
NS = {"scte35": SCTE35_NS}


def _vectors() -> list[dict]:
    out = []
    for name in ("standard_samples.json", "real_world.json"):
        out += [e for e in json.loads((VECTORS / name).read_text()) if e["crc_ok"]]
    return out


def _decodable() -> list[tuple[str, Cue]]:
    cues = []
    for entry in _vectors():
        try:
            cues.append((entry["name"], Cue.decode(entry["base64"])))
        except Scte35Error:
            continue  # a vector the binary codec itself rejects has no cue to write
    return cues


def _round_trip(cue: Cue) -> Cue:
    back = Cue.from_xml(cue.to_xml())
    assert back == cue
    assert back.encode() == cue.encode()
    return back


def _upid_cue(upid_type: int, upid) -> Cue:
    sd = SegmentationDescriptor(
        segmentation_event_id=7,
        segmentation_duration=2_700_000,
        segmentation_upid_type=upid_type,
        segmentation_upid=upid,
        segmentation_type_id=0x34,
        segment_num=1,
        segments_expected=2,
    )
    return Cue.time_signal(900_000, [sd])


# ----------------------------------------------------------------------------- round trips


def test_element_form_round_trips_every_vector():
    cues = _decodable()
    assert len(cues) >= 90
    for name, cue in cues:
        back = Cue.from_xml(cue.to_xml())
        assert back == cue, name
        assert back.encode() == cue.encode(), name  # reserved bits and stuffing carried too


def test_binary_form_round_trips_bit_exactly():
    for entry in _vectors():
        try:
            cue = Cue.decode(entry["base64"])
        except Scte35Error:
            continue
        text = cue.to_xml(binary=True)
        root = ET.fromstring(text)
        assert root.tag == f"{{{SCTE35_NS}}}Signal"
        assert root.find("scte35:Binary", NS).text == entry["base64"].strip()
        assert Cue.from_xml(text).encode() == cue.encode(), entry["name"]


def test_xml_is_well_formed():
    for name, cue in _decodable():
        for binary in (False, True):
            root = ET.fromstring(cue.to_xml(binary=binary))
            assert root.tag.startswith(f"{{{SCTE35_NS}}}"), name


def test_element_form_uses_schema_names_and_attributes():
    cue = Cue.splice_insert(
        42,
        pts_time=1_800_000,
        break_duration=2_700_000,
        unique_program_id=3,
        avail_num=1,
        avails_expected=2,
        pts_adjustment=90,
        descriptors=[AvailDescriptor(provider_avail_id=77)],
    )
    root = ET.fromstring(cue.to_xml())
    assert root.tag == f"{{{SCTE35_NS}}}SpliceInfoSection"
    assert root.attrib == {
        "sapType": "3",
        "ptsAdjustment": "90",
        "protocolVersion": "0",
        "tier": "4095",
    }
    insert = root.find("scte35:SpliceInsert", NS)
    assert insert.get("spliceEventId") == "42"
    assert insert.get("outOfNetworkIndicator") == "true"
    assert insert.get("spliceImmediateFlag") == "false"
    assert insert.get("uniqueProgramId") == "3"
    assert insert.find("scte35:Program/scte35:SpliceTime", NS).get("ptsTime") == "1800000"
    bd = insert.find("scte35:BreakDuration", NS)
    assert (bd.get("autoReturn"), bd.get("duration")) == ("true", "2700000")
    assert root.find("scte35:AvailDescriptor", NS).get("providerAvailId") == "77"


def test_plain_cues_carry_no_extension_markup():
    sd = SegmentationDescriptor(
        segmentation_event_id=1, segmentation_type_id=0x30, segmentation_duration=90_000
    )
    for cue in (Cue.splice_null(), Cue.splice_insert(1, pts_time=0), Cue.time_signal(5, [sd])):
        assert EXT_NS not in cue.to_xml()
        _round_trip(cue)


def test_splice_schedule_round_trips():
    cmd = SpliceSchedule(
        [
            ScheduleEvent(
                splice_event_id=1,
                utc_splice_time=1_400_000_000,
                break_duration=BreakDuration(True, 5_400_000),
                unique_program_id=9,
                avail_num=1,
                avails_expected=2,
            ),
            ScheduleEvent(
                splice_event_id=2,
                out_of_network_indicator=False,
                program_splice_flag=False,
                components=[
                    ScheduleComponent(1, 1_400_000_030),
                    ScheduleComponent(2, 1_400_000_031),
                ],
            ),
            ScheduleEvent(splice_event_id=3, splice_event_cancel_indicator=True),
        ]
    )
    cue = Cue(cmd)
    _round_trip(cue)
    events = ET.fromstring(cue.to_xml()).findall("scte35:SpliceSchedule/scte35:Event", NS)
    assert events[0].find("scte35:Program", NS).get("utcSpliceTime") == "1400000000"
    assert [c.get("componentTag") for c in events[1].findall("scte35:Component", NS)] == ["1", "2"]
    assert events[2].get("spliceEventCancelIndicator") == "true"


def test_component_mode_splice_insert_round_trips():
    timed = SpliceInsert(
        splice_event_id=5,
        program_splice_flag=False,
        components=[
            InsertComponent(0x21, SpliceTime(1000)),
            InsertComponent(0x22, SpliceTime(None)),
        ],
        break_duration=BreakDuration(False, 900_000),
    )
    immediate = SpliceInsert(
        splice_event_id=6,
        program_splice_flag=False,
        splice_immediate_flag=True,
        components=[InsertComponent(0x21), InsertComponent(0x22)],
    )
    for cmd in (timed, immediate):
        cue = Cue(cmd)
        _round_trip(cue)
        insert = ET.fromstring(cue.to_xml()).find("scte35:SpliceInsert", NS)
        assert insert.find("scte35:Program", NS) is None
        assert len(insert.findall("scte35:Component", NS)) == 2


def test_splice_insert_cancel_and_immediate_round_trip():
    _round_trip(Cue.splice_insert_cancel(99))
    _round_trip(Cue.splice_insert(100, pts_time=None, break_duration=30 * 90_000))


def test_audio_and_time_descriptors_round_trip():
    audio = AudioDescriptor(
        [AudioComponent(1, "eng", 0, 2, True), AudioComponent(2, "spa", 2, 5, False)]
    )
    time = TimeDescriptor(tai_seconds=1_700_000_000, tai_ns=500_000_000, utc_offset=37)
    dtmf = DtmfDescriptor(preroll=50, dtmf_chars="123#")
    cue = Cue.splice_insert(8, pts_time=90_000, descriptors=[audio, time, dtmf])
    _round_trip(cue)
    root = ET.fromstring(cue.to_xml())
    channels = root.findall("scte35:AudioDescriptor/scte35:AudioChannel", NS)
    assert channels[1].attrib == {
        "componentTag": "2",
        "ISOCode": "spa",
        "BitStreamMode": "2",
        "NumChannels": "5",
        "FullSrvcAudio": "false",
    }
    assert root.find("scte35:TimeDescriptor", NS).attrib == {
        "taiSeconds": "1700000000",
        "taiNs": "500000000",
        "utcOffset": "37",
    }
    assert root.find("scte35:DTMFDescriptor", NS).get("chars") == "123#"


def test_mid_upid_round_trips_as_one_element_per_upid():
    mid = [
        MidUpid(0x03, "ABCD0001000H"),
        MidUpid(0x0C, Mpu(0x41424344, b"\x01\x02")),
        MidUpid(0x08, 0x0A42235B81BC70FC),
    ]
    cue = _upid_cue(0x0D, mid)
    _round_trip(cue)
    upids = ET.fromstring(cue.to_xml()).findall(
        "scte35:SegmentationDescriptor/scte35:SegmentationUpid", NS
    )
    assert [u.get("segmentationUpidType") for u in upids] == ["3", "12", "8"]
    assert upids[0].get("segmentationUpidFormat") == "text"
    assert upids[0].text == "ABCD0001000H"


def test_mid_with_one_upid_stays_a_mid():
    _round_trip(_upid_cue(0x0D, [MidUpid(0x09, "provider.com/X1")]))


def test_mpu_upid_round_trips_with_format_identifier():
    cue = _upid_cue(0x0C, Mpu(format_identifier=0x4F564C59, private_data=b"IS"))
    _round_trip(cue)
    upid = ET.fromstring(cue.to_xml()).find(
        "scte35:SegmentationDescriptor/scte35:SegmentationUpid", NS
    )
    assert upid.get("formatIdentifier") == str(0x4F564C59)
    assert upid.text == b"IS".hex()


def test_atsc_upid_round_trips():
    atsc = AtscContentIdentifier(tsid=241, end_of_day=23, unique_for=511, content_id=b"human012")
    back = _round_trip(_upid_cue(0x0B, atsc))
    assert back.descriptors[0].segmentation_upid == atsc


def test_text_and_binary_upids_round_trip():
    for upid_type, value in [
        (0x03, "ABCD0001000H"),
        (0x09, "SIGNAL:abc/def"),
        (0x0F, "urn:uuid:1234"),
        (0x08, 12345),
        (0x0A, bytes.fromhex("14778be5e3f6000000000000")),
        (0x10, bytes(range(16))),
        (0x01, b"\x00\xff\x10"),
    ]:
        _round_trip(_upid_cue(upid_type, value))


def test_segmentation_restrictions_and_components_round_trip():
    sd = SegmentationDescriptor(
        segmentation_event_id=0xFFFFFFFF,
        program_segmentation_flag=False,
        delivery_not_restricted_flag=False,
        web_delivery_allowed_flag=False,
        no_regional_blackout_flag=True,
        archive_allowed_flag=True,
        device_restrictions=2,
        components=[SegmentationComponent(1, 0), SegmentationComponent(2, 3003)],
        segmentation_type_id=0x36,
        segment_num=1,
        segments_expected=1,
        sub_segment_num=2,
        sub_segments_expected=4,
    )
    cancel = SegmentationDescriptor(
        segmentation_event_id=4, segmentation_event_cancel_indicator=True
    )
    cue = Cue.time_signal(None, [sd, cancel])
    _round_trip(cue)
    seg = ET.fromstring(cue.to_xml()).find("scte35:SegmentationDescriptor", NS)
    assert seg.find("scte35:DeliveryRestrictions", NS).attrib == {
        "webDeliveryAllowedFlag": "false",
        "noRegionalBlackoutFlag": "true",
        "archiveAllowedFlag": "true",
        "deviceRestrictions": "2",
    }
    assert seg.get("subSegmentNum") == "2"


def test_inexpressible_parts_ride_in_the_extension_namespace():
    cue = Cue(
        UnknownCommand(splice_command_type=0x02, raw=b"\x01\x02"),
        [PrivateDescriptor(0xF0, 0x41424344, b"\xde\xad"), AvailDescriptor(5, extra_bytes=b"\x00")],
        cw_index=0,
        alignment_stuffing=b"\xff\xff",
    )
    text = cue.to_xml()
    root = ET.fromstring(text)
    assert root.find(f"{{{EXT_NS}}}UnknownCommand") is not None
    assert root.find(f"{{{EXT_NS}}}PrivateDescriptor").get("identifier") == str(0x41424344)
    assert root.get(f"{{{EXT_NS}}}alignmentStuffing") == "ffff"
    _round_trip(cue)


def test_encrypted_section_round_trips_its_bytes():
    cue = Cue(
        None,
        encrypted_packet=True,
        encryption_algorithm=1,
        cw_index=3,
        splice_command_length=5,
        encrypted_data=bytes(range(24)),
    )
    back = _round_trip(cue)
    packet = ET.fromstring(cue.to_xml()).find("scte35:EncryptedPacket", NS)
    assert packet.attrib == {"encryptionAlgorithm": "1", "cwIndex": "3"}
    assert back.encrypted_data == bytes(range(24))


# ----------------------------------------------------------------------------- reading others


def test_reads_2016_namespace():
    text = """
    <scte35:SpliceInfoSection xmlns:scte35="http://www.scte.org/schemas/35/2016"
        protocolVersion="0" ptsAdjustment="1000" tier="4095">
      <scte35:SpliceInsert spliceEventId="21" spliceEventCancelIndicator="false"
          outOfNetworkIndicator="true" spliceImmediateFlag="false" uniqueProgramId="4"
          availNum="1" availsExpected="1">
        <scte35:Program><scte35:SpliceTime ptsTime="270000"/></scte35:Program>
        <scte35:BreakDuration autoReturn="true" duration="2700000"/>
      </scte35:SpliceInsert>
    </scte35:SpliceInfoSection>"""
    cue = Cue.from_xml(text)
    assert cue == Cue.splice_insert(
        21,
        pts_time=270_000,
        break_duration=2_700_000,
        unique_program_id=4,
        avail_num=1,
        avails_expected=1,
        pts_adjustment=1000,
    )


def test_reads_no_namespace_any_prefix_and_foreign_markup():
    bare = (
        '<SpliceInfoSection tier="4095"><TimeSignal><SpliceTime ptsTime="5"/></TimeSignal>'
        "</SpliceInfoSection>"
    )
    prefixed = (
        '<x:SpliceInfoSection xmlns:x="https://scte.org/schemas/35" xmlns:v="urn:vendor">'
        '<x:TimeSignal><x:SpliceTime x:ptsTime="5"/></x:TimeSignal><v:Note>ignored</v:Note>'
        "</x:SpliceInfoSection>"
    )
    default_ns = (
        f'<SpliceInfoSection xmlns="{SCTE35_NS}"><TimeSignal><SpliceTime ptsTime="5"/>'
        "</TimeSignal></SpliceInfoSection>"
    )
    for text in (bare, prefixed, default_ns):
        assert Cue.from_xml(text) == Cue.time_signal(5)


def test_reads_binary_form_in_any_namespace_and_through_decode():
    cue = Cue.time_signal(
        123_456, [SegmentationDescriptor(segmentation_event_id=2, segmentation_type_id=0x22)]
    )
    b64 = cue.to_base64()
    for text in (
        f'<Signal xmlns="http://www.scte.org/schemas/35/2016"><Binary>{b64}</Binary></Signal>',
        f"<Binary>\n  {b64}\n</Binary>",
        cue.to_xml(binary=True),
    ):
        assert Cue.from_xml(text).encode() == cue.encode()
        assert Cue.decode(text).encode() == cue.encode()


def test_reads_signal_wrapping_the_element_form():
    cue = Cue.splice_insert(3, pts_time=9000)
    inner = cue.to_xml().replace(' xmlns:scte35="http://www.scte.org/schemas/35"', "")
    text = f'<scte35:Signal xmlns:scte35="{SCTE35_NS}">{inner}</scte35:Signal>'
    assert Cue.from_xml(text) == cue


def test_reads_upid_formats_base64_and_absent():
    text = (
        f'<SpliceInfoSection xmlns="{SCTE35_NS}"><TimeSignal><SpliceTime ptsTime="1"/></TimeSignal>'
        '<SegmentationDescriptor segmentationEventId="1" segmentationTypeId="48">'
        '<SegmentationUpid segmentationUpidType="3">ABCD0001000H</SegmentationUpid>'
        '<SegmentationUpid segmentationUpidType="16" segmentationUpidFormat="base-64">'
        "AAECAwQFBgcICQoLDA0ODw==</SegmentationUpid>"
        "</SegmentationDescriptor></SpliceInfoSection>"
    )
    sd = Cue.from_xml(text).descriptors[0]
    assert sd.segmentation_upid_type == 0x0D
    assert [(m.segmentation_upid_type, m.segmentation_upid) for m in sd.segmentation_upid] == [
        (0x03, "ABCD0001000H"),
        (0x10, bytes(range(16))),
    ]


# ----------------------------------------------------------------------------- bad XML


@pytest.mark.parametrize(
    "text",
    [
        "<SpliceInfoSection><SpliceNull/>",
        "not xml at all <",
        "",
        "<SpliceInfoSection><SpliceNull></SpliceInfoSection>",
    ],
)
def test_malformed_xml_raises_input_format_error(text):
    with pytest.raises(InputFormatError):
        Cue.from_xml(text)


def test_doctype_is_refused_so_entities_never_expand():
    text = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
        '<SpliceInfoSection tier="&b;"><SpliceNull/></SpliceInfoSection>'
    )
    with pytest.raises(InputFormatError, match="DOCTYPE"):
        Cue.from_xml(text)


def test_mangled_attributes_and_contents_raise_only_scte35_errors():
    cues = [cue for _, cue in _decodable()][::6]
    tried = 0
    for cue in cues:
        text = cue.to_xml()
        spans = [m.span(2) for m in re.finditer(r'(\S+)="([^"]*)"', text) if "xmlns" not in m[1]]
        spans += [m.span(1) for m in re.finditer(r">([0-9a-f]+)<", text)]
        for start, end in spans:
            for junk in ("x", "-1", "", "99999999999999999999", "1 2", "zz"):
                tried += 1
                with contextlib.suppress(Scte35Error):  # any other type fails the test
                    Cue.from_xml(text[:start] + junk + text[end:])
    assert tried > 1000


def test_wrong_root_raises_input_format_error_naming_it():
    with pytest.raises(InputFormatError, match="SpliceStuff"):
        Cue.from_xml("<SpliceStuff/>")
    with pytest.raises(InputFormatError, match="namespace"):
        Cue.from_xml('<SpliceInfoSection xmlns="urn:other"><SpliceNull/></SpliceInfoSection>')


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("<SpliceInfoSection><SpliceInsert/></SpliceInfoSection>", "SpliceInsert.spliceEventId"),
        (
            '<SpliceInfoSection ptsAdjustment="12x"><SpliceNull/></SpliceInfoSection>',
            "SpliceInfoSection.ptsAdjustment",
        ),
        (
            '<SpliceInfoSection tier="4096"><SpliceNull/></SpliceInfoSection>',
            "SpliceInfoSection.tier",
        ),
        (
            '<SpliceInfoSection><TimeSignal><SpliceTime ptsTime="-3"/></TimeSignal>'
            "</SpliceInfoSection>",
            "SpliceTime.ptsTime",
        ),
        (
            '<SpliceInfoSection><SpliceInsert spliceEventId="1" outOfNetworkIndicator="yes"/>'
            "</SpliceInfoSection>",
            "SpliceInsert.outOfNetworkIndicator",
        ),
        (
            '<SpliceInfoSection><SpliceNull/><SegmentationDescriptor segmentationEventId="1"/>'
            "</SpliceInfoSection>",
            "SegmentationDescriptor.segmentationTypeId",
        ),
        (
            "<SpliceInfoSection><SpliceNull/><TimeSignal/></SpliceInfoSection>",
            "SpliceInfoSection.SpliceCommand",
        ),
        ("<SpliceInfoSection><SpliceNull><Bogus/></SpliceNull></SpliceInfoSection>", "Bogus"),
        (
            '<SpliceInfoSection><PrivateCommand identifier="1"><PrivateBytes>zz</PrivateBytes>'
            "</PrivateCommand></SpliceInfoSection>",
            "PrivateCommand.PrivateBytes",
        ),
        ("<Signal><Binary>@@@@</Binary></Signal>", "Binary"),
    ],
)
def test_bad_field_raises_invalid_field_error_naming_element_and_attribute(text, where):
    with pytest.raises(InvalidFieldError) as info:
        Cue.from_xml(text)
    assert where in str(info.value)


def test_encrypted_packet_with_clear_command_is_refused():
    text = (
        '<SpliceInfoSection><EncryptedPacket encryptionAlgorithm="1" cwIndex="2"/>'
        "<SpliceNull/></SpliceInfoSection>"
    )
    with pytest.raises(InvalidFieldError, match="encryptionAlgorithm"):
        Cue.from_xml(text)


def test_encrypted_packet_without_encryption_reads_as_clear_cw_index():
    text = (
        '<SpliceInfoSection><EncryptedPacket encryptionAlgorithm="0" cwIndex="0"/>'
        "<SpliceNull/></SpliceInfoSection>"
    )
    cue = Cue.from_xml(text)
    assert (cue.encrypted_packet, cue.cw_index, cue.command_name) == (False, 0, "splice_null")


def test_xml_illegal_characters_are_written_as_hex_and_read_back():
    cue = Cue.splice_insert(1, pts_time=0, descriptors=[DtmfDescriptor(1, "1\x012")])
    assert 'lab:charsHex="310132"' in cue.to_xml()
    assert Cue.from_xml(cue.to_xml()) == cue
    assert Cue.from_xml(cue.to_xml(binary=True)) == cue


def test_time_signal_without_splice_time_element_has_no_time():
    cue = Cue.from_xml("<SpliceInfoSection><TimeSignal/></SpliceInfoSection>")
    assert isinstance(cue.command, TimeSignal)
    assert cue.pts_time is None
