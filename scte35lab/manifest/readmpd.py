"""``probe_mpd()``: the SCTE-35 events of a DASH MPD's EventStreams, as a table.

Schemes read: ``urn:scte:scte35:2013:xml`` (SpliceInfoSection as XML, or Signal/Binary),
``urn:scte:scte35:2014:xml+bin`` (Signal/Binary base64) and ``urn:scte:scte35:2013:bin``
(base64 in the Event body or ``messageData``). Each row has probe's cue columns, the Period
and segment the event falls in, and its signalled time (the Event's presentation time) next
to the actual time of its splice PTS on the media timeline (SCTE 214: media time carries
PTS, less the video's presentationTimeOffset). A damaged event is a row with ``problem``
and a line in the table's ``.warnings``, as is an event whose presentationTime is not
Period-relative (beyond the Period's end, or before its start) and an EventStream whose
SCTE-35-looking scheme this reader does not know.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import os
import re
import xml.etree.ElementTree as ET
from typing import Any

import pandas as pd

from scte35lab.clock import PTS_HZ, PTS_WRAP
from scte35lab.cue import Cue
from scte35lab.errors import Scte35Error, StreamError
from scte35lab.manifest.common import cue_fields, fetch, table
from scte35lab.manifest.segment import classify

log = logging.getLogger(__name__)

SCTE_SCHEMES = (
    "urn:scte:scte35:2013:xml",
    "urn:scte:scte35:2014:xml+bin",
    "urn:scte:scte35:2013:bin",
)
TOLERANCE = 1.5 / 1000
_DURATION = re.compile(
    r"^P(?:(?P<d>[\d.]+)D)?(?:T(?:(?P<h>[\d.]+)H)?(?:(?P<m>[\d.]+)M)?(?:(?P<s>[\d.]+)S)?)?$"
)


def parse_duration(text: str | None) -> float | None:
    """xs:duration (``PT1H2M3.5S``) in seconds; None when absent or unreadable."""
    if not text:
        return None
    m = _DURATION.match(text.strip())
    if m is None:
        return None
    d, h, mi, s = (float(m.group(k) or 0) for k in ("d", "h", "m", "s"))
    return d * 86400 + h * 3600 + mi * 60 + s


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(node: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in node if _local(c.tag) == name]


def probe_mpd(path_or_url: str | os.PathLike) -> pd.DataFrame:
    """Every SCTE-35 event in an MPD's EventStreams, one row per Event."""
    source = path_or_url if isinstance(path_or_url, str) else os.fspath(path_or_url)
    data = fetch(source)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise StreamError(f"{source}: not an MPD (XML does not parse: {exc})") from exc
    if _local(root.tag) != "MPD":
        raise StreamError(f"{source}: not an MPD (root element is {_local(root.tag)})")
    rows: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    start = 0.0
    periods = _children(root, "Period")
    total = parse_duration(root.get("mediaPresentationDuration"))
    for n, period in enumerate(periods):
        pstart = parse_duration(period.get("start"))
        start = pstart if pstart is not None else start
        media = _media_timeline(period)
        pdur = _period_duration(period, periods, n, start, total, media)
        pname = f"Period {period.get('id', n)}"
        for stream in _children(period, "EventStream"):
            scheme = stream.get("schemeIdUri", "")
            if scheme not in SCTE_SCHEMES:
                if "scte" in scheme.lower() and "35" in scheme:
                    warnings.append(
                        _warning(source, f"{pname}/EventStream", scheme, "scheme not read")
                    )
                continue
            scale = _int(stream.get("timescale")) or 1
            pto = _int(stream.get("presentationTimeOffset")) or 0
            for event in _children(stream, "Event"):
                row = _event_row(source, n, period, start, media, scheme, scale, pto, event)
                placement = _outside_period(event, scale, pto, start, pdur)
                if placement:
                    row["problem"] = "; ".join(p for p in (placement, row["problem"]) if p)
                rows.append(row)
                unreadable = row.get("decode_error") or row["kind"] == "damaged"
                for what in (placement, row["problem"] if unreadable else None):
                    if what:
                        element = f"{pname}/Event {event.get('id')}"
                        warnings.append(_warning(source, element, scheme, what))
        if pdur is not None:
            start += pdur
    return table(rows, warnings)


def _warning(source: str, element: str, tag: str, problem: str) -> dict[str, Any]:
    return {"source": source, "line": None, "element": element, "tag": tag, "problem": problem}


def _period_duration(
    period: ET.Element,
    periods: list[ET.Element],
    n: int,
    start: float,
    total: float | None,
    media: dict[str, Any],
) -> float | None:
    """A Period's length: its duration, else up to the next Period's start, else to the end
    of the presentation, else the end of its video SegmentTimeline."""
    pdur = parse_duration(period.get("duration"))
    if pdur is not None:
        return pdur
    if n + 1 < len(periods):
        nxt = parse_duration(periods[n + 1].get("start"))
        if nxt is not None:
            return nxt - start
    if total is not None:
        return total - start
    if len(media["starts"]) >= 2:
        return (media["starts"][-1] - media["pto"]) / media["scale"]
    return None


def _outside_period(
    event: ET.Element, scale: int, pto: int, start: float, duration: float | None
) -> str | None:
    """Why an Event's presentationTime is not Period-relative, with the numbers; or None."""
    pt = _int(event.get("presentationTime")) or 0
    offset = (pt - pto) / scale
    said = (
        f"presentationTime {pt} (timescale {scale}, presentationTimeOffset {pto}) is "
        f"{offset:.3f} s from the Period start ({start:.3f} s)"
    )
    if offset < -TOLERANCE:
        return f"{said}: before the Period begins - not Period-relative"
    if duration is not None and offset > duration + TOLERANCE:
        guess = " (it looks absolute, counted from the MPD start)" if start else ""
        return f"{said}, beyond the Period's {duration:.3f} s: not Period-relative{guess}"
    return None


def _media_timeline(period: ET.Element) -> dict[str, Any]:
    """The video SegmentTemplate's timescale, presentationTimeOffset and segment starts."""
    sets = _children(period, "AdaptationSet")
    sets.sort(
        key=lambda a: 0 if "video" in (a.get("contentType", "") + a.get("mimeType", "")) else 1
    )
    for aset in sets:
        tmpl = next(iter(aset.iter()), None)
        for node in aset.iter():
            if _local(node.tag) == "SegmentTemplate":
                tmpl = node
                break
        else:
            continue
        scale = _int(tmpl.get("timescale")) or 1
        pto = _int(tmpl.get("presentationTimeOffset")) or 0
        number = _int(tmpl.get("startNumber"))
        number = 1 if number is None else number
        starts: list[int] = []
        for tl in tmpl.iter():
            if _local(tl.tag) != "SegmentTimeline":
                continue
            t = 0
            for s in _children(tl, "S"):
                t = _int(s.get("t")) if s.get("t") is not None else t
                d = _int(s.get("d")) or 0
                for _ in range((_int(s.get("r")) or 0) + 1):
                    starts.append(t)
                    t += d
            starts.append(t)  # end of the last segment
        return {"scale": scale, "pto": pto, "number": number, "starts": starts}
    return {"scale": 1, "pto": 0, "number": 1, "starts": []}


def _event_row(
    source: str,
    period_index: int,
    period: ET.Element,
    period_start: float,
    media: dict[str, Any],
    scheme: str,
    scale: int,
    pto: int,
    event: ET.Element,
) -> dict[str, Any]:
    pt = _int(event.get("presentationTime")) or 0
    dur = _int(event.get("duration"))
    signalled = period_start + (pt - pto) / scale
    section, problem = _section(event)
    row: dict[str, Any] = {
        "source": source,
        "tag": scheme,
        "kind": "damaged",
        "id": event.get("id"),
        "signalled_time": signalled,
        "signalled_duration": None if dur is None else dur / scale,
        "uri": f"Period {period.get('id', period_index)}",
    }
    row.update(cue_fields(section))
    if section is not None:
        with contextlib.suppress(Scte35Error):  # cue_fields already says why
            row["kind"] = classify(Cue.decode(section, check_crc=False))[0]
    point = row.get("splice_point")
    if point is not None:
        # unwrap the 33-bit splice PTS near the event's own media time
        near = round((pt - pto) / scale * PTS_HZ) + media["pto"] * PTS_HZ // media["scale"]
        unwrapped = near + ((int(point) - near + PTS_WRAP // 2) % PTS_WRAP - PTS_WRAP // 2)
        actual = period_start + (unwrapped / PTS_HZ - media["pto"] / media["scale"])
        row["actual_time"] = actual
        row["splice_time"] = actual
        row["position_error"] = signalled - actual
        if abs(row["position_error"]) > TOLERANCE and problem is None:
            problem = f"event at {signalled:.3f} s, splice point at {actual:.3f} s"
    row["segment"] = _segment_of(media, signalled - period_start)
    if row["segment"] is not None:
        k = row["segment"] - media["number"]
        row["segment_start"] = period_start + (media["starts"][k] - media["pto"]) / media["scale"]
    if row.get("decode_error") and problem is None:
        problem = row["decode_error"]
    row["problem"] = problem
    return row


def _segment_of(media: dict[str, Any], t: float) -> int | None:
    starts = media["starts"]
    if len(starts) < 2:
        return None
    ticks = t * media["scale"] + media["pto"]
    for k in range(len(starts) - 1):
        if starts[k] - 1 <= ticks < starts[k + 1] - 1:
            return media["number"] + k
    return None


def _section(event: ET.Element) -> tuple[bytes | None, str | None]:
    """The splice_info_section an Event carries, or the reason it cannot be had."""
    try:
        for node in event.iter():
            name = _local(node.tag)
            if name == "Binary":
                return base64.b64decode((node.text or "").strip(), validate=True), None
            if name == "SpliceInfoSection":
                return Cue.from_xml(ET.tostring(node, encoding="unicode")).encode(), None
        text = event.get("messageData") or (event.text or "").strip()
        if text:
            return base64.b64decode(text, validate=True), None
    except (binascii.Error, ValueError) as exc:
        return None, f"Event {event.get('id')}: bad base64: {exc}"
    except Scte35Error as exc:
        return None, f"Event {event.get('id')}: bad SCTE 35 XML: {exc}"
    return None, f"Event {event.get('id')}: carries no SCTE-35 section"


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None
