"""PSI tables (ISO/IEC 13818-1 2.4.4): PAT and PMT, parsed and built, with CRC_32.

A section is ``table_id(8) section_syntax_indicator(1) '0'(1) reserved(2)
section_length(12)`` then ``section_length`` bytes, the last four of which are CRC_32
(MPEG-2 CRC, whose residue over the whole section is zero).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scte35lab.cue.crc import crc32_mpeg2
from scte35lab.errors import CrcError, Scte35Error, StreamError, TruncatedError

PAT_PID = 0x0000
PAT_TABLE_ID = 0x00
PMT_TABLE_ID = 0x02
SCTE35_TABLE_ID = 0xFC
SCTE35_STREAM_TYPE = 0x86
REGISTRATION_DESCRIPTOR_TAG = 0x05
CUEI = "CUEI"

Descriptor = tuple[int, bytes]
"""A descriptor as ``(descriptor_tag, body)``: the body excludes tag and length bytes."""

STREAM_TYPES: dict[int, str] = {
    0x01: "mpeg1video",
    0x02: "mpeg2video",
    0x03: "mp2",
    0x04: "mp2",
    0x05: "private_sections",
    0x06: "private_pes",
    0x0F: "aac",
    0x10: "mpeg4",
    0x11: "aac_latm",
    0x15: "timed_id3",
    0x1B: "h264",
    0x24: "hevc",
    0x33: "vvc",
    0x42: "cavs",
    0x81: "ac3",
    0x82: "dts",
    0x83: "truehd",
    0x86: "scte_35",
    0x87: "eac3",
    0xD1: "dirac",
    0xEA: "vc1",
}
VIDEO_STREAM_TYPES = frozenset({0x01, 0x02, 0x10, 0x1B, 0x24, 0x33, 0x42, 0xD1, 0xEA})
AUDIO_STREAM_TYPES = frozenset({0x03, 0x04, 0x0F, 0x11, 0x81, 0x82, 0x83, 0x87})
# stream_type 0x06 descriptors that name what is inside (ETSI EN 300 468)
PRIVATE_CODECS: dict[int, str] = {
    0x6A: "ac3",
    0x7A: "eac3",
    0x7B: "dts",
    0x59: "dvb_subtitle",
    0x56: "dvb_teletext",
}
AUDIO_CODECS = frozenset({"ac3", "eac3", "dts", "opus"})

# what an elementary stream carries, as the probe's PID table and the demux read it
VIDEO, AUDIO, SCTE35, OTHER = "video", "audio", "scte35", "other"


@dataclass(frozen=True)
class StreamClass:
    """What a PMT entry says its elementary stream carries."""

    role: str  # VIDEO, AUDIO, SCTE35 or OTHER
    codec: str  # "h264", "aac", "scte_35", "dvb_subtitle", ... or "0x??"
    private: bool = False  # stream_type 0x06 naming no codec: a private PES that may hide
    # SCTE-35 (how FFmpeg's muxer rewrites it)


def classify_stream(
    stream_type: int, descriptors: list[Descriptor] | tuple[Descriptor, ...], reg: str | None
) -> StreamClass:
    """The role and codec of an elementary stream from its stream_type, ES descriptors and
    registration format_identifier ``reg``: SCTE-35 sections are stream_type 0x86, or 0x05
    with a CUEI registration; a stream_type 0x06 is named by an ETSI EN 300 468 descriptor
    or an Opus registration, else it is a private PES to look into."""
    st = stream_type
    if st == SCTE35_STREAM_TYPE or (st == 0x05 and reg == CUEI):
        return StreamClass(SCTE35, "scte_35")
    codec = STREAM_TYPES.get(st, f"0x{st:02x}")
    if st == 0x06:
        named = [PRIVATE_CODECS[tag] for tag, _ in descriptors if tag in PRIVATE_CODECS]
        if named:
            codec = named[0]
        elif reg == "Opus":
            codec = "opus"
        else:
            return StreamClass(OTHER, codec, private=True)
    if st in VIDEO_STREAM_TYPES:
        return StreamClass(VIDEO, codec)
    if st in AUDIO_STREAM_TYPES or codec in AUDIO_CODECS:
        return StreamClass(AUDIO, codec)
    return StreamClass(OTHER, codec)


def section_length(data: bytes | bytearray, pos: int = 0) -> int:
    """Total bytes of the section starting at ``pos`` (3 header bytes + section_length)."""
    return 3 + (((data[pos + 1] & 0x0F) << 8) | data[pos + 2])


def crc_ok(section: bytes | bytearray) -> bool:
    """True when the section's trailing CRC_32 matches its bytes."""
    return len(section) >= 4 and crc32_mpeg2(bytes(section)) == 0


def with_crc(body: bytes) -> bytes:
    """``body`` followed by its MPEG-2 CRC_32."""
    return body + crc32_mpeg2(body).to_bytes(4, "big")


def check_section(
    section: bytes,
    table_id: int | tuple[int, ...],
    name: str,
    verify_crc: bool,
    *,
    min_length: int = 12,
) -> None:
    """Raise the error naming what is wrong with a long-form PSI section's framing: its
    size, table_id (one of ``table_id``), section_length, CRC_32."""
    ids = table_id if isinstance(table_id, tuple) else (table_id,)
    if len(section) < min_length:
        raise TruncatedError(f"{len(section)} bytes, too short for a {name}", structure=name)
    if section[0] not in ids:
        want = " or ".join(f"0x{t:02x}" for t in ids)
        raise StreamError(f"table_id 0x{section[0]:02x}, expected {want}", structure=name)
    if section_length(section) != len(section):
        raise TruncatedError(
            f"section_length says {section_length(section)} bytes, have {len(section)}",
            structure=name,
            field="section_length",
        )
    if verify_crc and not crc_ok(section):
        raise CrcError("CRC_32 does not match", structure=name, field="CRC_32")


def _descriptors(data: bytes, name: str) -> list[Descriptor]:
    out: list[Descriptor] = []
    pos = 0
    while pos + 2 <= len(data):
        tag, length = data[pos], data[pos + 1]
        if pos + 2 + length > len(data):
            raise TruncatedError(f"descriptor 0x{tag:02x} overruns its loop", structure=name)
        out.append((tag, bytes(data[pos + 2 : pos + 2 + length])))
        pos += 2 + length
    return out


def _descriptor_bytes(descriptors: list[Descriptor] | tuple[Descriptor, ...]) -> bytes:
    return b"".join(bytes([tag, len(body)]) + body for tag, body in descriptors)


def registration(descriptors: list[Descriptor] | tuple[Descriptor, ...]) -> str | None:
    """The format_identifier of the first registration descriptor (e.g. ``"CUEI"``), or None."""
    for tag, body in descriptors:
        if tag == REGISTRATION_DESCRIPTOR_TAG and len(body) >= 4:
            return body[:4].decode("latin-1")
    return None


def registration_descriptor(format_identifier: str = CUEI) -> Descriptor:
    """A registration_descriptor (tag 5) for a four-character format_identifier."""
    ident = format_identifier.encode("ascii")
    if len(ident) != 4:
        raise ValueError("format_identifier must be four ASCII characters")
    return (REGISTRATION_DESCRIPTOR_TAG, ident)


@dataclass
class Pat:
    """program_association_section: program_number -> program_map_PID (0 -> network_PID)."""

    programs: dict[int, int]
    transport_stream_id: int = 1
    version_number: int = 0
    current_next_indicator: bool = True

    @classmethod
    def parse(cls, section: bytes, *, verify_crc: bool = True) -> Pat:
        """Parse one PAT section (raises StreamError / CrcError / TruncatedError)."""
        check_section(section, PAT_TABLE_ID, "program_association_section", verify_crc)
        programs: dict[int, int] = {}
        for pos in range(8, len(section) - 4 - 3, 4):
            number = (section[pos] << 8) | section[pos + 1]
            programs[number] = ((section[pos + 2] & 0x1F) << 8) | section[pos + 3]
        return cls(
            programs=programs,
            transport_stream_id=(section[3] << 8) | section[4],
            version_number=(section[5] >> 1) & 0x1F,
            current_next_indicator=bool(section[5] & 1),
        )

    def build(self) -> bytes:
        """The section bytes, CRC included (reserved bits set to 1)."""
        loop = b"".join(
            bytes([n >> 8, n & 0xFF, 0xE0 | (pid >> 8), pid & 0xFF])
            for n, pid in self.programs.items()
        )
        return _build_long_section(
            PAT_TABLE_ID,
            self.transport_stream_id,
            self.version_number,
            self.current_next_indicator,
            loop,
        )

    @property
    def pmt_pids(self) -> dict[int, int]:
        """program_number -> PMT PID, without the network PID entry (program 0)."""
        return {n: pid for n, pid in self.programs.items() if n != 0}


@dataclass
class EsInfo:
    """One elementary stream of a PMT."""

    stream_type: int
    elementary_pid: int
    descriptors: list[Descriptor] = field(default_factory=list)

    @property
    def registration(self) -> str | None:
        return registration(self.descriptors)


@dataclass
class Pmt:
    """TS_program_map_section."""

    program_number: int
    pcr_pid: int
    streams: list[EsInfo]
    program_descriptors: list[Descriptor] = field(default_factory=list)
    version_number: int = 0
    current_next_indicator: bool = True

    @classmethod
    def parse(cls, section: bytes, *, verify_crc: bool = True) -> Pmt:
        """Parse one PMT section (raises StreamError / CrcError / TruncatedError)."""
        name = "TS_program_map_section"
        check_section(section, PMT_TABLE_ID, name, verify_crc)
        end = len(section) - 4
        info_len = ((section[10] & 0x0F) << 8) | section[11]
        pos = 12 + info_len
        if pos > end:
            raise TruncatedError("program_info_length overruns the section", structure=name)
        program_descriptors = _descriptors(section[12:pos], name)
        streams: list[EsInfo] = []
        while pos + 5 <= end:
            es_len = ((section[pos + 3] & 0x0F) << 8) | section[pos + 4]
            if pos + 5 + es_len > end:
                raise TruncatedError("ES_info_length overruns the section", structure=name)
            streams.append(
                EsInfo(
                    stream_type=section[pos],
                    elementary_pid=((section[pos + 1] & 0x1F) << 8) | section[pos + 2],
                    descriptors=_descriptors(section[pos + 5 : pos + 5 + es_len], name),
                )
            )
            pos += 5 + es_len
        return cls(
            program_number=(section[3] << 8) | section[4],
            pcr_pid=((section[8] & 0x1F) << 8) | section[9],
            streams=streams,
            program_descriptors=program_descriptors,
            version_number=(section[5] >> 1) & 0x1F,
            current_next_indicator=bool(section[5] & 1),
        )

    def build(self) -> bytes:
        """The section bytes, CRC included (reserved bits set to 1)."""
        info = _descriptor_bytes(self.program_descriptors)
        body = bytes(
            [
                0xE0 | (self.pcr_pid >> 8),
                self.pcr_pid & 0xFF,
                0xF0 | (len(info) >> 8),
                len(info) & 0xFF,
            ]
        )
        body += info
        for es in self.streams:
            d = _descriptor_bytes(es.descriptors)
            body += bytes(
                [
                    es.stream_type,
                    0xE0 | (es.elementary_pid >> 8),
                    es.elementary_pid & 0xFF,
                    0xF0 | (len(d) >> 8),
                    len(d) & 0xFF,
                ]
            )
            body += d
        return _build_long_section(
            PMT_TABLE_ID,
            self.program_number,
            self.version_number,
            self.current_next_indicator,
            body,
        )

    @property
    def registration(self) -> str | None:
        """The program-level registration format_identifier (``"CUEI"`` for SCTE-35)."""
        return registration(self.program_descriptors)

    def stream(self, pid: int) -> EsInfo | None:
        """The elementary stream on ``pid``, if this program has one."""
        for es in self.streams:
            if es.elementary_pid == pid:
                return es
        return None


def _build_long_section(
    table_id: int, id_ext: int, version: int, current_next: bool, body: bytes
) -> bytes:
    length = 5 + len(body) + 4
    if length > 1021:
        raise StreamError(f"section of {length + 3} bytes exceeds 1024")
    head = bytes(
        [
            table_id,
            0xB0 | (length >> 8),
            length & 0xFF,
            id_ext >> 8,
            id_ext & 0xFF,
            0xC0 | ((version & 0x1F) << 1) | int(current_next),
            0,  # section_number
            0,  # last_section_number
        ]
    )
    return with_crc(head + body)


def descriptor_loop(data: bytes, structure: str) -> list[Descriptor]:
    """A descriptor loop's bytes as ``(tag, body)`` pairs (``structure`` names it in errors)."""
    return _descriptors(data, structure)


def descriptor_loop_bytes(descriptors: list[Descriptor] | tuple[Descriptor, ...]) -> bytes:
    """``(tag, body)`` pairs as a descriptor loop's bytes."""
    return _descriptor_bytes(descriptors)


# why PsiFollower.section took a section as nothing new (PsiFollower.refusal)
REPEAT = "repeat"  # byte-identical to the last one taken on its PID
CRC_ERROR = "crc_error"  # its CRC_32 does not match
WRONG_TABLE = "wrong_table"  # not a PAT on PID 0, not a PMT on a PMT PID
NOT_FOLLOWED = "not_followed"  # a PID that is neither PID 0 nor a PMT PID of the PAT
PARSE_ERROR = "parse_error"  # a PAT or PMT that does not parse (detail: why)


@dataclass(frozen=True)
class PsiRefusal:
    """Why :meth:`PsiFollower.section` returned None, for a stage that reports it."""

    reason: str  # REPEAT, CRC_ERROR, WRONG_TABLE, NOT_FOLLOWED or PARSE_ERROR
    detail: str = ""


class PsiFollower:
    """What the PAT and PMTs of a TS say now, from its complete sections (PSI following).

    ``section(pid, section)`` takes one section from PID 0 or a PMT PID and returns the
    :class:`Pat` or :class:`Pmt` when it is new (first seen, new version or new content),
    None for a byte-identical repeat, another table, or a damaged one (``bad`` counts
    those with a wrong CRC_32 or that do not parse). After each call ``refusal`` says why
    it returned None (a :class:`PsiRefusal`: the probe reports it), or is None when it
    returned a table.
    """

    def __init__(self) -> None:
        self.pat: Pat | None = None
        self.pmt_pids: dict[int, int] = {}  # PMT PID -> program_number
        self.programs: dict[int, Pmt] = {}  # program_number -> its PMT
        self.bad = 0
        self.refusal: PsiRefusal | None = None
        self._last: dict[int, bytes] = {}

    @property
    def last_sections(self) -> dict[int, bytes]:
        """PID -> the last section taken on it (repeats of it are refused as REPEAT)."""
        return self._last

    def follows(self, pid: int) -> bool:
        """Whether ``pid`` carries the PAT or a PMT."""
        return pid == PAT_PID or pid in self.pmt_pids

    def section(self, pid: int, section: bytes) -> Pat | Pmt | None:
        """Take one complete section (see the class doc)."""
        if self._last.get(pid) == section:
            return self._refuse(REPEAT)
        table = section[0]
        if not crc_ok(section):
            self.bad += 1
            return self._refuse(CRC_ERROR, f"table_id 0x{table:02x} CRC_32 does not match")
        if pid == PAT_PID and table != PAT_TABLE_ID:
            return self._refuse(WRONG_TABLE, f"table_id 0x{table:02x} on PID 0")
        if pid != PAT_PID and pid not in self.pmt_pids:
            return self._refuse(NOT_FOLLOWED)
        if pid != PAT_PID and table != PMT_TABLE_ID:
            return self._refuse(WRONG_TABLE, f"table_id 0x{table:02x} on a PMT PID")
        self._last[pid] = section  # a repeat of a section that does not parse is a REPEAT
        try:
            parsed = (Pat if pid == PAT_PID else Pmt).parse(section, verify_crc=False)
        except Scte35Error as e:
            self.bad += 1
            return self._refuse(PARSE_ERROR, str(e))
        self.refusal = None
        if isinstance(parsed, Pat):
            self.pat = parsed
            self.pmt_pids = {p: n for n, p in parsed.pmt_pids.items()}
            self.programs = {n: m for n, m in self.programs.items() if n in parsed.pmt_pids}
            for old in [p for p in self._last if p != PAT_PID and p not in self.pmt_pids]:
                del self._last[old]
            return parsed
        self.programs[parsed.program_number] = parsed
        return parsed

    def _refuse(self, reason: str, detail: str = "") -> None:
        self.refusal = PsiRefusal(reason, detail)

    def streams(self) -> dict[int, tuple[int, EsInfo]]:
        """Elementary PID -> (program_number, its EsInfo), over every program."""
        return {
            es.elementary_pid: (number, es)
            for number, pmt in sorted(self.programs.items())
            for es in pmt.streams
        }
