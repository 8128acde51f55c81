"""The DVB Service Description Table (ETSI EN 300 468 5.2.3) and a stage that names services.

An SSAI distributor shows the service_name and service_provider_name of the SDT's
service_descriptor (tag 0x48); FFmpeg's muxer writes "Service01" and "FFmpeg".
:class:`ServiceNamer` is a streaming stage (TS bytes in, TS bytes out, like the injector)
that puts the caller's names there.

Each structure is declared once below (syntax element names as in EN 300 468, in snake
case, widths in bits) with the codec's one declaration engine (``scte35lab.cue.layout``),
which reads and writes it; the DVB strings and the descriptor loop are two small ``Custom``
elements. Strings follow EN 300 468 Annex A: ASCII is written in the default table, other
text as UTF-8 behind the 0x15 selector.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import field, replace

import numpy as np

from scte35lab.clock import PCR_HZ
from scte35lab.cue.layout import (
    Cursor,
    Custom,
    Getter,
    Repeat,
    Struct,
    Writer,
    count,
    derived_flag,
    encode_struct,
    flag,
    read_struct,
    reserved,
    structure,
    u,
)
from scte35lab.errors import InvalidFieldError, Scte35Error, StreamError, TruncatedError
from scte35lab.ts.demux import Demux
from scte35lab.ts.packetize import SectionPacketizer
from scte35lab.ts.packets import (
    NULL_PID,
    PCR_WRAP,
    SYNC_BYTE,
    TS_PACKET_SIZE,
    PacketAligner,
    packet_table,
)
from scte35lab.ts.psi import (
    Descriptor,
    check_section,
    crc_ok,
    descriptor_loop,
    descriptor_loop_bytes,
    with_crc,
)

log = logging.getLogger(__name__)

SDT_PID = 0x0011
SDT_ACTUAL_TABLE_ID = 0x42
SDT_OTHER_TABLE_ID = 0x46
SERVICE_DESCRIPTOR_TAG = 0x48
SERVICE_TYPE_DIGITAL_TV = 0x01
RUNNING = 4
FFMPEG_ORIGINAL_NETWORK_ID = 0xFF01  # what FFmpeg's muxer writes (private range)
UTF8_SELECTOR = 0x15
SDT_INTERVAL = PCR_HZ // 2  # EN 300 468 / TR 101 211: an SDT at least every 2 s; we send 2/s
NULL_NEAR = 64  # packets after a due point searched for a null packet to replace
SDT_NAME = "service_description_section"


# ----------------------------------------------------------------------------- strings

# EN 300 468 Annex A table A.3: first byte 0x01..0x0B selects ISO/IEC 8859-5..15
_8859 = {k: f"iso8859_{k + 4}" for k in range(0x01, 0x0C)}


def encode_string(s: str) -> bytes:
    """A DVB string: ASCII as is (the default table), anything else UTF-8 behind 0x15."""
    if all(0x20 <= ord(c) < 0x7F for c in s):
        return s.encode("ascii")
    return bytes([UTF8_SELECTOR]) + s.encode("utf-8")


def decode_string(raw: bytes) -> str:
    """A DVB string (Annex A): the character table selector, if any, then the text."""
    if not raw:
        return ""
    first = raw[0]
    if first >= 0x20:
        return raw.decode("latin-1")  # the default table (ISO/IEC 6937) matches ASCII
    if first == UTF8_SELECTOR:
        return raw[1:].decode("utf-8", errors="replace")
    if first in _8859:
        return raw[1:].decode(_8859[first], errors="replace")
    if first == 0x10 and len(raw) >= 3:
        part = (raw[1] << 8) | raw[2]
        try:
            return raw[3:].decode(f"iso8859_{part}", errors="replace")
        except LookupError:
            return raw[3:].decode("latin-1")
    if first == 0x11:
        return raw[1:].decode("utf-16-be", errors="replace")
    return raw[1:].decode("latin-1")


# ----------------------------------------------------------------------------- declarations


def _read_text(name: str) -> Callable[[Cursor, int, Getter], tuple]:
    def read(cur: Cursor, end: int, get: Getter) -> tuple:
        pos = cur.pos
        if pos + 8 > end:
            raise TruncatedError("no length byte", structure="service_descriptor", field=name)
        n = cur.read_bytes(1)[0]
        if cur.pos + 8 * n > end:
            raise TruncatedError(
                f"{n} bytes announced, {(end - cur.pos) // 8} left",
                structure="service_descriptor",
                field=name,
            )
        return (decode_string(cur.read_bytes(n)),)

    return read


def _write_text(name: str) -> Callable[[Writer, Getter], None]:
    def write(w: Writer, get: Getter) -> None:
        raw = encode_string(get(name))
        if len(raw) > 255:
            raise InvalidFieldError(
                f"{len(raw)} bytes, at most 255", structure="service_descriptor", field=name
            )
        w.bits(len(raw), 8)
        w.raw(raw)

    return write


def dvb_text(name: str) -> Custom:
    """An 8-bit length, then that many bytes of a DVB string (Annex A), held as ``str``."""
    return Custom((name,), _read_text(name), _write_text(name))


def _read_descriptors(cur: Cursor, end: int, get: Getter) -> tuple:
    n = get("descriptors_loop_length")
    if cur.pos + 8 * n > end:
        raise TruncatedError(
            "descriptors_loop_length overruns the section",
            structure=SDT_NAME,
            field="descriptors_loop_length",
        )
    return (descriptor_loop(cur.read_bytes(n), SDT_NAME),)


def _write_descriptors(w: Writer, get: Getter) -> None:
    w.raw(descriptor_loop_bytes(get("descriptors")))


# The descriptor loop a descriptors_loop_length (read before it) counts, as (tag, body) pairs.
DESCRIPTOR_LOOP = Custom(("descriptors",), _read_descriptors, _write_descriptors, reads_names=True)


# ----------------------------------------------------------------------------- the table


# EN 300 468 §6.2.33 - service_descriptor() (descriptor_tag 0x48), after tag and length
@structure
class ServiceDescriptor(Struct):
    """service_descriptor (tag 0x48): service_type and the two names."""

    NAME = "service_descriptor"
    LAYOUT = (u("service_type", 8), dvb_text("service_provider_name"), dvb_text("service_name"))

    service_type: int = SERVICE_TYPE_DIGITAL_TV
    service_provider_name: str = ""
    service_name: str = ""

    @classmethod
    def parse(cls, body: bytes) -> ServiceDescriptor:
        return read_struct(cls, Cursor(body), 8 * len(body))

    def build(self) -> Descriptor:
        """As ``(descriptor_tag, body)``."""
        return SERVICE_DESCRIPTOR_TAG, encode_struct(self)


# EN 300 468 §5.2.3, Table 5 - service_description_section(): one service of its loop
@structure
class SdtService(Struct):
    """One service of the SDT's loop; descriptors as ``(tag, body)``."""

    NAME = SDT_NAME
    LAYOUT = (
        u("service_id", 16),
        reserved(6),  # reserved_future_use
        flag("eit_schedule_flag"),
        flag("eit_present_following_flag"),
        u("running_status", 3),
        flag("free_ca_mode"),
        count("descriptors_loop_length", 12),
        DESCRIPTOR_LOOP,
    )

    service_id: int
    eit_schedule_flag: bool = False
    eit_present_following_flag: bool = False
    running_status: int = RUNNING
    free_ca_mode: bool = False
    descriptors: list[Descriptor] = field(default_factory=list)

    @property
    def descriptors_loop_length(self) -> int:
        return sum(2 + len(body) for _, body in self.descriptors)

    @property
    def service_descriptor(self) -> ServiceDescriptor | None:
        """The first service_descriptor, parsed, or None."""
        for tag, body in self.descriptors:
            if tag == SERVICE_DESCRIPTOR_TAG:
                return ServiceDescriptor.parse(body)
        return None

    def named(self, name: str, provider: str) -> SdtService:
        """This service with its service_descriptor's names replaced (one added if it had
        none); other descriptors stay as they are, where they are."""
        descriptors = []
        done = False
        for tag, body in self.descriptors:
            if tag == SERVICE_DESCRIPTOR_TAG and not done:
                old = ServiceDescriptor.parse(body)
                descriptors.append(ServiceDescriptor(old.service_type, provider, name).build())
                done = True
            else:
                descriptors.append((tag, body))
        if not done:
            descriptors.insert(
                0, ServiceDescriptor(service_provider_name=provider, service_name=name).build()
            )
        return replace(self, descriptors=descriptors)


# EN 300 468 §5.2.3, Table 5 - service_description_section(), CRC_32 aside
@structure
class Sdt(Struct):
    """service_description_section (EN 300 468 5.2.3)."""

    NAME = SDT_NAME
    LAYOUT = (
        u("table_id", 8),
        derived_flag("section_syntax_indicator"),
        reserved(1),  # reserved_future_use
        reserved(2),
        count("section_length", 12),
        u("transport_stream_id", 16),
        reserved(2),
        u("version_number", 5),
        flag("current_next_indicator"),
        u("section_number", 8),
        u("last_section_number", 8),
        u("original_network_id", 16),
        reserved(8),  # reserved_future_use
        Repeat("services", SdtService),
    )

    transport_stream_id: int
    original_network_id: int
    services: list[SdtService] = field(default_factory=list)
    version_number: int = 0
    current_next_indicator: bool = True
    section_number: int = 0
    last_section_number: int = 0
    table_id: int = SDT_ACTUAL_TABLE_ID

    @property
    def section_syntax_indicator(self) -> bool:
        return True

    @property
    def section_length(self) -> int:
        """transport_stream_id .. reserved_future_use (8 bytes), the loop, CRC_32."""
        return 8 + sum(5 + s.descriptors_loop_length for s in self.services) + 4

    @classmethod
    def parse(cls, section: bytes, *, verify_crc: bool = True) -> Sdt:
        """Parse one SDT section (raises StreamError / CrcError / TruncatedError)."""
        tables = (SDT_ACTUAL_TABLE_ID, SDT_OTHER_TABLE_ID)
        check_section(section, tables, SDT_NAME, verify_crc, min_length=15)
        return read_struct(cls, Cursor(section), 8 * (len(section) - 4))

    def build(self) -> bytes:
        """The section bytes, CRC_32 included."""
        if self.section_length > 1021:
            raise StreamError(
                f"SDT section of {self.section_length + 3} bytes exceeds 1024", structure=SDT_NAME
            )
        return with_crc(encode_struct(self))

    def named(self, name: str, provider: str = "") -> Sdt:
        """This SDT with every service named ``name`` by ``provider``."""
        return replace(self, services=[s.named(name, provider) for s in self.services])


def _content(section: bytes) -> bytes:
    """A long section without its version_number and CRC_32 (what a version stands for)."""
    return section[:5] + bytes([section[5] & 0xC1]) + section[6:-4]


def _set_version(section: bytes, version: int) -> bytes:
    head = section[:5] + bytes([(section[5] & 0xC1) | ((version & 0x1F) << 1)])
    return with_crc(head + section[6:-4])


# ----------------------------------------------------------------------------- the stage


NULL_PACKET = bytes([SYNC_BYTE, 0x1F, 0xFF, 0x10]) + b"\xff" * 184


class ServiceNamer:
    """Streaming stage: every service in the SDT gets ``name`` and ``provider``.

    ``out = namer.feed(chunk)`` ... ``out = namer.flush()``; any chunking, a partial packet
    waits for the next feed. Each SDT section on PID 0x11 (table_id 0x42) is replaced where
    it completes by one that names every service in it; transport_stream_id,
    original_network_id, service ids, flags and other descriptors stay. Its version_number
    is the input's, plus one when the names changed the content, and stays the same while
    the content does. This stage owns PID 0x11's continuity_counter (other sections there,
    e.g. a BAT, are re-sent unchanged with it). Where the input carries no SDT at all, one
    is sent about every 500 ms of PCR time (service ids: the PAT's program_numbers), in
    the place of a null packet when one is near, else inserted.
    """

    def __init__(self, name: str, provider: str = "", *, interval: float = 0.5) -> None:
        for label, value in (("name", name), ("provider", provider)):
            if len(encode_string(value)) > 255:
                raise InvalidFieldError(
                    f"service {label} is more than 255 bytes", structure="service_descriptor"
                )
        self.name = name
        self.provider = provider
        self.interval = round(interval * PCR_HZ)
        self._out = SectionPacketizer(SDT_PID)
        self._demux = Demux(self, section_pids=(SDT_PID,), sizes=False)
        self._sdt_sections: dict[int, list[bytes]] = {}  # stream offset -> sections it ends
        self._aligner = PacketAligner()
        self._cache: dict[bytes, bytes] = {}
        # per (table_id, transport_stream_id, original_network_id, section_number):
        # (content, version) of the last section sent
        self._sent: dict[tuple[int, ...], tuple[bytes, int]] = {}
        self.input_has_sdt = False
        self._pcr_pid: int | None = None
        self._pcr_last: int | None = None
        self._elapsed = 0  # PCR ticks since the first PCR (jumps counted as nothing)
        self._next_due: int | None = None
        self._pending: tuple[int, bytes] | None = None  # (rows still to search, section)
        self._has_nulls = False
        self.sections_rewritten = 0
        self.sections_inserted = 0

    def __repr__(self) -> str:
        return (
            f"<ServiceNamer name={self.name!r} provider={self.provider!r} "
            f"rewritten={self.sections_rewritten} inserted={self.sections_inserted}>"
        )

    # ------------------------------------------------------------------ public face

    def feed(self, data: bytes | bytearray | memoryview) -> bytes:
        """Take TS bytes (any amount); return the bytes ready to go out."""
        out: list[bytes | memoryview] = []
        for piece, rows, head in self._aligner.split(data):
            if rows is None:
                out.append(piece)  # not TS: passed on as it is
            else:
                self._process(piece, 0, rows, head, out)
        return b"".join(out)

    def flush(self) -> bytes:
        """End of stream: an SDT still looking for a null packet, then what is left (a
        partial packet) unchanged."""
        rest, self._aligner.tail = self._aligner.tail, b""
        if self._pending is not None:
            rest = b"".join(self._out.packets(self._pending[1])) + rest
            self._pending = None
            self.sections_inserted += 1
        return rest

    # ------------------------------------------------------------------ per chunk

    def _process(self, buf: bytes, pos: int, rows, head, out: list[bytes]) -> None:
        pid = (head >> 8) & 0x1FFF
        edits: dict[int, list[bytes] | None] = {}  # row -> packets in its place
        inserts: dict[int, list[bytes]] = {}  # row -> packets before it
        base = self._demux.offset
        self._demux.packets(rows, head)  # the PAT, and the SDT sections each packet ends
        ended, self._sdt_sections = self._sdt_sections, {}
        for i in np.flatnonzero(pid == SDT_PID).tolist():
            sections = ended.get(base + i * TS_PACKET_SIZE, [])
            edits[i] = self._sdt_packet(rows[i], sections)
        if self.input_has_sdt:
            self._pending = None
        else:
            self._timed_inserts(rows, head, pid, edits, inserts)
        if not edits and not inserts:
            out.append(buf[pos : pos + len(rows) * TS_PACKET_SIZE])
            return
        last = 0
        for r in sorted(set(edits) | set(inserts)):
            out.append(buf[pos + last * TS_PACKET_SIZE : pos + r * TS_PACKET_SIZE])
            out.extend(inserts.get(r, ()))
            if r in edits:
                out.extend(edits[r])
            else:
                out.append(buf[pos + r * TS_PACKET_SIZE : pos + (r + 1) * TS_PACKET_SIZE])
            last = r + 1
        out.append(buf[pos + last * TS_PACKET_SIZE : pos + len(rows) * TS_PACKET_SIZE])

    def on_section(self, pid: int, section: bytes, offset: int) -> None:
        """Demux callback: an SDT-PID section ends in the packet at ``offset``."""
        if pid == SDT_PID:
            self._sdt_sections.setdefault(offset, []).append(section)

    def _sdt_packet(self, row: np.ndarray, sections: list[bytes]) -> list[bytes]:
        """What goes out in place of one input packet on PID 0x11."""
        if not (row[3] >> 4) & 1:  # adaptation field only (a discontinuity mark)
            b = bytearray(row.tobytes())
            b[3] = (b[3] & 0xF0) | ((self._out.cc - 1) & 0x0F)  # our counter, unchanged
            return [bytes(b)]
        if not sections:
            return [NULL_PACKET]  # part of a section still coming: it goes out at its end
        return self._out.packets([self._rewrite(s) for s in sections])

    def _rewrite(self, section: bytes) -> bytes:
        new = self._cache.get(section)
        if new is not None:
            return new
        if section[0] != SDT_ACTUAL_TABLE_ID or not crc_ok(section):
            return section  # another table on the PID (or a bad one): as it was
        try:
            sdt = Sdt.parse(section)
        except Scte35Error as e:  # CRC-valid but malformed (a loop overrunning, ...)
            log.debug("SDT section not parsed (%s): passed on", e)
            return section
        self.input_has_sdt = True
        named = sdt.named(self.name, self.provider).build()
        if _content(named) != _content(section):
            named = _set_version(named, sdt.version_number + 1)
        new = self._versioned(named)
        if len(self._cache) > 64:
            self._cache.clear()
        self._cache[section] = new
        self.sections_rewritten += 1
        return new

    def _key(self, section: bytes) -> tuple[int, ...]:
        return (section[0], section[3], section[4], section[8], section[9], section[6])

    def _versioned(self, section: bytes) -> bytes:
        """One version per content, on one line: the last version sent for this section
        stays while its content does; a change that would reuse that version goes one on."""
        key = self._key(section)
        content = _content(section)
        version = (section[5] >> 1) & 0x1F
        last = self._sent.get(key)
        if last is not None:
            if last[0] == content:
                version = last[1]
            else:
                if last[1] == version:
                    version = (version + 1) & 0x1F
                self._cache.clear()  # what it holds for this section is out of date
        section = _set_version(section, version)
        self._sent[key] = (content, version)
        return section

    # ------------------------------------------------------------- inputs without an SDT

    def _timed_inserts(self, rows, head, pid, edits, inserts) -> None:
        """Due points (every ``interval`` of PCR time) and where their SDT goes: the first
        free null packet within ``NULL_NEAR`` packets after the point (in a stream that has
        null packets, looked for in the next feeds too), else inserted where that window
        starts in what is still here."""
        windows: list[tuple[int, int, bytes]] = []  # (first row, rows it may take, section)
        if self._pending is not None:
            windows.append((0, *self._pending))
            self._pending = None
        for r in self._due_rows(rows, head):
            section = self._made_section()
            if section is not None:
                windows.append((r, NULL_NEAR, section))
        if not windows:
            return
        n = len(rows)
        nulls = np.flatnonzero(pid == NULL_PID)
        self._has_nulls |= len(nulls) > 0
        for r, left, section in windows:
            near = nulls[(nulls >= r) & (nulls < r + left)]
            free = [x for x in near.tolist() if x not in edits]
            if free:
                edits[free[0]] = self._out.packets(section)
            elif r + left > n and self._has_nulls:
                self._pending = (r + left - n, section)  # the window goes on in the next feed
                continue
            else:
                inserts.setdefault(r, []).extend(self._out.packets(section))
            self.sections_inserted += 1

    def _due_rows(self, rows, head) -> list[int]:
        """Rows whose PCR (on the first PID seen with one) reaches the next due time."""
        if not ((head >> 4) & 2).any():
            return []
        t = packet_table(rows, head)
        if not len(t.pcr_index):
            return []
        if self._pcr_pid is None:
            self._pcr_pid = int(t.pid[t.pcr_index[0]])
        sel = t.pid[t.pcr_index] == self._pcr_pid
        idx = t.pcr_index[sel]
        val = t.pcr[sel]
        if not len(idx):
            return []
        prev = np.concatenate(([val[0] if self._pcr_last is None else self._pcr_last], val[:-1]))
        d = (val - prev) % PCR_WRAP
        d[d > 10 * PCR_HZ] = 0  # a new time base: no time passed
        elapsed = self._elapsed + np.cumsum(d)
        self._elapsed = int(elapsed[-1])
        self._pcr_last = int(val[-1])
        if self._next_due is None:
            self._next_due = self.interval  # the first after the input had its chance
        due = []
        j = int(np.searchsorted(elapsed, self._next_due))
        while j < len(elapsed):
            due.append(int(idx[j]))
            self._next_due = int(elapsed[j]) + self.interval
            j = int(np.searchsorted(elapsed, self._next_due))
        return due

    def _made_section(self) -> bytes | None:
        """An SDT naming the PAT's programs (None before a PAT)."""
        pat = self._demux.psi.pat
        if pat is None or not pat.pmt_pids:
            return None
        sdt = Sdt(
            transport_stream_id=pat.transport_stream_id,
            original_network_id=FFMPEG_ORIGINAL_NETWORK_ID,
            services=[SdtService(n) for n in sorted(pat.pmt_pids)],
        ).named(self.name, self.provider)
        section = sdt.build()
        cached = self._cache.get(section)
        if cached is None:
            cached = self._versioned(section)
            self._cache[section] = cached
        return cached


__all__ = [
    "SDT_PID",
    "SERVICE_DESCRIPTOR_TAG",
    "Sdt",
    "SdtService",
    "ServiceDescriptor",
    "ServiceNamer",
    "decode_string",
    "encode_string",
]
