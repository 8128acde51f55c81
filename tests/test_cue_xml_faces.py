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
