"""Fragmented MP4 / CMAF read into the scan result ``probe()`` tables for a transport stream, so
that ``verify()`` checks cues carried in ``emsg`` boxes or an event message track unchanged.

A source is one fMP4 file, a list of files (an init segment and its media segments), or an
HLS playlist / DASH MPD whose segments are fMP4. Each track is a row of ``.pids`` (``pid`` is
``256 * n + track_ID`` for the n-th file sequence; the first sequence keeps the track_ID);
``.frames`` come from the sample tables (``keyframe``: ``sample_is_non_sync_sample`` is 0);
``.cues`` has a row per SCTE-35 event message (``carriage`` ``emsg`` or ``event_track``) whose
arrival is the earliest presentation time of the segment that carries it (an event track
sample's own time) and whose splice point is the message's presentation time, where a player
acts on it (the other columns come from the section, as in TS). A message whose presentation
time is not the section's own splice point is also an ``errors`` row.
"""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from typing import Any

import numpy as np

from scte35lab.clock import PTS_HZ, PTS_WRAP, pts_diff
from scte35lab.cue import Cue
from scte35lab.cue.crc import crc32_mpeg2
from scte35lab.errors import Scte35Error, StreamError
from scte35lab.mp4.boxes import NON_SYNC
from scte35lab.mp4.read import (
    SCTE35_SCHEMES,
    Fragmented,
    Message,
    is_iso_bmff,
    read_fragmented,
)
from scte35lab.ts.scan import PidInfo, ScanResult

MPD_NS = "{urn:mpeg:dash:schema:mpd:2011}"
_MANIFEST = (".m3u8", ".m3u", ".mpd")
FETCH_TIMEOUT = 10.0


def _is_url(path: str) -> bool:
    return urllib.parse.urlsplit(path).scheme in ("http", "https")


def _is_manifest(path: str) -> bool:
    return urllib.parse.urlsplit(path).path.lower().endswith(_MANIFEST)


def is_fmp4_source(source: Any) -> bool:
    """Whether ``probe()`` should read ``source`` as fMP4: a list of files, bytes or a file
    that begin with an ISO BMFF box, or a playlist/MPD whose segments are fMP4."""
    if isinstance(source, list | tuple):
        return True
    if isinstance(source, bytes | bytearray | memoryview):
        return is_iso_bmff(bytes(source[:8]))
    if hasattr(source, "read") and hasattr(source, "seek"):
        try:
            pos = source.tell()
            head = source.read(8)
            source.seek(pos)
        except (OSError, ValueError):
            return False  # not seekable: left to the TS reader
        return is_iso_bmff(bytes(head))
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        if _is_manifest(path):
            try:
                return bool(_manifest_parts(path))
            except (OSError, StreamError, ET.ParseError, UnicodeDecodeError):
                return False
        if _is_url(path):
            try:
                return is_iso_bmff(_read(path)[:8])
            except StreamError:
                return False
        try:
            with open(path, "rb") as f:
                return is_iso_bmff(f.read(8))
        except OSError:
            return False
    return False


def scan_fmp4(source: Any) -> ScanResult:
    """Read an fMP4/CMAF source into a scan result (see the module docstring); its cues carry
    their own ``arrival_pts`` (segment start), which ``Probe`` takes as given."""
    sequences, _ = file_sequences(source)
    result = ScanResult(packet_columns={})
    frames: dict[str, list[np.ndarray]] = {}
    base = 0
    for n, parts in enumerate(sequences):
        if not parts or not is_iso_bmff(parts[0][:8]):
            raise StreamError("not fragmented MP4: the first file does not start with an MP4 box")
        frag = read_fragmented(parts)
        _add(result, frag, n, base, frames)
        base += frag.size
    result.bytes = base
    result.frames = {k: np.concatenate(v) for k, v in frames.items()}
    return result


def file_sequences(source: Any) -> tuple[list[list[bytes]], str]:
    """The file sequences to read (each: init and media segments, in order), and a name."""
    if isinstance(source, bytes | bytearray | memoryview):
        return [[bytes(source)]], f"<{type(source).__name__}>"
    if isinstance(source, list | tuple):
        if not source:
            raise StreamError("probe: an empty list of fMP4 files")
        head = source[0] if isinstance(source[0], str | os.PathLike) else "<bytes>"
        return [[_read(s) for s in source]], f"{os.fspath(head)} (+{len(source) - 1} files)"
    if hasattr(source, "read"):
        return [[bytes(source.read())]], f"<{type(source).__name__}>"
    path = os.fspath(source)
    if _is_manifest(path):
        groups = _manifest_parts(path)
        if not groups:
            raise StreamError(f"{path}: its segments are not fMP4 (no init segment)")
        return [[_read(f) for f in g] for g in groups], path
    return [[_read(path)]], path


def _read(location: Any) -> bytes:
    """The bytes of a path or http(s) URL (bytes pass through); a clear error if unreadable."""
    if isinstance(location, bytes | bytearray | memoryview):
        return bytes(location)
    if isinstance(location, str) and _is_url(location):
        try:
            with urllib.request.urlopen(location, timeout=FETCH_TIMEOUT) as resp:
                return resp.read()
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise StreamError(f"cannot fetch {location}: {exc}") from exc
    try:
        with open(location, "rb") as f:
            return f.read()
    except OSError as exc:
        raise StreamError(f"cannot read {location}: {exc}") from exc


def _manifest_parts(path: str) -> list[list[str]]:
    """Init + media segment paths of each fMP4 rendition a playlist or MPD names."""
    if path.lower().endswith(".mpd"):
        return _mpd_parts(path)
    return _playlist_parts(path)


def _join(base: str, ref: str) -> str:
    """A URI in a manifest, resolved against the manifest's own location."""
    if _is_url(ref) or os.path.isabs(ref):
        return ref
    if _is_url(base):
        return urllib.parse.urljoin(base, ref)
    return os.path.join(os.path.dirname(base), ref)


def _playlist_parts(path: str) -> list[list[str]]:
    lines = [ln.strip() for ln in _read(path).decode("utf-8").splitlines()]
    if lines[:1] != ["#EXTM3U"]:
        raise StreamError(f"{path}: not an HLS playlist")
    if any(ln.startswith("#EXT-X-STREAM-INF") for ln in lines):
        out: list[list[str]] = []
        for i, ln in enumerate(lines):
            uri = None
            if ln.startswith("#EXT-X-STREAM-INF") and i + 1 < len(lines):
                uri = lines[i + 1]
            elif ln.startswith("#EXT-X-MEDIA") and 'URI="' in ln:
                uri = re.search(r'URI="([^"]+)"', ln).group(1)
            if uri:
                out += _playlist_parts(_join(path, uri))
        return out
    init = None
    media: list[str] = []
    for ln in lines:
        if ln.startswith("#EXT-X-MAP"):
            m = re.search(r'URI="([^"]+)"', ln)
            init = m.group(1) if m else None
        elif ln and not ln.startswith("#"):
            media.append(_join(path, ln))
    if init is None:
        return []
    return [[_join(path, init), *media]]


def _mpd_parts(path: str) -> list[list[str]]:
    root = ET.fromstring(_read(path))
    if root.tag != f"{MPD_NS}MPD":
        raise StreamError(f"{path}: not an MPD")
    out: list[list[str]] = []
    period = root.find(f"{MPD_NS}Period")
    for aset in period.findall(f"{MPD_NS}AdaptationSet") if period is not None else []:
        rep = aset.find(f"{MPD_NS}Representation")
        tmpl = aset.find(f".//{MPD_NS}SegmentTemplate")
        if rep is None or tmpl is None or tmpl.get("initialization") is None:
            continue
        rid = rep.get("id", "")
        number = int(tmpl.get("startNumber", "1"))
        names = [tmpl.get("initialization").replace("$RepresentationID$", rid)]
        t = 0
        for s in tmpl.iterfind(f"{MPD_NS}SegmentTimeline/{MPD_NS}S"):
            t = int(s.get("t", t))
            for _ in range(int(s.get("r", "0")) + 1):
                names.append(_media_name(tmpl.get("media"), rid, number, t))
                number += 1
                t += int(s.get("d"))
        out.append([_join(path, n) for n in names])
    return out


def _media_name(template: str, rid: str, number: int, time: int) -> str:
    def fill(m: re.Match) -> str:
        key, fmt = m.group(1), m.group(2)
        value = number if key == "Number" else time
        return (fmt % value) if fmt else str(value)

    text = template.replace("$RepresentationID$", rid)
    return re.sub(r"\$(Number|Time)(%0\d+d)?\$", fill, text)


def _add(
    result: ScanResult,
    frag: Fragmented,
    n: int,
    base: int,
    frames: dict[str, list[np.ndarray]],
) -> None:
    """Put one file sequence's tracks, samples and messages into the scan result."""
    pid_of = {tid: 256 * n + tid for tid in frag.tracks}
    for tid, track in frag.tracks.items():
        pid = pid_of[tid]
        if pid >= 8192:
            raise StreamError(f"track_ID {tid} is too large to be tabled")
        carriage = "event_track" if track.role == "scte35" else None
        result.pid_info[pid] = PidInfo(pid, track.role, 1, None, track.codec, None, carriage)
    s = frag.samples
    count0 = result.packets
    for tid in frag.tracks:
        result.counts[pid_of[tid]] += int((s["track_id"] == tid).sum())
    result.packets += len(s["track_id"])
    scale = np.array([frag.tracks[t].timescale for t in s["track_id"].tolist()], dtype=np.int64)
    pts90 = (s["pts"] * PTS_HZ + scale // 2) // np.maximum(scale, 1)
    dts90 = (s["decode"] * PTS_HZ + scale // 2) // np.maximum(scale, 1)
    key = (s["flags"] & NON_SYNC) == 0
    roles = [frag.tracks[t].role for t in s["track_id"].tolist()]
    is_video = np.array([r == "video" for r in roles], dtype=bool)
    cols = {
        "pid": np.array([pid_of[t] for t in s["track_id"].tolist()], dtype=np.int64),
        "packet": s["ordinal"] + count0,
        "offset": s["offset"] + base,
        "pts": pts90 % PTS_WRAP,
        "dts": dts90 % PTS_WRAP,
        "size": s["size"],
        "keyframe": key & is_video,
        "random_access": key,
        "recovery_point": np.zeros(len(key), dtype=bool),
        "picture_type": np.array([None] * len(key), dtype=object),
        "stream_id": np.zeros(len(key), dtype=np.uint8),
    }
    for k, v in cols.items():
        frames.setdefault(k, []).append(v)
    errors = result.errors
    for err in frag.errors:
        errors.append({**err, "offset": None if err["offset"] is None else err["offset"] + base})
    for msg in frag.messages:
        if msg.scheme_id_uri not in SCTE35_SCHEMES:
            continue
        section = msg.message_data
        pid = pid_of.get(msg.track_id, 256 * n) if msg.track_id is not None else 256 * n
        result.cues.append(
            {
                "packet": count0 + msg.ordinal,
                "offset": base + msg.offset,
                "pid": pid,
                "carriage": msg.carriage,
                "pes_pts": None,
                "section": section,
                "crc_ok": len(section) >= 4 and crc32_mpeg2(section) == 0,
                "arrival_pts": None if msg.arrival is None else msg.arrival % PTS_WRAP,
                "splice_point": None if msg.time is None else msg.time % PTS_WRAP,
            }
        )
        _check_time(msg, section, errors, base, pid)


def _check_time(
    msg: Message, section: bytes, errors: list[dict[str, Any]], base: int, pid: int
) -> None:
    """An event message's presentation time must be the section's own splice point."""
    if msg.time is None:
        return
    try:
        point = Cue.decode(section, check_crc=False).splice_point
    except Scte35Error:
        return  # the cue row already says why the section does not decode
    if point is None or pts_diff(msg.time % PTS_WRAP, point) == 0:
        return
    errors.append(
        {
            "type": f"{msg.carriage}_time_mismatch",
            "priority": 2,
            "packet": None,
            "offset": base + msg.offset,
            "pid": pid,
            "detail": (
                f"{msg.carriage} presentation time {msg.time % PTS_WRAP} is not the section's "
                f"splice point {point} ({pts_diff(msg.time % PTS_WRAP, point) / PTS_HZ:+.3f} s)"
            ),
        }
    )


__all__ = ["file_sequences", "is_fmp4_source", "scan_fmp4"]
