"""The error types every layer raises: one hierarchy, so callers catch ``Scte35Error``."""

from __future__ import annotations


class Scte35Error(ValueError):
    """Base class: something about SCTE-35 data, a stream or a component is wrong.

    ``structure``, ``field`` and ``bit`` say where, when known, so a message can point at the
    exact syntax element of ANSI/SCTE 35 that failed.
    """

    def __init__(
        self,
        message: str,
        *,
        structure: str | None = None,
        field: str | None = None,
        bit: int | None = None,
    ) -> None:
        self.structure = structure
        self.field = field
        self.bit = bit
        where = ".".join(p for p in (structure, field) if p)
        if bit is not None:
            where = f"{where} at bit {bit}" if where else f"at bit {bit}"
        super().__init__(f"{where}: {message}" if where else message)


class TruncatedError(Scte35Error):
    """The data ends before the structure it declares."""


class LengthMismatchError(Scte35Error):
    """A length field disagrees with the bytes it covers."""


class CrcError(Scte35Error):
    """A CRC_32 does not match the bytes it protects."""


class InvalidFieldError(Scte35Error):
    """A field holds a value the standard does not allow, or cannot be encoded."""


class InputFormatError(Scte35Error):
    """Input is not in any form we accept (bytes, base64, hex, TS packets, JSON, XML)."""


class StreamError(Scte35Error):
    """An MPEG-TS stream cannot be read or written as asked."""


class ComponentError(Scte35Error):
    """An external component (FFmpeg, SRT, RTMP server) is missing or failed."""


class NotTransportStreamError(StreamError):
    """The input is not MPEG-TS: the message says what it looks like instead (MP4, text...).

    ``kind`` is the :class:`scte35lab.inputkind.InputKind` the input was recognised as.
    """

    def __init__(self, message: str, *, kind: object = None) -> None:
        self.kind = kind
        super().__init__(message)


class UnfragmentedMp4Error(StreamError):
    """An ISO BMFF file whose moov has no mvex: a plain MP4, not fragmented (CMAF) MP4."""


class CuesNotPlacedError(Scte35Error):
    """Some cues asked for were not placed (``inject(..., strict=True)``).

    ``report`` is the placement report (one row per cue, ``status`` and ``reason``); the
    output was not written.
    """

    def __init__(self, message: str, *, report: object = None) -> None:
        self.report = report
        super().__init__(message)
