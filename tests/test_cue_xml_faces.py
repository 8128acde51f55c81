"""The XML the declared faces write is the text the hand-written writer wrote, for every vector.

``vectors/xml_faces.json`` was captured from the hand-written ``xmlform`` before the XML face
was generated from the declarations: every vector of ``standard_samples.json`` and
``real_world.json`` (also with bytes after it, cut short, and with a byte changed, decoded
leniently where strict decoding refuses), and a fixed sample of generated cues of every
command, descriptor and UPID form. The one deliberate change since: a descriptor_loop_length
that disagrees with its loop is now kept (``lab:descriptorLoopLength``), so that cue too comes
back to the same bytes.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from scte35lab.cue import Cue
from scte35lab.errors import InvalidFieldError

CASES = json.loads((Path(__file__).parent / "vectors" / "xml_faces.json").read_text())


def _cue(case: dict) -> Cue:
    return Cue.decode(base64.b64decode(case["base64"]), strict=case["strict"])


def test_the_captured_cases_cover_every_command_and_descriptor_element() -> None:
    text = "".join(case["xml"] for case in CASES)
    for element in (
        "SpliceNull",
        "SpliceSchedule",
        "SpliceInsert",
        "TimeSignal",
        "BandwidthReservation",
        "PrivateCommand",
        "lab:UnknownCommand",
        "AvailDescriptor",
        "DTMFDescriptor",
        "SegmentationDescriptor",
        "DeliveryRestrictions",
        "SegmentationUpid",
        "TimeDescriptor",
        "AudioChannel",
        "lab:PrivateDescriptor",
        "lab:EncryptedData",
        "lab:reservedBits",
    ):
        assert f"{element}" in text, element
    assert len(CASES) > 500


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['kind']}-{c['name']}")
def test_generated_xml_is_the_text_the_hand_written_writer_wrote(case: dict) -> None:
    assert _cue(case).to_xml() == case["xml"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['kind']}-{c['name']}")
def test_generated_xml_reads_back_to_the_same_bytes(case: dict) -> None:
    cue = _cue(case)
    assert Cue.from_xml(case["xml"]).encode() == cue.encode()


def _section(inner: str) -> str:
    return f'<SpliceInfoSection xmlns="http://www.scte.org/schemas/35">{inner}</SpliceInfoSection>'


@pytest.mark.parametrize(
    ("inner", "message"),
    [
        (
            '<SpliceSchedule><Event spliceEventId="1"><Program utcSpliceTime="5"/>'
            '<Component componentTag="1" utcSpliceTime="5"/></Event></SpliceSchedule>',
            "Event.Program: has both Program and Component elements",
        ),
        (
            '<SpliceSchedule><Event spliceEventId="1"/></SpliceSchedule>',
            "Event.Program: needs a Program (utcSpliceTime) or Component elements",
        ),
        (
            "<SpliceNull/><AudioDescriptor>"
            + '<AudioChannel componentTag="1" ISOCode="eng" BitStreamMode="0" NumChannels="2"'
            ' FullSrvcAudio="true"/>' * 16 + "</AudioDescriptor>",
            "AudioDescriptor.AudioChannel: 16 AudioChannel elements; audio_count holds at most 15",
        ),
        (
            '<SpliceInsert spliceEventId="1"><Program><SpliceTime ptsTime="1"/><Bogus/></Program>'
            "</SpliceInsert>",
            "Program.Bogus: unexpected element",
        ),
    ],
)
def test_xml_the_faces_cannot_mean_is_refused_naming_element_and_field(
    inner: str, message: str
) -> None:
    with pytest.raises(InvalidFieldError) as info:
        Cue.from_xml(_section(inner))
    assert message in str(info.value)


def test_mode_flags_follow_the_elements_and_lab_says_an_empty_component_mode() -> None:
    program = Cue.from_xml(_section('<SpliceInsert spliceEventId="1"><Program/></SpliceInsert>'))
    assert program.command.program_splice_flag and program.command.splice_time.pts_time is None
    empty = Cue.from_xml(
        _section(
            '<SpliceInsert xmlns:lab="urn:scte35lab:xml:1" spliceEventId="1"'
            ' lab:programSpliceFlag="false"/>'
        )
    )
    assert not empty.command.program_splice_flag and empty.command.components == []
    assert 'lab:programSpliceFlag="false"' in empty.to_xml()
    restricted = Cue.from_xml(
        _section(
            '<TimeSignal/><SegmentationDescriptor segmentationEventId="2" segmentationTypeId="52">'
            '<DeliveryRestrictions webDeliveryAllowedFlag="false" noRegionalBlackoutFlag="true"'
            ' archiveAllowedFlag="true" deviceRestrictions="3"/></SegmentationDescriptor>'
        )
    )
    d = restricted.descriptors[0]
    assert not d.delivery_not_restricted_flag and d.web_delivery_allowed_flag is False
