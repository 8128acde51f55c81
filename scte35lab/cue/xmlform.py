"""Cue <-> SCTE 35 XML: the element form (``<SpliceInfoSection>``) and the Binary form.

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
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from scte35lab.cue.commands import (
    BandwidthReservation,
    InsertComponent,
    PrivateCommand,
    ScheduleComponent,
    ScheduleEvent,
    SpliceCommand,
    SpliceInsert,
    SpliceNull,
    SpliceSchedule,
    TimeSignal,
    UnknownCommand,
)
from scte35lab.cue.descriptors import (
    AudioComponent,
    AudioDescriptor,
    AvailDescriptor,
    DtmfDescriptor,
    PrivateDescriptor,
    SegmentationComponent,
    SegmentationDescriptor,
    SpliceDescriptor,
    TimeDescriptor,
)
from scte35lab.cue.layout import Struct
from scte35lab.cue.section import checked
from scte35lab.cue.tables import CUEI, TEXT_UPID_TYPES
from scte35lab.cue.timing import BreakDuration, SpliceTime
from scte35lab.cue.upids import MidUpid, Mpu, upid_bytes, upid_value
from scte35lab.errors import InputFormatError, InvalidFieldError

SCTE35_NS = "http://www.scte.org/schemas/35"
SCTE35_NAMESPACES = frozenset(
    {SCTE35_NS, "http://www.scte.org/schemas/35/2016", "https://scte.org/schemas/35", ""}
)
EXT_NS = "urn:scte35lab:xml:1"
PREFIXES = {SCTE35_NS: "scte35", EXT_NS: "lab"}
MID = 0x0D
MPU = 0x0C

_FORBIDDEN = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_REQUIRED: Any = object()


# ============================================================================= writing


def cue_to_xml(cue: Any, *, binary: bool = False) -> str:
    """The cue as SCTE 35 XML text: the element form, or ``<Signal><Binary>`` if ``binary``."""
    if binary:
        signal = ET.Element(_s("Signal"))
        ET.SubElement(signal, _s("Binary")).text = base64.b64encode(cue.encode()).decode()
        return _serialize(signal)
    return _serialize(_section_element(cue))


def _s(name: str) -> str:
    return f"{{{SCTE35_NS}}}{name}"


def _x(name: str) -> str:
    return f"{{{EXT_NS}}}{name}"


def _sub(parent: ET.Element, name: str, **attrs: Any) -> ET.Element:
    el = ET.SubElement(parent, _s(name))
    _set(el, **attrs)
    return el


def _set(el: ET.Element, **attrs: Any) -> None:
    """Set attributes in schema form: booleans as true/false, ints in decimal, None skipped."""
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        el.set(key, str(value))


def _set_ext(el: ET.Element, name: str, value: Any) -> None:
    if isinstance(value, bytes | bytearray):
        value = bytes(value).hex()
    elif isinstance(value, bool):
        value = "true" if value else "false"
    el.set(_x(name), str(value))


def _put_reserved(el: ET.Element, obj: Struct) -> None:
    bits = obj.reserved_bits()
    if bits:
        _set_ext(el, "reservedBits", " ".join(f"{k}={v}" for k, v in sorted(bits.items())))


def _section_element(cue: Any) -> ET.Element:
    root = ET.Element(_s("SpliceInfoSection"))
    _set(
        root,
        sapType=cue.sap_type,
        ptsAdjustment=cue.pts_adjustment,
        protocolVersion=cue.protocol_version,
        tier=cue.tier,
    )
    if cue.section_syntax_indicator:
        _set_ext(root, "sectionSyntaxIndicator", True)
    if cue.private_indicator:
        _set_ext(root, "privateIndicator", True)
    if cue.trailing_bytes:
        _set_ext(root, "trailingBytes", cue.trailing_bytes)
    if cue.encrypted_packet:
        _sub(
            root,
            "EncryptedPacket",
            encryptionAlgorithm=cue.encryption_algorithm,
            cwIndex=cue.cw_index,
        )
        data = ET.SubElement(root, _x("EncryptedData"))
        if cue.splice_command_length is not None:
            data.set("spliceCommandLength", str(cue.splice_command_length))
        data.text = bytes(cue.encrypted_data or b"").hex()
        return root
    if cue.encryption_algorithm:
        _set_ext(root, "encryptionAlgorithm", cue.encryption_algorithm)
    if cue.cw_index != 0xFF:
        _set_ext(root, "cwIndex", cue.cw_index)
    if cue.splice_command_length is not None:
        _set_ext(root, "spliceCommandLength", cue.splice_command_length)
    if cue.command_extra_bytes:
        _set_ext(root, "commandExtraBytes", cue.command_extra_bytes)
    if cue.alignment_stuffing:
        _set_ext(root, "alignmentStuffing", cue.alignment_stuffing)
    if cue.descriptor_loop_rest:
        _set_ext(root, "descriptorLoopRest", cue.descriptor_loop_rest)
    if cue.command is None:
        raise InvalidFieldError(
            "a clear section needs a command", structure="SpliceInfoSection", field="command"
        )
    _command_element(root, cue.command)
    for d in cue.descriptors:
        _descriptor_element(root, d)
    return root


# ----------------------------------------------------------------------------- commands


def _command_element(root: ET.Element, cmd: SpliceCommand) -> None:
    if isinstance(cmd, SpliceNull):
        _sub(root, "SpliceNull")
    elif isinstance(cmd, SpliceSchedule):
        el = _sub(root, "SpliceSchedule")
        for event in cmd.events:
            _event_element(el, event)
    elif isinstance(cmd, SpliceInsert):
        _insert_element(root, cmd)
    elif isinstance(cmd, TimeSignal):
        el = _sub(root, "TimeSignal")
        _splice_time_element(el, cmd.splice_time)
    elif isinstance(cmd, BandwidthReservation):
        _sub(root, "BandwidthReservation")
    elif isinstance(cmd, PrivateCommand):
        el = _sub(root, "PrivateCommand", identifier=cmd.identifier)
        _sub(el, "PrivateBytes").text = bytes(cmd.private_bytes).hex()
    elif isinstance(cmd, UnknownCommand):
        el = ET.SubElement(root, _x("UnknownCommand"))
        el.set("spliceCommandType", str(cmd.splice_command_type))
        el.text = bytes(cmd.raw).hex()
    else:
        raise InvalidFieldError(
            f"cannot write a {type(cmd).__name__} as XML", structure="SpliceInfoSection"
        )
    if not isinstance(cmd, UnknownCommand):
        _put_reserved(root[-1], cmd)


def _splice_time_element(parent: ET.Element, st: SpliceTime | None) -> None:
    if st is None:
        return
    el = _sub(parent, "SpliceTime", ptsTime=st.pts_time)
    _put_reserved(el, st)


def _break_element(parent: ET.Element, bd: BreakDuration | None) -> None:
    if bd is None:
        return
    el = _sub(parent, "BreakDuration", autoReturn=bd.auto_return, duration=bd.duration)
    _put_reserved(el, bd)


def _insert_element(root: ET.Element, cmd: SpliceInsert) -> None:
    el = _sub(
        root,
        "SpliceInsert",
        spliceEventId=cmd.splice_event_id,
        spliceEventCancelIndicator=cmd.splice_event_cancel_indicator,
    )
    if cmd.splice_event_cancel_indicator:
        return
    _set(
        el,
        outOfNetworkIndicator=cmd.out_of_network_indicator,
        spliceImmediateFlag=cmd.splice_immediate_flag,
        eventIdComplianceFlag=cmd.event_id_compliance_flag,
        uniqueProgramId=cmd.unique_program_id,
        availNum=cmd.avail_num,
        availsExpected=cmd.avails_expected,
    )
    if cmd.program_splice_flag:
        program = _sub(el, "Program")
        if not cmd.splice_immediate_flag:
            _splice_time_element(program, cmd.splice_time)
    else:
        if not cmd.components:
            _set_ext(el, "programSpliceFlag", False)
        for comp in cmd.components:
            c = _sub(el, "Component", componentTag=comp.component_tag)
            if not cmd.splice_immediate_flag:
                _splice_time_element(c, comp.splice_time)
    _break_element(el, cmd.break_duration)


def _event_element(parent: ET.Element, ev: ScheduleEvent) -> None:
    el = _sub(
        parent,
        "Event",
        spliceEventId=ev.splice_event_id,
        spliceEventCancelIndicator=ev.splice_event_cancel_indicator,
        eventIdComplianceFlag=ev.event_id_compliance_flag,
    )
    _put_reserved(el, ev)
    if ev.splice_event_cancel_indicator:
        return
    _set(
        el,
        outOfNetworkIndicator=ev.out_of_network_indicator,
        uniqueProgramId=ev.unique_program_id,
        availNum=ev.avail_num,
        availsExpected=ev.avails_expected,
    )
    if ev.program_splice_flag:
        _sub(el, "Program", utcSpliceTime=ev.utc_splice_time)
    else:
        if not ev.components:
            _set_ext(el, "programSpliceFlag", False)
        for comp in ev.components:
            _sub(
                el, "Component", componentTag=comp.component_tag, utcSpliceTime=comp.utc_splice_time
            )
    _break_element(el, ev.break_duration)


# ----------------------------------------------------------------------------- descriptors


def _descriptor_element(root: ET.Element, d: SpliceDescriptor) -> None:
    if isinstance(d, PrivateDescriptor):
        el = ET.SubElement(root, _x("PrivateDescriptor"))
        el.set("spliceDescriptorTag", str(d.splice_descriptor_tag))
        if d.identifier is not None:
            el.set("identifier", str(d.identifier))
        el.text = bytes(d.private_bytes).hex()
        return
    if isinstance(d, AvailDescriptor):
        el = _sub(root, "AvailDescriptor", providerAvailId=d.provider_avail_id)
    elif isinstance(d, DtmfDescriptor):
        el = _sub(root, "DTMFDescriptor", preroll=d.preroll)
        _put_text(el, "chars", d.dtmf_chars)
    elif isinstance(d, SegmentationDescriptor):
        el = _segmentation_element(root, d)
    elif isinstance(d, TimeDescriptor):
        el = _sub(
            root, "TimeDescriptor", taiSeconds=d.tai_seconds, taiNs=d.tai_ns, utcOffset=d.utc_offset
        )
    elif isinstance(d, AudioDescriptor):
        el = _sub(root, "AudioDescriptor")
        for ch in d.components:
            channel = _sub(el, "AudioChannel", componentTag=ch.component_tag)
            _put_text(channel, "ISOCode", ch.iso_code)
            _set(
                channel,
                BitStreamMode=ch.bit_stream_mode,
                NumChannels=ch.num_channels,
                FullSrvcAudio=ch.full_srvc_audio,
            )
    else:
        raise InvalidFieldError(
            f"cannot write a {type(d).__name__} as XML", structure="SpliceInfoSection"
        )
    if d.identifier != CUEI:
        _set_ext(el, "identifier", d.identifier)
    if d.extra_bytes:
        _set_ext(el, "extraBytes", d.extra_bytes)
    _put_reserved(el, d)


def _put_text(el: ET.Element, attribute: str, text: str) -> None:
    """One-byte characters as the schema's string attribute; characters XML 1.0 cannot carry
    (control characters) go as hex in ``lab:<attribute>Hex`` instead, read back the same."""
    if _XML_ILLEGAL.search(text):
        _set_ext(el, f"{attribute}Hex", text.encode("latin-1"))
    else:
        el.set(attribute, text)


def _segmentation_element(root: ET.Element, d: SegmentationDescriptor) -> ET.Element:
    el = _sub(
        root,
        "SegmentationDescriptor",
        segmentationEventId=d.segmentation_event_id,
        segmentationEventCancelIndicator=d.segmentation_event_cancel_indicator,
        segmentationEventIdComplianceIndicator=d.segmentation_event_id_compliance_indicator,
    )
    if d.segmentation_event_cancel_indicator:
        return el
    _set(
        el,
        segmentationDuration=d.segmentation_duration,
        segmentationTypeId=d.segmentation_type_id,
        segmentNum=d.segment_num,
        segmentsExpected=d.segments_expected,
        subSegmentNum=d.sub_segment_num,
        subSegmentsExpected=d.sub_segments_expected,
    )
    if not d.delivery_not_restricted_flag:
        _sub(
            el,
            "DeliveryRestrictions",
            webDeliveryAllowedFlag=d.web_delivery_allowed_flag,
            noRegionalBlackoutFlag=d.no_regional_blackout_flag,
            archiveAllowedFlag=d.archive_allowed_flag,
            deviceRestrictions=d.device_restrictions,
        )
    utype, value = d.segmentation_upid_type, d.segmentation_upid
    if utype == MID and isinstance(value, list):
        if len(value) < 2:
            _set_ext(el, "segmentationUpidType", MID)
        for item in value:
            _upid_element(el, item.segmentation_upid_type, item.segmentation_upid)
    elif not (utype == 0 and value is None):
        _upid_element(el, utype, value)
    if not d.program_segmentation_flag:
        if not d.components:
            _set_ext(el, "programSegmentationFlag", False)
        for comp in d.components:
            c = _sub(el, "Component", componentTag=comp.component_tag, ptsOffset=comp.pts_offset)
            _put_reserved(c, comp)
    return el


def _upid_element(parent: ET.Element, utype: int, value: Any) -> None:
    el = _sub(parent, "SegmentationUpid", segmentationUpidType=utype)
    if isinstance(value, str) and utype in TEXT_UPID_TYPES and not _XML_ILLEGAL.search(value):
        _set(el, segmentationUpidFormat="text")
        el.text = value
        return
    if utype == MPU and isinstance(value, Mpu):
        _set(el, segmentationUpidFormat="hexbinary", formatIdentifier=value.format_identifier)
        el.text = bytes(value.private_data).hex()
        return
    _set(el, segmentationUpidFormat="hexbinary")
    el.text = upid_bytes(utype, value).hex()


# ----------------------------------------------------------------------------- serializing


def _qname(tag: str, used: set[str]) -> str:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        used.add(ns)
        return f"{PREFIXES[ns]}:{local}"
    return tag


def _serialize(root: ET.Element) -> str:
    """Indented XML text with fixed prefixes (scte35, lab), declaring only those in use."""
    used: set[str] = set()
    lines: list[str] = []

    def write(el: ET.Element, depth: int) -> None:
        name = _qname(el.tag, used)
        attrs = "".join(f" {_qname(k, used)}={quoteattr(v)}" for k, v in el.attrib.items())
        pad = "  " * depth
        if len(el):
            lines.append(f"{pad}<{name}{attrs}>")
            for child in el:
                write(child, depth + 1)
            lines.append(f"{pad}</{name}>")
        elif el.text:
            lines.append(f"{pad}<{name}{attrs}>{escape(el.text)}</{name}>")
        else:
            lines.append(f"{pad}<{name}{attrs}/>")

    write(root, 0)
    decls = "".join(
        f" xmlns:{PREFIXES[ns]}={quoteattr(ns)}" for ns in (SCTE35_NS, EXT_NS) if ns in used
    )
    first = lines[0]
    cut = first.index(" ") if " " in first else len(first) - (2 if first.endswith("/>") else 1)
    lines[0] = first[:cut] + decls + first[cut:]
    return "\n".join(lines) + "\n"


# ============================================================================= reading


def cue_from_xml(text: str | bytes, cue_class: type) -> Any:
    """A ``cue_class`` (``Cue``) from SCTE 35 XML text (element or Binary form, any accepted
    namespace); the class is given so that this module need not import the one that uses it."""
    root = _parse(text)
    ns, name = _split(root.tag)
    if ns not in SCTE35_NAMESPACES:
        raise InputFormatError(f"root element {name!r} is in namespace {ns!r}, not SCTE 35's")
    if name == "Signal":
        inner = [c for c in root if _kind(c)[0] == "scte"]
        if len(inner) != 1 or _split(inner[0].tag)[1] not in ("Binary", "SpliceInfoSection"):
            raise InputFormatError("Signal must hold one Binary or one SpliceInfoSection element")
        root = inner[0]
        name = _split(root.tag)[1]
    if name == "Binary":
        return _from_binary(root, cue_class)
    if name == "SpliceInfoSection":
        return _read_section(root, cue_class)
    raise InputFormatError(
        f"root element {name!r} is not SpliceInfoSection, Signal or Binary",
        structure=name,
    )


def _parse(text: str | bytes) -> ET.Element:
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputFormatError(f"XML input is not UTF-8: {exc}") from exc
    if not isinstance(text, str):
        raise InputFormatError(f"XML input must be text, got {type(text).__name__}")
    if _FORBIDDEN.search(text):
        raise InputFormatError("XML with a DOCTYPE or ENTITY declaration is refused")
    try:
        return ET.fromstring(text.strip())
    except ET.ParseError as exc:
        raise InputFormatError(f"XML is not well-formed: {exc}") from exc


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _kind(el: ET.Element) -> tuple[str, str]:
    """("scte" | "ext" | "foreign", local name) of an element."""
    if not isinstance(el.tag, str):
        return "foreign", ""
    ns, local = _split(el.tag)
    if ns in SCTE35_NAMESPACES:
        return "scte", local
    if ns == EXT_NS:
        return "ext", local
    return "foreign", local


def _children(el: ET.Element, allowed: tuple[str, ...]) -> list[tuple[str, ET.Element]]:
    """SCTE and extension children as (name, element); foreign markup is skipped."""
    out = []
    for child in el:
        kind, local = _kind(child)
        if kind == "foreign":
            continue
        key = local if kind == "scte" else f"lab:{local}"
        if key not in allowed:
            raise InvalidFieldError(
                f"unexpected element {local!r}", structure=_split(el.tag)[1], field=local
            )
        out.append((key, child))
    return out


def _only(el: ET.Element, name: str, allowed: tuple[str, ...]) -> ET.Element | None:
    found = [c for k, c in _children(el, allowed) if k == name]
    if len(found) > 1:
        raise InvalidFieldError(
            f"more than one {name} element", structure=_split(el.tag)[1], field=name
        )
    return found[0] if found else None


def _raw_attr(el: ET.Element, name: str) -> str | None:
    value = el.get(name)
    if value is None:
        for ns in SCTE35_NAMESPACES:
            if ns and (value := el.get(f"{{{ns}}}{name}")) is not None:
                break
    return value


def _int(el: ET.Element, name: str, bits: int, default: Any = _REQUIRED, ext: bool = False) -> Any:
    """An unsigned attribute of at most ``bits`` bits (decimal, or 0x-prefixed hex)."""
    raw = el.get(_x(name)) if ext else _raw_attr(el, name)
    where = {"structure": _split(el.tag)[1], "field": f"lab:{name}" if ext else name}
    if raw is None:
        if default is _REQUIRED:
            raise InvalidFieldError("required attribute is missing", **where)
        return default
    s = raw.strip()
    try:
        value = int(s, 16) if s.lower().startswith("0x") else int(s, 10)
    except ValueError:
        raise InvalidFieldError(f"{raw!r} is not an unsigned integer", **where) from None
    if value < 0 or value >> bits:
        raise InvalidFieldError(f"{value} does not fit in {bits} unsigned bits", **where)
    return value


def _bool(el: ET.Element, name: str, default: Any = _REQUIRED, ext: bool = False) -> Any:
    raw = el.get(_x(name)) if ext else _raw_attr(el, name)
    where = {"structure": _split(el.tag)[1], "field": f"lab:{name}" if ext else name}
    if raw is None:
        if default is _REQUIRED:
            raise InvalidFieldError("required attribute is missing", **where)
        return default
    s = raw.strip().lower()
    if s in ("true", "1"):
        return True
    if s in ("false", "0"):
        return False
    raise InvalidFieldError(f"{raw!r} is not a boolean (true/false/1/0)", **where)


def _hex(text: str | None, element: str, field: str) -> bytes:
    s = re.sub(r"\s+", "", text or "")
    if s[:2].lower() == "0x":
        s = s[2:]
    try:
        return bytes.fromhex(s)
    except ValueError:
        raise InvalidFieldError(f"{text!r} is not hex", structure=element, field=field) from None


def _ext_bytes(el: ET.Element, name: str) -> bytes:
    raw = el.get(_x(name))
    return b"" if raw is None else _hex(raw, _split(el.tag)[1], f"lab:{name}")


def _take_reserved(el: ET.Element, obj: Struct) -> Any:
    raw = el.get(_x("reservedBits"))
    if raw:
        bits: dict[str, int] = {}
        for part in raw.split():
            key, sep, value = part.partition("=")
            if not sep or not key.startswith("reserved_") or not value.isdigit():
                raise InvalidFieldError(
                    f"{part!r} is not reserved_N=value",
                    structure=_split(el.tag)[1],
                    field="lab:reservedBits",
                )
            bits[key] = int(value)
        obj._reserved = bits
    return obj


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


# ----------------------------------------------------------------------------- section

_COMMANDS = (
    "SpliceNull",
    "SpliceSchedule",
    "SpliceInsert",
    "TimeSignal",
    "BandwidthReservation",
    "PrivateCommand",
    "lab:UnknownCommand",
)
_DESCRIPTORS = (
    "AvailDescriptor",
    "DTMFDescriptor",
    "SegmentationDescriptor",
    "TimeDescriptor",
    "AudioDescriptor",
    "lab:PrivateDescriptor",
)
_SECTION_CHILDREN = ("EncryptedPacket", "lab:EncryptedData", *_COMMANDS, *_DESCRIPTORS)


def _read_section(el: ET.Element, cue_class: type) -> Any:
    kwargs: dict[str, Any] = {
        "sap_type": _int(el, "sapType", 2, 3),
        "pts_adjustment": _int(el, "ptsAdjustment", 33, 0),
        "protocol_version": _int(el, "protocolVersion", 8, 0),
        "tier": _int(el, "tier", 12, 0xFFF),
        "section_syntax_indicator": _bool(el, "sectionSyntaxIndicator", False, ext=True),
        "private_indicator": _bool(el, "privateIndicator", False, ext=True),
        "trailing_bytes": _ext_bytes(el, "trailingBytes"),
    }
    children = _children(el, _SECTION_CHILDREN)
    packet = _only(el, "EncryptedPacket", _SECTION_CHILDREN)
    data = _only(el, "lab:EncryptedData", _SECTION_CHILDREN)
    commands = [(k, c) for k, c in children if k in _COMMANDS]
    if data is not None:
        if packet is None or commands:
            raise InvalidFieldError(
                "lab:EncryptedData needs an EncryptedPacket element and no clear command",
                structure="SpliceInfoSection",
                field="EncryptedData",
            )
        kwargs.update(
            encrypted_packet=True,
            encryption_algorithm=_int(packet, "encryptionAlgorithm", 6, 0),
            cw_index=_int(packet, "cwIndex", 8, 0xFF),
            splice_command_length=_int(data, "spliceCommandLength", 12, None),
            encrypted_data=_hex(data.text, "EncryptedData", "text"),
            command=None,
            descriptors=[],
        )
        return checked(cue_class(**kwargs))
    if packet is not None:
        algorithm = _int(packet, "encryptionAlgorithm", 6, 0)
        if algorithm:
            raise InvalidFieldError(
                f"encryptionAlgorithm {algorithm} with a clear command: scte35lab does not "
                "encrypt; give the section as <Signal><Binary> instead",
                structure="EncryptedPacket",
                field="encryptionAlgorithm",
            )
        kwargs["cw_index"] = _int(packet, "cwIndex", 8, 0xFF)
    kwargs["encryption_algorithm"] = _int(el, "encryptionAlgorithm", 6, 0, ext=True)
    kwargs["cw_index"] = _int(el, "cwIndex", 8, kwargs.get("cw_index", 0xFF), ext=True)
    kwargs["splice_command_length"] = _int(el, "spliceCommandLength", 12, None, ext=True)
    kwargs["command_extra_bytes"] = _ext_bytes(el, "commandExtraBytes")
    kwargs["alignment_stuffing"] = _ext_bytes(el, "alignmentStuffing")
    kwargs["descriptor_loop_rest"] = _ext_bytes(el, "descriptorLoopRest")
    if len(commands) != 1:
        raise InvalidFieldError(
            f"needs exactly one splice command element, found {len(commands)}",
            structure="SpliceInfoSection",
            field="SpliceCommand",
        )
    kind, cmd_el = commands[0]
    kwargs["command"] = _COMMAND_READERS[kind](cmd_el)
    kwargs["descriptors"] = [_DESCRIPTOR_READERS[k](c) for k, c in children if k in _DESCRIPTORS]
    return checked(cue_class(**kwargs))


# ----------------------------------------------------------------------------- commands


def _read_splice_time(parent: ET.Element, allowed: tuple[str, ...], absent: Any) -> Any:
    st_el = _only(parent, "SpliceTime", allowed)
    if st_el is None:
        return absent
    _children(st_el, ())
    return _take_reserved(st_el, SpliceTime(_int(st_el, "ptsTime", 33, None)))


def _read_break(parent: ET.Element, allowed: tuple[str, ...]) -> BreakDuration | None:
    el = _only(parent, "BreakDuration", allowed)
    if el is None:
        return None
    bd = BreakDuration(_bool(el, "autoReturn"), _int(el, "duration", 33))
    return _take_reserved(el, bd)


def _read_null(el: ET.Element) -> SpliceNull:
    _children(el, ())
    return _take_reserved(el, SpliceNull())


def _read_bandwidth(el: ET.Element) -> BandwidthReservation:
    _children(el, ())
    return _take_reserved(el, BandwidthReservation())


def _read_time_signal(el: ET.Element) -> TimeSignal:
    st = _read_splice_time(el, ("SpliceTime",), SpliceTime(None))
    return _take_reserved(el, TimeSignal(st))


def _read_private_command(el: ET.Element) -> PrivateCommand:
    pb = _only(el, "PrivateBytes", ("PrivateBytes",))
    text = pb.text if pb is not None else el.text
    return PrivateCommand(_int(el, "identifier", 32), _hex(text, "PrivateCommand", "PrivateBytes"))


def _read_unknown_command(el: ET.Element) -> UnknownCommand:
    _children(el, ())
    ctype = _int(el, "spliceCommandType", 8)
    return UnknownCommand(splice_command_type=ctype, raw=_hex(el.text, "UnknownCommand", "text"))


_INSERT_CHILDREN = ("Program", "Component", "BreakDuration")


def _read_splice_insert(el: ET.Element) -> SpliceInsert:
    cmd = SpliceInsert(
        splice_event_id=_int(el, "spliceEventId", 32),
        splice_event_cancel_indicator=_bool(el, "spliceEventCancelIndicator", False),
    )
    _take_reserved(el, cmd)
    children = _children(el, _INSERT_CHILDREN)
    if cmd.splice_event_cancel_indicator:
        return cmd
    cmd.out_of_network_indicator = _bool(el, "outOfNetworkIndicator", True)
    cmd.splice_immediate_flag = immediate = _bool(el, "spliceImmediateFlag", False)
    cmd.event_id_compliance_flag = _bool(el, "eventIdComplianceFlag", True)
    cmd.unique_program_id = _int(el, "uniqueProgramId", 16, 0)
    cmd.avail_num = _int(el, "availNum", 8, 0)
    cmd.avails_expected = _int(el, "availsExpected", 8, 0)
    program = _only(el, "Program", _INSERT_CHILDREN)
    components = [c for k, c in children if k == "Component"]
    if program is not None and components:
        raise InvalidFieldError(
            "has both Program and Component elements", structure="SpliceInsert", field="Program"
        )
    absent = None if immediate else SpliceTime(None)
    cmd.program_splice_flag = _bool(el, "programSpliceFlag", not components, ext=True)
    if program is not None:
        cmd.splice_time = None if immediate else _read_splice_time(program, ("SpliceTime",), absent)
    elif cmd.program_splice_flag:
        cmd.splice_time = absent
    for c in components:
        st = None if immediate else _read_splice_time(c, ("SpliceTime",), absent)
        cmd.components.append(InsertComponent(_int(c, "componentTag", 8), st))
    cmd.break_duration = _read_break(el, _INSERT_CHILDREN)
    return cmd


def _read_schedule(el: ET.Element) -> SpliceSchedule:
    events = [_read_event(c) for _, c in _children(el, ("Event",))]
    return _take_reserved(el, SpliceSchedule(events))


def _read_event(el: ET.Element) -> ScheduleEvent:
    ev = ScheduleEvent(
        splice_event_id=_int(el, "spliceEventId", 32),
        splice_event_cancel_indicator=_bool(el, "spliceEventCancelIndicator", False),
        event_id_compliance_flag=_bool(el, "eventIdComplianceFlag", True),
    )
    _take_reserved(el, ev)
    children = _children(el, _INSERT_CHILDREN)
    if ev.splice_event_cancel_indicator:
        return ev
    ev.out_of_network_indicator = _bool(el, "outOfNetworkIndicator", True)
    ev.unique_program_id = _int(el, "uniqueProgramId", 16, 0)
    ev.avail_num = _int(el, "availNum", 8, 0)
    ev.avails_expected = _int(el, "availsExpected", 8, 0)
    program = _only(el, "Program", _INSERT_CHILDREN)
    components = [c for k, c in children if k == "Component"]
    if program is not None and components:
        raise InvalidFieldError(
            "has both Program and Component elements", structure="Event", field="Program"
        )
    ev.program_splice_flag = _bool(el, "programSpliceFlag", not components, ext=True)
    if program is not None:
        ev.utc_splice_time = _int(program, "utcSpliceTime", 32)
    elif ev.program_splice_flag:
        raise InvalidFieldError(
            "needs a Program (utcSpliceTime) or Component elements",
            structure="Event",
            field="Program",
        )
    for c in components:
        ev.components.append(
            ScheduleComponent(_int(c, "componentTag", 8), _int(c, "utcSpliceTime", 32))
        )
    ev.break_duration = _read_break(el, _INSERT_CHILDREN)
    return ev


_COMMAND_READERS: dict[str, Callable[[ET.Element], SpliceCommand]] = {
    "SpliceNull": _read_null,
    "SpliceSchedule": _read_schedule,
    "SpliceInsert": _read_splice_insert,
    "TimeSignal": _read_time_signal,
    "BandwidthReservation": _read_bandwidth,
    "PrivateCommand": _read_private_command,
    "lab:UnknownCommand": _read_unknown_command,
}


# ----------------------------------------------------------------------------- descriptors


def _common(el: ET.Element, d: SpliceDescriptor) -> SpliceDescriptor:
    d.identifier = _int(el, "identifier", 32, CUEI, ext=True)
    d.extra_bytes = _ext_bytes(el, "extraBytes")
    return _take_reserved(el, d)


def _text_attr(el: ET.Element, name: str, max_len: int, exact: bool = False) -> str:
    value = _raw_attr(el, name)
    where = {"structure": _split(el.tag)[1], "field": name}
    coded = el.get(_x(f"{name}Hex"))
    if coded is not None:
        value = _hex(coded, where["structure"], f"lab:{name}Hex").decode("latin-1")
    if value is None:
        raise InvalidFieldError("required attribute is missing", **where)
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise InvalidFieldError(f"{value!r} is not one-byte characters", **where) from None
    if len(value) > max_len or (exact and len(value) != max_len):
        need = f"exactly {max_len}" if exact else f"at most {max_len}"
        raise InvalidFieldError(f"{value!r} needs {need} characters", **where)
    return value


def _read_avail(el: ET.Element) -> SpliceDescriptor:
    _children(el, ())
    return _common(el, AvailDescriptor(_int(el, "providerAvailId", 32)))


def _read_dtmf(el: ET.Element) -> SpliceDescriptor:
    _children(el, ())
    d = DtmfDescriptor(_int(el, "preroll", 8), _text_attr(el, "chars", 7))
    return _common(el, d)


def _read_time(el: ET.Element) -> SpliceDescriptor:
    _children(el, ())
    d = TimeDescriptor(_int(el, "taiSeconds", 48), _int(el, "taiNs", 32), _int(el, "utcOffset", 16))
    return _common(el, d)


def _read_audio(el: ET.Element) -> SpliceDescriptor:
    channels = []
    for _, c in _children(el, ("AudioChannel",)):
        channels.append(
            AudioComponent(
                component_tag=_int(c, "componentTag", 8),
                iso_code=_text_attr(c, "ISOCode", 3, exact=True),
                bit_stream_mode=_int(c, "BitStreamMode", 3),
                num_channels=_int(c, "NumChannels", 4),
                full_srvc_audio=_bool(c, "FullSrvcAudio"),
            )
        )
    if len(channels) > 15:
        raise InvalidFieldError(
            f"{len(channels)} AudioChannel elements; audio_count holds at most 15",
            structure="AudioDescriptor",
            field="AudioChannel",
        )
    return _common(el, AudioDescriptor(channels))


def _read_private_descriptor(el: ET.Element) -> SpliceDescriptor:
    _children(el, ())
    return PrivateDescriptor(
        splice_descriptor_tag=_int(el, "spliceDescriptorTag", 8),
        identifier=_int(el, "identifier", 32, None),
        private_bytes=_hex(el.text, "PrivateDescriptor", "text"),
    )


_SEG_CHILDREN = ("DeliveryRestrictions", "SegmentationUpid", "Component")


def _read_segmentation(el: ET.Element) -> SpliceDescriptor:
    d = SegmentationDescriptor(
        segmentation_event_id=_int(el, "segmentationEventId", 32),
        segmentation_event_cancel_indicator=_bool(el, "segmentationEventCancelIndicator", False),
        segmentation_event_id_compliance_indicator=_bool(
            el, "segmentationEventIdComplianceIndicator", True
        ),
    )
    children = _children(el, _SEG_CHILDREN)
    if d.segmentation_event_cancel_indicator:
        return _common(el, d)
    d.segmentation_duration = _int(el, "segmentationDuration", 40, None)
    d.segmentation_type_id = _int(el, "segmentationTypeId", 8)
    d.segment_num = _int(el, "segmentNum", 8, 0)
    d.segments_expected = _int(el, "segmentsExpected", 8, 0)
    d.sub_segment_num = _int(el, "subSegmentNum", 8, None)
    d.sub_segments_expected = _int(el, "subSegmentsExpected", 8, None)
    restrictions = _only(el, "DeliveryRestrictions", _SEG_CHILDREN)
    if restrictions is not None:
        d.delivery_not_restricted_flag = False
        d.web_delivery_allowed_flag = _bool(restrictions, "webDeliveryAllowedFlag")
        d.no_regional_blackout_flag = _bool(restrictions, "noRegionalBlackoutFlag")
        d.archive_allowed_flag = _bool(restrictions, "archiveAllowedFlag")
        d.device_restrictions = _int(restrictions, "deviceRestrictions", 2)
    upids = [_read_upid(c) for k, c in children if k == "SegmentationUpid"]
    forced = _int(el, "segmentationUpidType", 8, None, ext=True)
    if forced == MID or len(upids) > 1:
        d.segmentation_upid_type = MID
        d.segmentation_upid = [MidUpid(t, v) for t, v in upids]
    elif upids:
        d.segmentation_upid_type, d.segmentation_upid = upids[0]
    components = [c for k, c in children if k == "Component"]
    d.program_segmentation_flag = _bool(el, "programSegmentationFlag", not components, ext=True)
    for c in components:
        comp = SegmentationComponent(_int(c, "componentTag", 8), _int(c, "ptsOffset", 33))
        d.components.append(_take_reserved(c, comp))
    return _common(el, d)


def _read_upid(el: ET.Element) -> tuple[int, Any]:
    _children(el, ())
    utype = _int(el, "segmentationUpidType", 8)
    fmt = (_raw_attr(el, "segmentationUpidFormat") or "").strip().lower()
    if not fmt:
        fmt = "text" if utype in TEXT_UPID_TYPES else "hexbinary"
    content = el.text or ""
    if fmt == "text":
        raw = content.encode("utf-8")
    elif fmt == "hexbinary":
        raw = _hex(content, "SegmentationUpid", "text")
    elif fmt in ("base-64", "base64"):
        try:
            raw = base64.b64decode(re.sub(r"\s+", "", content), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidFieldError(
                f"not valid base64: {exc}", structure="SegmentationUpid", field="text"
            ) from exc
    else:
        raise InvalidFieldError(
            f"{fmt!r} is not text, hexbinary or base-64",
            structure="SegmentationUpid",
            field="segmentationUpidFormat",
        )
    if utype == MPU:
        fid = _int(el, "formatIdentifier", 32, None)
        if fid is not None:
            raw = fid.to_bytes(4, "big") + raw
    if len(raw) > 255:
        raise InvalidFieldError(
            f"{len(raw)} bytes do not fit segmentation_upid_length",
            structure="SegmentationUpid",
            field="text",
        )
    return utype, upid_value(utype, raw)


_DESCRIPTOR_READERS: dict[str, Callable[[ET.Element], SpliceDescriptor]] = {
    "AvailDescriptor": _read_avail,
    "DTMFDescriptor": _read_dtmf,
    "SegmentationDescriptor": _read_segmentation,
    "TimeDescriptor": _read_time,
    "AudioDescriptor": _read_audio,
    "lab:PrivateDescriptor": _read_private_descriptor,
}


__all__ = ["EXT_NS", "SCTE35_NAMESPACES", "SCTE35_NS", "cue_from_xml", "cue_to_xml"]
