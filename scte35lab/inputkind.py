"""What an input is, from its first bytes: MPEG-TS, or what it looks like instead.

Every reader of captures (probe, verify, inject, condition, HLS/DASH packaging) asks here
first, so an MP4, a playlist or an empty file is said to be one, in one line, instead of
being read as a transport stream with no packets. MPEG-TS is what ``probe`` reads: runs of
the 0x47 sync byte at a 188-, 192- (M2TS) or 204-byte stride, also when the capture starts
mid-packet or ends in a cut packet.

A base module: it imports nothing of ours but ``errors``, so every layer may use it.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import Any, BinaryIO

from scte35lab.errors import NotTransportStreamError, StreamError

HEAD_BYTES = 256 << 10
"""How much of an input is looked at."""

KINDS = ("ts", "mp4", "flv", "m3u8", "mpd", "text", "empty", "short", "binary")
_SYNC = 0x47
_PACKET_SIZES = (188, 192, 204)
_RUN = 5  # sync bytes in a row at one stride that make a transport stream
# ISO/IEC 14496-12 top-level boxes a file or a CMAF segment may start with
_BOXES = frozenset(b"ftyp styp moof moov sidx free skip mdat wide pdin emsg prft uuid meta".split())
# what some other binary formats start with, to name them
_MAGIC = (
    (b"\x1a\x45\xdf\xa3", "a Matroska/WebM file"),
    (b"RIFF", "a RIFF (AVI/WAV) file"),
    (b"ID3", "an MP3 file (ID3 tag)"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"OggS", "an Ogg file"),
    (b"\x00\x00\x00\x01", "a raw elementary stream (Annex B start code), not packetised"),
    (b"\x00\x00\x01\xba", "an MPEG program stream (pack header)"),
    (b"\xfc", "a bare SCTE-35 section, not packets (decode it with `scte35lab decode`)"),
)


@dataclass(frozen=True)
class InputKind:
    """What an input looks like.

    ``kind`` is one of :data:`KINDS`; ``description`` says it in words ("an MP4/ISO BMFF file
    (ftyp box)"); ``size`` is the bytes looked at (the whole input when it is shorter than
    :data:`HEAD_BYTES`); ``packet_size`` and ``offset`` say where the first TS packet is.
    """

    kind: str
    description: str
    size: int
    packet_size: int | None = None
    offset: int | None = None

    @property
    def is_ts(self) -> bool:
        return self.kind == "ts"

    def message(self, name: str) -> str:
        """One line for a user: "clip.mp4 is an MP4/ISO BMFF file, not MPEG-TS"."""
        return f"{name} is {self.description}, not MPEG-TS"


def sniff(head: bytes | bytearray | memoryview) -> InputKind:
    """What the first bytes of an input say it is (give :data:`HEAD_BYTES` or all of it)."""
    data = bytes(head[:HEAD_BYTES])
    n = len(data)
    if n == 0:
        return InputKind("empty", "empty (0 bytes)", 0)
    if data[0] == _SYNC:
        found = _sync_at(data, 0)
        if found is not None:
            return _ts(found, 0, n)
    if n >= 8 and data[4:8] in _BOXES:
        box = data[4:8].decode("ascii")
        return InputKind("mp4", f"an MP4/ISO BMFF file ({box} box)", n)
    if data[:3] == b"FLV":
        return InputKind("flv", "an FLV file", n)
    for q in _candidates(data):
        found = _sync_at(data, q)
        if found is not None:
            return _ts(found, q, n)
    text = _text(data)
    if text is not None:
        return _text_kind(text, n)
    if n < 188:
        return InputKind("short", f"too short ({n} bytes, less than one 188-byte packet)", n)
    for magic, what in _MAGIC:
        if data.startswith(magic):
            return InputKind("binary", what, n)
    return InputKind("binary", f"unknown binary data (starts {data[:8].hex(' ')})", n)


def input_kind(source: Any) -> InputKind:
    """What ``source`` (a path, bytes, or a seekable binary file) is; the file is left
    where it was."""
    if isinstance(source, bytes | bytearray | memoryview):
        return sniff(source)
    if isinstance(source, str | os.PathLike):
        try:
            with open(source, "rb") as f:
                return sniff(f.read(HEAD_BYTES))
        except OSError as exc:
            raise StreamError(f"cannot open {os.fspath(source)!r}: {exc.strerror}") from exc
    pos = source.tell()
    head = source.read(HEAD_BYTES)
    source.seek(pos)
    return sniff(head)


def look(source: Any) -> tuple[InputKind, Any]:
    """What ``source`` is, and a source that still reads from where it began.

    Paths and bytes come back as they are; a seekable file is put back where it was; a pipe
    (stdin) comes back as a reader that gives the bytes looked at first, then the rest.
    """
    if isinstance(source, bytes | bytearray | memoryview | str | os.PathLike):
        return input_kind(source), source
    seekable = getattr(source, "seekable", None)
    if seekable is not None and seekable():
        return input_kind(source), source
    head = _read_up_to(source, HEAD_BYTES)
    return sniff(head), _Rejoined(head, source)


def require_ts(source: Any, name: str | None = None) -> Any:
    """``source`` ready to read, when it is MPEG-TS; else :class:`NotTransportStreamError`
    with one line naming what it looks like instead."""
    kind, ready = look(source)
    if not kind.is_ts:
        raise NotTransportStreamError(kind.message(name or source_name(source)), kind=kind)
    return ready


def source_name(source: Any) -> str:
    """How to name an input in a message: its path, its file name, or "the input"."""
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    name = getattr(source, "name", None)
    if isinstance(name, str) and name:
        return name
    return "the input"


# ----------------------------------------------------------------------------- internals


def _candidates(data: bytes) -> list[int]:
    out = []
    q = data.find(bytes([_SYNC]))
    while q != -1:
        out.append(q)
        q = data.find(bytes([_SYNC]), q + 1)
    return out


def _sync_at(data: bytes, q: int) -> int | None:
    """The packet size whose sync bytes run from ``q``: five in a row, or every whole
    packet left when fewer remain (at least two, or one at the very start)."""
    n = len(data)
    for size in _PACKET_SIZES:
        avail = (n - q) // size
        need = min(_RUN, avail)
        if need == 0 or (need == 1 and q != 0):
            continue
        if all(data[q + k * size] == _SYNC for k in range(need)):
            return size
    return None


def _ts(size: int, offset: int, n: int) -> InputKind:
    what = {188: "MPEG-TS", 192: "MPEG-TS (M2TS, 192-byte packets)", 204: "MPEG-TS (204-byte)"}
    return InputKind("ts", what[size], n, packet_size=size, offset=offset)


def _text(data: bytes) -> str | None:
    """``data`` as text when it is text (UTF-8 or Latin-1 without control bytes)."""
    if b"\x00" in data:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(data) - 4:  # not just a character cut at the end of the head
            return None
        text = data[: exc.start].decode("utf-8")
    control = sum(1 for c in text[:4096] if ord(c) < 32 and c not in "\t\n\r\f")
    return None if control else text


def _text_kind(text: str, n: int) -> InputKind:
    start = text.lstrip("\ufeff \t\r\n")
    if start.startswith("#EXTM3U"):
        return InputKind("m3u8", "an HLS playlist (#EXTM3U)", n)
    if start.startswith("<") and "<MPD" in start[:4096]:
        return InputKind("mpd", "a DASH MPD (XML)", n)
    if start.startswith("<"):
        return InputKind("text", "an XML or HTML document", n)
    first = start.splitlines()[0][:40] if start else ""
    return InputKind("text", f"text (starts {first!r})", n)


def _read_up_to(f: BinaryIO, n: int) -> bytes:
    parts = []
    got = 0
    while got < n:
        chunk = f.read(n - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


class _Rejoined(io.RawIOBase):
    """A read-only stream: ``head`` first, then the rest of ``rest``."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = memoryview(head)
        self._rest = rest
        self.name = getattr(rest, "name", None)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        out = memoryview(buffer).cast("B")
        if self._head:
            k = min(len(out), len(self._head))
            out[:k] = self._head[:k]
            self._head = self._head[k:]
            return k
        data = self._rest.read(len(out))
        out[: len(data)] = data
        return len(data)


__all__ = [
    "HEAD_BYTES",
    "KINDS",
    "InputKind",
    "input_kind",
    "look",
    "require_ts",
    "sniff",
    "source_name",
]
