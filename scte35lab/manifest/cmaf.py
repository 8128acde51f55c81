"""CMAF packaging with SCTE-35 in ``emsg`` boxes (and optionally an event message track): one
set of fMP4 segments that both an MPD and HLS playlists point at.

The media come from the DASH path (:func:`scte35lab.manifest.dash.write_media`: FFmpeg's
muxer, video cut where HLS packaging cuts it, a boundary at every splice point on an IDR), with
the video track on a 90 kHz timescale so media time is the stream's own PTS. Each distinct cue
becomes an ``emsg`` (scheme ``urn:scte:scte35:2013:bin``, the splice_info_section as
message_data) in the segment where the cue first arrives and in every later one that starts
before its splice point, as the repeats in TS. Version 1 (default) gives the splice point as
``presentation_time`` on the track timeline; version 0 gives it as ``presentation_time_delta``
from the segment's earliest presentation time. ``event_duration`` is the break or segmentation
duration; ``id`` is the event id, made unique where an out and its in share one (a player
takes two messages with one id as one event). The MPD signals ``InbandEventStream``; the HLS
playlists keep ``#EXT-X-DATERANGE`` for the same cues.

:func:`scte35lab.manifest.capture.cmaf_to_ts` goes the other way: the media remuxed to TS,
and the sections carried in ``emsg`` boxes or an event track injected unchanged on a SCTE-35
PID.
"""

from __future__ import annotations

import base64
import copy
import logging
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from scte35lab.clock import PTS_HZ, pts_diff
from scte35lab.errors import ComponentError, Scte35Error
from scte35lab.manifest.dash import MPD_NS, _add_event_streams, _timeline, write_media
from scte35lab.manifest.hls import TAGS, HlsWriter
from scte35lab.manifest.probed import ProbedCapture, distinct_cues
from scte35lab.manifest.segment import CueEvent, Segment, classify
from scte35lab.mp4 import boxes as bx
from scte35lab.mp4.write import (
    NO_DURATION,
    SCHEME,
    emsg,
    event_sample,
    event_track_init,
    event_track_segment,
    insert_emsg,
)

log = logging.getLogger(__name__)

TIMESCALE = PTS_HZ  # the video track's, so that media time is PTS


@dataclass
class CmafPackage:
    """What :func:`package_cmaf` wrote: the MPD, the HLS playlist, and a row per ``emsg``."""

    mpd: Path
    playlist: Path
    events: pd.DataFrame

    def __repr__(self) -> str:
        return f"<CmafPackage {self.mpd.parent}: {len(self.events)} event messages>"


@dataclass
class _Cue:
    event: CueEvent
    id: int


def check_cmaf_options(emsg_version: int, emsg_boxes: bool, event_track: bool, hls_tags) -> None:
    """``ValueError`` naming the first of :func:`write_cmaf`'s options that cannot work."""
    if emsg_version not in (0, 1):
        raise ValueError(f"emsg_version must be 0 or 1, got {emsg_version!r}")
    if not emsg_boxes and not event_track:
        raise ValueError("nothing would carry the cues: set emsg_boxes or event_track")
    unknown = set(hls_tags) - set(TAGS)
    if unknown:
        raise ValueError(f"unknown HLS cue tag style(s) {sorted(unknown)}; use {TAGS}")


def write_cmaf(
    src: str | os.PathLike,
    p: ProbedCapture,
    out_dir: str | os.PathLike,
    *,
    segment: float = 2.0,
    emsg_version: int = 1,
    emsg_boxes: bool = True,
    event_track: bool = False,
    hls_tags: tuple[str, ...] = ("daterange",),
    mpd: str = "manifest.mpd",
    playlist: str = "master.m3u8",
    timeout: float = 600.0,
) -> CmafPackage:
    """Package the TS capture ``src``, already probed as ``p``, as CMAF with its cues as
    ``emsg`` boxes (version ``emsg_version``, 1 or 0) and/or, with ``event_track=True``, an
    ISO/IEC 23001-18 event message track; :func:`scte35lab.manifest.package_cmaf` probes and
    calls this.

    Writes ``init-video.m4s`` / ``video-NNNNN.m4s`` (and audio, and ``init-event.m4s`` /
    ``event-NNNNN.m4s``), ``manifest.mpd`` with ``InbandEventStream``, and ``video.m3u8`` (plus
    ``audio.m3u8`` and ``master.m3u8``) with ``#EXT-X-DATERANGE`` for the same cues.
    """
    check_cmaf_options(emsg_version, emsg_boxes, event_track, hls_tags)
    src = os.fspath(src)
    out = Path(out_dir)
    target = write_media(
        src, out, p, segment=segment, mpd=mpd, timeout=timeout, timescale=TIMESCALE
    )
    zero = int(p.zero_pts)
    _add_event_streams(target, [], [], zero)  # presentationTimeOffset = stream time zero
    tree = ET.parse(target)
    video_set, video_tmpl = _adaptation_set(tree, "video")
    scale = int(video_tmpl.get("timescale"))
    if scale != TIMESCALE:
        raise ComponentError(f"ffmpeg wrote a video timescale of {scale}, not {TIMESCALE}")
    spans = _timeline(video_tmpl)  # (start, duration) per segment, in PTS ticks
    cues = _cues(p, zero)
    rows: list[dict] = []
    carried: list[list[_Cue]] = [[] for _ in spans]
    for c in cues:
        for k in _carriers(c.event, spans):
            carried[k].append(c)
    segments: list[Segment] = []
    for k, (start, dur) in enumerate(spans):
        path = out / f"video-{k + 1:05d}.m4s"
        data = path.read_bytes()
        boxes = []
        for c in carried[k]:
            ev = c.event
            if emsg_boxes and emsg_version == 0 and ev.splice < start:
                log.warning(
                    "cue splicing at %.3f s is before segment %d: emsg version 0 cannot time it "
                    "there (its delta is unsigned); not carried in that segment",
                    (ev.splice - zero) / PTS_HZ,
                    k + 1,
                )
                continue
            rows.append(_row(k, start, c, emsg_version if emsg_boxes else None, zero))
            if emsg_boxes:
                boxes.append(
                    emsg(
                        ev.section,
                        version=emsg_version,
                        timescale=TIMESCALE,
                        presentation_time=ev.splice,
                        segment_start=start,
                        duration=ev.duration,
                        event_id=c.id,
                    )
                )
        data = insert_emsg(data, boxes)
        seg = Segment(k + 1, data, start, dur, independent=True, forced=False)
        seg.events = [c.event for c in cues if start <= c.event.splice < start + dur]
        segments.append(seg)
    if emsg_boxes:
        ET.SubElement(video_set, f"{{{MPD_NS}}}InbandEventStream", {"schemeIdUri": SCHEME})
        _move_before_media(video_set)
    if event_track:
        _write_event_track(out, tree, spans, carried)
    ET.indent(tree, space="\t")
    tree.write(target, encoding="utf-8", xml_declaration=True)
    master = _write_hls(out, tree, segments, zero, hls_tags, playlist)
    events = pd.DataFrame(
        rows,
        columns=[
            "segment",
            "segment_start",
            "version",
            "id",
            "presentation_time",
            "splice_time",
            "arrival_time",
            "event_duration",
            "command_name",
            "kind",
            "base64",
        ],
    )
    return CmafPackage(mpd=target, playlist=master, events=events)


def _cues(p: ProbedCapture, zero: int) -> list[_Cue]:
    """Each distinct cue once, with its first arrival and splice point on the unwrapped
    timeline, and an emsg id (the event id; a fresh one when that id is taken)."""
    out: list[_Cue] = []
    used: set[int] = set()
    for row, cue in distinct_cues(p):
        arrival = None if pd.isna(row.arrival_pts) else zero + pts_diff(int(row.arrival_pts), zero)
        point = cue.splice_point
        if point is None:
            splice = arrival if arrival is not None else zero
        else:
            splice = zero + pts_diff(int(point), zero)
        kind, event_id, duration = classify(cue)
        section = base64.b64decode(row.base64)
        ev = CueEvent(section, cue, splice, arrival, kind, event_id, duration, point is None)
        ident = event_id if event_id is not None and event_id not in used else None
        if ident is None:
            ident = max(used | {0}) + 1
            while ident in used:
                ident += 1
        used.add(ident)
        out.append(_Cue(ev, ident & 0xFFFFFFFF))
    return out


def _carriers(ev: CueEvent, spans: list[tuple[int, int]]) -> list[int]:
    """Segments that carry a cue: the one it arrives in, and each later one that starts before
    its splice point (a copy at or after the splice point would be a late repeat)."""
    arrival = ev.arrival if ev.arrival is not None else spans[0][0]
    out = []
    for k, (start, dur) in enumerate(spans):
        end = start + dur
        if end <= arrival:
            continue
        if start <= arrival or start < ev.splice:
            out.append(k)
    return out[:1] if ev.immediate else out


def _row(k: int, start: int, c: _Cue, version: int | None, zero: int) -> dict:
    ev = c.event
    return {
        "segment": k + 1,
        "segment_start": (start - zero) / PTS_HZ,
        "version": version,
        "id": c.id,
        "presentation_time": ev.splice,
        "splice_time": (ev.splice - zero) / PTS_HZ,
        "arrival_time": None if ev.arrival is None else (ev.arrival - zero) / PTS_HZ,
        "event_duration": NO_DURATION if ev.duration is None else ev.duration,
        "command_name": ev.cue.command_name,
        "kind": ev.kind,
        "base64": ev.base64,
    }


def _adaptation_set(tree: ET.ElementTree, content: str) -> tuple[ET.Element, ET.Element]:
    period = tree.getroot().find(f"{{{MPD_NS}}}Period")
    for aset in period.findall(f"{{{MPD_NS}}}AdaptationSet"):
        if aset.get("contentType") == content:
            tmpl = aset.find(f".//{{{MPD_NS}}}SegmentTemplate")
            if tmpl is not None:
                return aset, tmpl
    raise Scte35Error(f"the MPD ffmpeg wrote has no {content} AdaptationSet with a template")


# AdaptationSet children that precede InbandEventStream (ISO/IEC 23009-1 schema order)
_BEFORE = ("FramePacking", "AudioChannelConfiguration", "ContentProtection")
_BEFORE += ("EssentialProperty", "SupplementalProperty")


def _move_before_media(aset: ET.Element) -> None:
    node = aset[-1]
    aset.remove(node)
    at = 0
    for i, child in enumerate(aset):
        if child.tag.rsplit("}", 1)[-1] in _BEFORE:
            at = i + 1
    aset.insert(at, node)


def _write_event_track(
    out: Path, tree: ET.ElementTree, spans: list[tuple[int, int]], carried: list[list[_Cue]]
) -> None:
    """``init-event.m4s`` and one ``event-NNNNN.m4s`` per video segment, one sample each,
    holding an ``emib`` per cue that segment carries (timed from the sample's start)."""
    (out / "init-event.m4s").write_bytes(event_track_init(timescale=TIMESCALE))
    for k, (start, dur) in enumerate(spans):
        instances = [
            bx.EventMessageInstance(
                presentation_time_delta=c.event.splice - start,
                event_duration=NO_DURATION if c.event.duration is None else c.event.duration,
                id=c.id,
                scheme_id_uri=SCHEME,
                message_data=c.event.section,
            )
            for c in carried[k]
        ]
        data = event_track_segment(
            [(dur, event_sample(instances))], sequence=k + 1, decode_time=start
        )
        (out / f"event-{k + 1:05d}.m4s").write_bytes(data)
    period = tree.getroot().find(f"{{{MPD_NS}}}Period")
    _, video_tmpl = _adaptation_set(tree, "video")
    ids = [int(a.get("id", "0")) for a in period.findall(f"{{{MPD_NS}}}AdaptationSet")]
    aset = ET.SubElement(
        period,
        f"{{{MPD_NS}}}AdaptationSet",
        {"id": str(max(ids) + 1), "contentType": "metadata", "mimeType": "application/mp4"},
    )
    rep = ET.SubElement(
        aset, f"{{{MPD_NS}}}Representation", {"id": "event", "codecs": "evte", "bandwidth": "1000"}
    )
    tmpl = ET.SubElement(
        rep,
        f"{{{MPD_NS}}}SegmentTemplate",
        {
            "timescale": str(TIMESCALE),
            "presentationTimeOffset": video_tmpl.get("presentationTimeOffset", "0"),
            "initialization": "init-event.m4s",
            "media": "event-$Number%05d$.m4s",
            "startNumber": "1",
        },
    )
    timeline = video_tmpl.find(f"{{{MPD_NS}}}SegmentTimeline")
    tmpl.append(copy.deepcopy(timeline))


def _write_hls(
    out: Path,
    tree: ET.ElementTree,
    segments: list[Segment],
    zero: int,
    tags: tuple[str, ...],
    master_name: str,
) -> Path:
    """``video.m3u8`` over the same segments (with the cues as tags), ``audio.m3u8`` when there
    is audio, and a master playlist naming them."""
    video = HlsWriter(
        out,
        tags=tags,
        playlist="video.m3u8",
        segment_name="video-{:05d}.m4s",
        init="init-video.m4s",
    )
    video.zero = zero
    for seg in segments:
        video.add(seg)
    video.close()
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    audio_attr = ""
    try:
        _, audio_tmpl = _adaptation_set(tree, "audio")
    except Scte35Error:
        audio_tmpl = None
    if audio_tmpl is not None:
        scale = int(audio_tmpl.get("timescale"))
        writer = HlsWriter(
            out,
            tags=(),
            playlist="audio.m3u8",
            segment_name="audio-{:05d}.m4s",
            init="init-audio.m4s",
        )
        writer.zero = zero
        for n, (t, d) in enumerate(_timeline(audio_tmpl), start=1):
            path = out / f"audio-{n:05d}.m4s"
            start = t * PTS_HZ // scale
            writer.add(Segment(n, path.read_bytes(), start, d * PTS_HZ // scale, True, False))
        writer.close()
        lines.append(
            '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="audio",DEFAULT=YES,'
            'AUTOSELECT=YES,URI="audio.m3u8"'
        )
        audio_attr = ',AUDIO="audio"'
    total = sum(len(s.data) for s in segments)
    seconds = max(sum(s.duration for s in segments) / PTS_HZ, 1e-3)
    lines.append(f"#EXT-X-STREAM-INF:BANDWIDTH={int(total * 8 / seconds * 1.2)}{audio_attr}")
    lines.append("video.m3u8")
    master = out / master_name
    master.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return master
