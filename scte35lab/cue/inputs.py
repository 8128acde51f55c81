"""Recognise the forms a cue arrives in and turn each into section bytes (or a dict / XML)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from scte35lab.errors import InputFormatError, TruncatedError

TS_PACKET = 188
_HEX = re.compile(r"^(0x)?[0-9a-f\s]+$", re.IGNORECASE)
_B64 = re.compile(r"^[A-Za-z0-9+/=\s_-]+$")


def section_bytes_from(data: Any) -> tuple[str, Any]:
    """Classify ``data``: ("section", bytes) | ("dict", dict) | ("xml", str)."""
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        if not raw:
            raise InputFormatError("empty input: no section to decode")
        if raw[0] == 0x47 and len(raw) >= TS_PACKET:
            return "section", section_from_ts(raw)
        if raw[0] == 0xFC:
            return "section", raw
        text = _as_text(raw)
        if text is None:
            raise InputFormatError(
                f"bytes start with 0x{raw[0]:02X}: neither a splice_info_section (table_id "
                "0xFC) nor TS packets (sync byte 0x47)"
            )
        data = text
    if isinstance(data, str):
        return _from_text(data)
    if isinstance(data, dict):
        return "dict", data
    raise InputFormatError(f"cannot decode a cue from {type(data).__name__}")


def _as_text(raw: bytes) -> str | None:
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        return None
    return text or None


def _from_text(text: str) -> tuple[str, Any]:
    s = text.strip()
    fast = _section_text(s)
    if fast is not None:
        return ("section", fast) if fast[0] == 0xFC else section_bytes_from(fast)
    if not s:
        raise InputFormatError("empty input: no section to decode")
    if s.startswith("<"):
        return "xml", s
    if s.startswith("{"):
        return "dict", parse_json(s)
    if _HEX.match(s) and (s.lower().startswith("0x") or s[:2].lower() in ("fc", "47")):
        digits = re.sub(r"\s+", "", s[2:] if s.lower().startswith("0x") else s)
        if len(digits) % 2:
            raise InputFormatError(f"hex input has an odd number of digits ({len(digits)})")
        return section_bytes_from(bytes.fromhex(digits))
    if _B64.match(s):
        compact = re.sub(r"\s+", "", s)
        try:
            if "-" in compact or "_" in compact:
                raw = base64.urlsafe_b64decode(compact + "=" * (-len(compact) % 4))
            else:
                raw = base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InputFormatError(f"not valid base64: {exc}") from exc
        if not raw:
            raise InputFormatError("base64 input decodes to no bytes")
        if raw[0] not in (0xFC, 0x47):
            raise InputFormatError(
                f"base64 decodes to bytes starting 0x{raw[0]:02X}, not a section (0xFC)"
            )
        return section_bytes_from(raw)
    raise InputFormatError("input is not base64, hex, JSON or XML")


def _section_text(s: str) -> bytes | None:
    """The bytes of a section written as plain hex (``0x`` optional) or strict base64, the
    forms cues usually come in; None for anything else, which ``_from_text`` then
    classifies (and explains when it is not a cue)."""
    head = s[:2].lower()
    try:
        if head == "0x":
            raw = bytes.fromhex(s[2:])
        elif head in ("fc", "47"):
            raw = bytes.fromhex(s)
        else:
            raw = binascii.a2b_base64(s, strict_mode=True)
    except ValueError:  # binascii.Error is a ValueError
        return None
    return raw if raw and raw[0] in (0xFC, 0x47) else None


def parse_json(text: str) -> dict[str, Any]:
    """JSON text to a dict, with errors as ``InputFormatError``."""
    try:
        d = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFormatError(f"invalid JSON: {exc}") from exc
    if not isinstance(d, dict):
        raise InputFormatError("JSON input must be an object")
    return d


def section_from_ts(raw: bytes) -> bytes:
    """The first splice_info_section carried in a run of 188-byte TS packets."""
    pid = None
    buf = bytearray()
    need = None
    for off in range(0, len(raw) - TS_PACKET + 1, TS_PACKET):
        pkt = raw[off : off + TS_PACKET]
        if pkt[0] != 0x47:
            raise InputFormatError(f"TS sync byte missing at offset {off}")
        pusi = bool(pkt[1] & 0x40)
        this_pid = ((pkt[1] & 0x1F) << 8) | pkt[2]
        afc = (pkt[3] >> 4) & 0x3
        if not afc & 1:
            continue
        start = 4
        if afc & 2:
            start += 1 + pkt[4]
        payload = pkt[start:]
        if pid is None:
            if not pusi or not payload:
                continue
            pid = this_pid
            pointer = payload[0]
            payload = payload[1 + pointer :]
        elif this_pid != pid:
            continue
        buf += payload
        if need is None and len(buf) >= 3:
            need = (((buf[1] & 0x0F) << 8) | buf[2]) + 3
        if need is not None and len(buf) >= need:
            return bytes(buf[:need])
    if pid is None:
        raise InputFormatError("no TS packet starts a section (payload_unit_start_indicator)")
    raise TruncatedError(
        f"TS packets end before the section does ({len(buf)} of {need} bytes)",
        structure="splice_info_section",
    )
