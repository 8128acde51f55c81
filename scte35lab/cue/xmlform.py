"""Cue <-> SCTE 35 XML: the element form (``<SpliceInfoSection>``) and the Binary form.

One engine writes and reads every structure from its declared XML face (``XML``, see
:mod:`scte35lab.cue.xmlface`), as :mod:`scte35lab.cue.dictform` does for dicts; what is
genuinely special is small and named here: the section frame (encrypted or clear, the Binary
form) and the UPID hook (text, hex, MPU and MID forms).

The element form follows the SCTE 35 XML schema, namespace ``http://www.scte.org/schemas/35``
(prefix ``scte35``): SpliceInfoSection (ptsAdjustment, protocolVersion, sapType, tier),
EncryptedPacket, the commands (SpliceNull, SpliceSchedule/Event, SpliceInsert with
Program/Component/SpliceTime and BreakDuration, TimeSignal, BandwidthReservation,
PrivateCommand) and the descriptors (AvailDescriptor, DTMFDescriptor, SegmentationDescriptor
with DeliveryRestrictions, SegmentationUpid and Component, TimeDescriptor, AudioDescriptor
with AudioChannel). Times stay integer 90 kHz ticks; utcSpliceTime is the section's integer
(GPS seconds). A MID UPID is one SegmentationUpid element per contained UPID; an MPU carries
formatIdentifier as an attribute and its private_data as the element's content.

What the schema cannot say is carried, not dropped: this module's extension namespace
``urn:scte35lab:xml:1`` (prefix ``lab``) holds private and unknown descriptors
(``lab:PrivateDescriptor``), unknown commands (``lab:UnknownCommand``), an encrypted section's
bytes (``lab:EncryptedData``), reserved bits that were not all ones (``lab:reservedBits``),
alignment_stuffing, command_extra_bytes, a descriptor's extra_bytes, a non-CUEI identifier,
DTMF chars and ISO codes holding control characters XML 1.0 cannot carry (as hex in
``lab:charsHex`` / ``lab:ISOCodeHex``),
what lenient decoding kept as bytes (descriptorLoopRest, trailingBytes),
the legacy splice_command_length 0xFFF, header flags and cw_index of a clear section, and a
MID holding fewer than two UPIDs. Plain cues produce no ``lab`` markup at all; schema readers
ignore foreign-namespace markup. So ``from_xml(to_xml(cue)) == cue`` and even re-encodes
bit-exactly. An encrypted section has no clear command to show, so its element form is not
schema-valid: use ``binary=True`` (``<Signal><Binary>``) to hand such cues to other tools.

Reading accepts the 2016 (``.../35/2016``), current and ``https://scte.org/schemas/35``
namespaces, no namespace, any prefix, a ``<Signal>`` wrapping either form, and foreign
extension markup (ignored). Absent optional attributes take the schema's or the data model's
defaults. DOCTYPE declarations are refused (no entity expansion). Bad XML raises
``InputFormatError`` (not XML, wrong root) or ``InvalidFieldError`` naming the element and
attribute (missing, not a number, out of range, unexpected element).
"""

from __future__ import annotations

import base64
import binascii
import re
import xml.etree.ElementTree as ET
from typing import Any

from scte35lab.cue.commands import COMMANDS, UnknownCommand
from scte35lab.cue.descriptors import DESCRIPTORS, PrivateDescriptor
from scte35lab.cue.layout import Struct
from scte35lab.cue.section import SectionHeader, checked
from scte35lab.cue.xmlengine import no_outer, read_element, read_items, write_element, write_items
from scte35lab.cue.xmlface import Ext, attr
from scte35lab.cue.xmltext import (
    EXT_NS,
    SCTE35_NAMESPACES,
    SCTE35_NS,
    children_of,
    element_kind,
    hex_bytes,
    int_attr,
    lab_tag,
    one_child,
    parse,
    scte_tag,
    serialize,
    split_tag,
)
from scte35lab.errors import InputFormatError, InvalidFieldError

# The elements a section may hold, by face: commands, then descriptors.
COMMAND_FACES: dict[str, type[Struct]] = {
    cls.XML.key: cls for cls in (*COMMANDS.values(), UnknownCommand)
}
DESCRIPTOR_FACES: dict[str, type[Struct]] = {
    cls.XML.key: cls for cls in (*DESCRIPTORS.values(), PrivateDescriptor)
}

# The section's own attributes (types from the declared header), before and after the
# encrypted/clear split.
SECTION_HEAD = (
    attr("sap_type"),
    attr("pts_adjustment"),
    attr("protocol_version"),
    attr("tier"),
    Ext("section_syntax_indicator"),
    Ext("private_indicator"),
    Ext("trailing_bytes"),
)
SECTION_CLEAR = (
    Ext("encryption_algorithm"),
    Ext("cw_index"),
    Ext("splice_command_length"),
    Ext("command_extra_bytes"),
    Ext("alignment_stuffing"),
    Ext("descriptor_loop_rest"),
    Ext("descriptor_loop_length", bits=16),
)


def cue_to_xml(cue: Any, *, binary: bool = False) -> str:
    """The cue as SCTE 35 XML text: the element form, or ``<Signal><Binary>`` if ``binary``."""
    if binary:
        signal = ET.Element(scte_tag("Signal"))
        ET.SubElement(signal, scte_tag("Binary")).text = base64.b64encode(cue.encode()).decode()
        return serialize(signal)
    return serialize(_section_element(cue))


def _section_element(cue: Any) -> ET.Element:
    root = ET.Element(scte_tag("SpliceInfoSection"))
    get = cue.__getattribute__
    write_items(root, cue, SECTION_HEAD, get, SectionHeader)
    if cue.encrypted_packet:
        packet = ET.SubElement(root, scte_tag("EncryptedPacket"))
        packet.set("encryptionAlgorithm", str(cue.encryption_algorithm))
        packet.set("cwIndex", str(cue.cw_index))
        data = ET.SubElement(root, lab_tag("EncryptedData"))
        if cue.splice_command_length is not None:
            data.set("spliceCommandLength", str(cue.splice_command_length))
        data.text = bytes(cue.encrypted_data or b"").hex()
        return root
    write_items(root, cue, SECTION_CLEAR, get, SectionHeader)
    if cue.command is None:
        raise InvalidFieldError(
            "a clear section needs a command", structure="SpliceInfoSection", field="command"
        )
    for obj in (cue.command, *cue.descriptors):
        if type(obj).XML is None:
            raise InvalidFieldError(
                f"cannot write a {type(obj).__name__} as XML", structure="SpliceInfoSection"
            )
        write_element(root, obj, no_outer)
    return root


_SECTION_CHILDREN = ("EncryptedPacket", "lab:EncryptedData", *COMMAND_FACES, *DESCRIPTOR_FACES)


def cue_from_xml(text: str | bytes, cue_class: type) -> Any:
    """A ``cue_class`` (``Cue``) from SCTE 35 XML text (element or Binary form, any accepted
    namespace); the class is given so that this module need not import the one that uses it."""
    root = parse(text)
    ns, name = split_tag(root.tag)
    if ns not in SCTE35_NAMESPACES:
        raise InputFormatError(f"root element {name!r} is in namespace {ns!r}, not SCTE 35's")
    if name == "Signal":
        inner = [c for c in root if element_kind(c)[0] == "scte"]
        if len(inner) != 1 or split_tag(inner[0].tag)[1] not in ("Binary", "SpliceInfoSection"):
            raise InputFormatError("Signal must hold one Binary or one SpliceInfoSection element")
        root = inner[0]
        name = split_tag(root.tag)[1]
    if name == "Binary":
        return _from_binary(root, cue_class)
    if name == "SpliceInfoSection":
        return _read_section(root, cue_class)
    raise InputFormatError(
        f"root element {name!r} is not SpliceInfoSection, Signal or Binary",
        structure=name,
    )


def _read_section(el: ET.Element, cue_class: type) -> Any:
    kwargs: dict[str, Any] = {}
    children = children_of(el, _SECTION_CHILDREN)
    read_items(el, cue_class, SECTION_HEAD, kwargs, kwargs.get, children, SectionHeader)
    packet = one_child(children, "EncryptedPacket", el)
    data = one_child(children, "lab:EncryptedData", el)
    commands = [(k, c) for k, c in children if k in COMMAND_FACES]
    if data is not None:
        if packet is None or commands:
            raise InvalidFieldError(
                "lab:EncryptedData needs an EncryptedPacket element and no clear command",
                structure="SpliceInfoSection",
                field="EncryptedData",
            )
        kwargs.update(
            encrypted_packet=True,
            encryption_algorithm=int_attr(packet, "encryptionAlgorithm", 6, 0),
            cw_index=int_attr(packet, "cwIndex", 8, 0xFF),
            splice_command_length=int_attr(data, "spliceCommandLength", 12, None),
            encrypted_data=hex_bytes(data.text, "EncryptedData", "text"),
            command=None,
            descriptors=[],
        )
        return checked(cue_class(**kwargs))
    read_items(el, cue_class, SECTION_CLEAR, kwargs, kwargs.get, children, SectionHeader)
    if packet is not None:
        algorithm = int_attr(packet, "encryptionAlgorithm", 6, 0)
        if algorithm:
            raise InvalidFieldError(
                f"encryptionAlgorithm {algorithm} with a clear command: scte35lab does not "
                "encrypt; give the section as <Signal><Binary> instead",
                structure="EncryptedPacket",
                field="encryptionAlgorithm",
            )
        if el.get(lab_tag("cwIndex")) is None:
            kwargs["cw_index"] = int_attr(packet, "cwIndex", 8, 0xFF)
    if len(commands) != 1:
        raise InvalidFieldError(
            f"needs exactly one splice command element, found {len(commands)}",
            structure="SpliceInfoSection",
            field="SpliceCommand",
        )
    kind, cmd_el = commands[0]
    kwargs["command"] = read_element(cmd_el, COMMAND_FACES[kind], no_outer)
    kwargs["descriptors"] = [
        read_element(c, DESCRIPTOR_FACES[k], no_outer) for k, c in children if k in DESCRIPTOR_FACES
    ]
    return checked(cue_class(**kwargs))


def _from_binary(el: ET.Element, cue_class: type) -> Any:
    s = re.sub(r"\s+", "", el.text or "")
    if not s:
        raise InvalidFieldError("holds no base64", structure="Binary")
    try:
        raw = base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidFieldError(f"not valid base64: {exc}", structure="Binary") from exc
    if not raw or raw[0] != 0xFC:
        raise InvalidFieldError(
            "base64 does not decode to a splice_info_section (table_id 0xFC)", structure="Binary"
        )
    return cue_class.decode(raw)


__all__ = ["EXT_NS", "SCTE35_NAMESPACES", "SCTE35_NS", "cue_from_xml", "cue_to_xml"]
