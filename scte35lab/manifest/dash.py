"""DASH packaging with SCTE-35 signalling: an MPD whose Period carries an EventStream.

Media segments (fMP4, SegmentTemplate + SegmentTimeline) come from the FFmpeg CLI's dash
muxer with ``-copyts``, so the media timeline is the stream's own PTS timeline. Video is
muxed one GOP per segment and the GOPs are then joined into the segments HLS packaging
plans (about ``segment`` seconds, a boundary at every splice point on an IDR); audio is
muxed at ``segment``. The EventStream (timescale 90000, presentationTimeOffset = the first
video PTS, as the SegmentTemplates get too, so period time is stream time) puts each cue's
presentation time at its splice PTS: ``urn:scte:scte35:2013:xml`` carries the
SpliceInfoSection as XML, ``urn:scte:scte35:2014:xml+bin`` the section as base64 in
``<Signal><Binary>`` (SCTE 214-1, DASH-IF IOP).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from scte35lab.clock import PTS_HZ, PTS_WRAP, pts_diff
from scte35lab.errors import ComponentError, StreamError
from scte35lab.manifest.probed import ProbedCapture, distinct_cues
from scte35lab.manifest.segment import Segmenter, classify
from scte35lab.outfile import atomic_folder

log = logging.getLogger(__name__)

MPD_NS = "urn:mpeg:dash:schema:mpd:2011"
SCTE35_NS = "http://www.scte.org/schemas/35"
SCHEME_XML = "urn:scte:scte35:2013:xml"
SCHEME_BIN = "urn:scte:scte35:2014:xml+bin"
SCHEMES = {"xml": SCHEME_XML, "xml+bin": SCHEME_BIN}
_CODEC_TAGS = {"h264": "avc1", "hevc": "hvc1", "aac": "mp4a", "ac3": "ac-3", "eac3": "ec-3"}


@dataclass
class DashPackage:
    """What :func:`package_dash` wrote: the MPD path and a row per signalled cue."""

    mpd: Path
    events: pd.DataFrame

    def __repr__(self) -> str:
        return f"<DashPackage {self.mpd}: {len(self.events)} events>"


def _ffmpeg() -> str:
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise ComponentError("ffmpeg not found on PATH: install Debian's ffmpeg package")
    return exe


def check_schemes(schemes: Iterable[str]) -> list[str]:
    """``schemes`` as a list, or ``ValueError`` naming those that are not DASH SCTE-35 schemes."""
    chosen = list(schemes)
    bad = [s for s in chosen if s not in SCHEMES]
    if bad or not chosen:
        raise ValueError(f"unknown DASH scheme(s) {bad}; use {sorted(SCHEMES)}")
    return chosen


def write_dash(
    src: str | os.PathLike,
    p: ProbedCapture,
    out_dir: str | os.PathLike,
    *,
    segment: float = 2.0,
    schemes: Iterable[str] = ("xml", "xml+bin"),
    mpd: str = "manifest.mpd",
    timeout: float = 600.0,
) -> DashPackage:
    """Package the TS capture ``src``, already probed as ``p``, as DASH (static MPD, fMP4)
    with its cues in EventStreams; :func:`scte35lab.manifest.package_dash` probes and calls
    this.

    Built in a temporary sibling folder and moved into ``out_dir`` only when complete (into
    an existing folder: each file replaced atomically, the MPD last); a failure leaves
    nothing behind.
    """
    chosen = check_schemes(schemes)
    src = os.fspath(src)
    with atomic_folder(out_dir) as work:
        events = _package(p, src, work, mpd, segment, chosen, timeout)
    frame = pd.DataFrame(events, columns=[c for c in (events[0] if events else {}) if c != "cue"])
    return DashPackage(mpd=Path(out_dir) / mpd, events=frame)


def _package(
    p: ProbedCapture,
    src: str,
    out: Path,
    mpd: str,
    segment: float,
    chosen: list[str],
    timeout: float,
) -> list[dict]:
    """Segments and the MPD with its EventStreams, written into ``out``; the events."""
    target = write_media(src, out, p, segment=segment, mpd=mpd, timeout=timeout)

    zero = p.zero_pts
    events = []
    for row, cue in distinct_cues(p):
        point = cue.splice_point
        if point is None:
            if pd.isna(row.arrival_pts):
                continue
            point = int(row.arrival_pts)
        t = zero + pts_diff(point, zero)  # on the unwrapped PTS timeline ffmpeg writes
        kind, event_id, duration = classify(cue)
        events.append(
            {
                "presentation_time": t,
                "time": t / PTS_HZ,
                "stream_time": (t - zero) / PTS_HZ,
                "duration": duration,
                "kind": kind,
                "event_id": event_id,
                "command_name": cue.command_name,
                "base64": row.base64,
                "cue": cue,
            }
        )
    events.sort(key=lambda e: e["presentation_time"])
    _add_event_streams(target, events, chosen, zero)
    return events


def write_media(
    src: str | os.PathLike,
    out_dir: str | os.PathLike,
    p: ProbedCapture,
    *,
    segment: float,
    mpd: str,
    timeout: float,
    timescale: int | None = None,
) -> Path:
    """Mux ``src`` (probed as ``p``) into fMP4 segments and an MPD in ``out_dir``: video cut
    where HLS packaging cuts it, audio at ``segment`` seconds. ``timescale`` sets the video
    track's (e.g. 90000 so that media times are the stream's PTS). Returns the MPD path."""
    src = os.fspath(src)
    video = p.pids[p.pids["role"] == "video"]
    if not len(video) or p.zero_pts is None:
        raise StreamError(f"{src}: no video to package")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / mpd
    base = [_ffmpeg(), "-hide_banner", "-nostdin", "-v", "error", "-y", "-copyts", "-i", src]
    if _starts_near_wrap(p):
        # FFmpeg's demuxer makes the timestamps before a wrap negative when a stream starts
        # within 60 s of 2**33; shifting by 2**33 gives back the unwrapped PTS timeline
        base += ["-output_ts_offset", f"{PTS_WRAP / PTS_HZ:.6f}"]
    options = "movflags=+frag_discont"
    if timescale is not None:
        options += f":video_track_timescale={int(timescale)}"
    dash = ["-f", "dash", "-use_template", "1", "-use_timeline", "1"]
    dash += ["-dash_segment_type", "mp4", "-format_options", options]
    # video: one segment per GOP, merged below into the planned segments
    vcmd = [*base, "-map", "0:v:0", "-c", "copy"]
    codec = str(video["codec"].iloc[0])
    if codec in _CODEC_TAGS:
        vcmd += ["-tag:v", _CODEC_TAGS[codec]]
    vcmd += [*dash, "-seg_duration", "0.001", "-init_seg_name", "init-video.m4s"]
    vcmd += ["-media_seg_name", "gop-$Number%06d$.m4s", str(out / "video.tmp.mpd")]
    _run(vcmd, timeout)
    audio = p.pids[p.pids["role"] == "audio"]
    if len(audio):
        acmd = [*base, "-map", "0:a:0", "-c", "copy"]
        acodec = str(audio["codec"].iloc[0])
        if acodec in _CODEC_TAGS:
            acmd += ["-tag:a", _CODEC_TAGS[acodec]]
        acmd += [*dash, "-seg_duration", f"{segment:g}", "-init_seg_name", "init-audio.m4s"]
        acmd += ["-media_seg_name", "audio-$Number%05d$.m4s", str(out / "audio.tmp.mpd")]
        _run(acmd, timeout)
    starts = _planned_starts(src, segment)
    _assemble(out, target, starts, has_audio=bool(len(audio)))
    return target


def _run(cmd: list[str], timeout: float) -> None:
    log.debug("running %s", cmd)
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ComponentError(f"ffmpeg dash muxer took longer than {timeout:g} s") from exc
    if run.returncode != 0:
        tail = (run.stderr or "").strip().splitlines()[-3:]
        raise ComponentError(f"ffmpeg dash muxer failed ({run.returncode}): {' | '.join(tail)}")


def _planned_starts(src: str, segment: float) -> list[int]:
    """Segment starts (unwrapped PTS) as HLS cuts them: IDRs, every splice point on one."""
    seg = Segmenter(segment)
    starts: list[int] = []
    with open(src, "rb") as f:
        while block := f.read(4 << 20):
            starts += [s.start for s in seg.feed(block)]
    starts += [s.start for s in seg.flush()]
    return starts


def _boxes(data: bytes) -> list[tuple[bytes, bytes]]:
    """Top-level ISO BMFF boxes as (type, whole box)."""
    out, i = [], 0
    while i + 8 <= len(data):
        size = int.from_bytes(data[i : i + 4], "big")
        kind = data[i + 4 : i + 8]
        if size == 1:
            size = int.from_bytes(data[i + 8 : i + 16], "big")
        elif size == 0:
            size = len(data) - i
        if size < 8:
            raise ComponentError(f"ffmpeg wrote a damaged box {kind!r} at byte {i}")
        out.append((kind, data[i : i + size]))
        i += size
    return out


def _timeline(tmpl: ET.Element) -> list[tuple[int, int]]:
    entries: list[tuple[int, int]] = []
    t = 0
    for s in tmpl.iterfind(f"{{{MPD_NS}}}SegmentTimeline/{{{MPD_NS}}}S"):
        t = int(s.get("t", t))
        d = int(s.get("d"))
        for _ in range(int(s.get("r", "0")) + 1):
            entries.append((t, d))
            t += d
    return entries


def _set_timeline(tmpl: ET.Element, entries: list[tuple[int, int]]) -> None:
    tl = tmpl.find(f"{{{MPD_NS}}}SegmentTimeline")
    for child in list(tl):
        tl.remove(child)
    prev_end = None
    for t, d in entries:
        last = tl[-1] if len(tl) else None
        if last is not None and prev_end == t and int(last.get("d")) == d:
            last.set("r", str(int(last.get("r", "0")) + 1))
        else:
            attrs = {"d": str(d)} if prev_end == t else {"t": str(t), "d": str(d)}
            ET.SubElement(tl, f"{{{MPD_NS}}}S", attrs)
        prev_end = t + d


def _assemble(out: Path, target: Path, starts: list[int], *, has_audio: bool) -> None:
    """Merge the per-GOP video segments into the planned ones and write one MPD."""
    _namespaces()
    vtree = ET.parse(out / "video.tmp.mpd")
    root = vtree.getroot()
    period = root.find(f"{{{MPD_NS}}}Period")
    tmpl = period.find(f".//{{{MPD_NS}}}SegmentTemplate")
    scale = int(tmpl.get("timescale"))
    first = int(tmpl.get("startNumber", "1"))
    gops = _timeline(tmpl)
    bounds = sorted({s * scale // PTS_HZ for s in starts})
    merged: list[tuple[int, int]] = []
    groups: list[list[int]] = []
    for k, (t, d) in enumerate(gops):
        if not groups or any(merged[-1][0] < b <= t for b in bounds):
            groups.append([k])
            merged.append((t, d))
        else:
            groups[-1].append(k)
            merged[-1] = (merged[-1][0], t + d - merged[-1][0])
    for n, group in enumerate(groups, start=1):
        parts: list[bytes] = []
        for j, k in enumerate(group):
            path = out / f"gop-{first + k:06d}.m4s"
            for kind, box in _boxes(path.read_bytes()):
                if kind == b"sidx" or (kind == b"styp" and j > 0):
                    continue  # one styp per segment; a sidx would index only one GOP
                parts.append(box)
            path.unlink()
        (out / f"video-{n:05d}.m4s").write_bytes(b"".join(parts))
    tmpl.set("media", "video-$Number%05d$.m4s")
    tmpl.set("startNumber", "1")
    _set_timeline(tmpl, merged)
    longest = max(d for _, d in merged) / scale
    root.set("maxSegmentDuration", f"PT{longest:.3f}S")
    if has_audio:
        atree = ET.parse(out / "audio.tmp.mpd")
        aset = atree.getroot().find(f"{{{MPD_NS}}}Period/{{{MPD_NS}}}AdaptationSet")
        aset.set("id", "1")
        for rep in aset.iter(f"{{{MPD_NS}}}Representation"):
            rep.set("id", "1")
        period.append(aset)
        (out / "audio.tmp.mpd").unlink()
    (out / "video.tmp.mpd").unlink()
    vtree.write(target, encoding="utf-8", xml_declaration=True)


def _namespaces() -> None:
    ET.register_namespace("", MPD_NS)
    ET.register_namespace("scte35", SCTE35_NS)
    ET.register_namespace("xsi", "http://www.w3.org/2001/XMLSchema-instance")
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")


def _starts_near_wrap(p) -> bool:
    """Whether FFmpeg will treat this stream's wrap by making earlier timestamps negative."""
    pts = p.frames["pts"].dropna()
    if not len(pts):
        return False
    first = int(pts.iloc[: min(len(pts), 200)].max())
    return PTS_WRAP - first < 60 * PTS_HZ and bool((pts < first - PTS_WRAP // 2).any())


def _add_event_streams(mpd: Path, events: list[dict], schemes: list[str], zero: int) -> None:
    _namespaces()
    tree = ET.parse(mpd)
    root = tree.getroot()
    period = root.find(f"{{{MPD_NS}}}Period")
    if period is None:
        raise ComponentError(f"{mpd}: ffmpeg wrote an MPD without a Period")
    # presentation time zero = stream time zero (the first video PTS), for media and events
    for tmpl in period.iter(f"{{{MPD_NS}}}SegmentTemplate"):
        scale = int(tmpl.get("timescale", "1"))
        tmpl.set("presentationTimeOffset", str(zero * scale // PTS_HZ))
    # EventStream comes before the AdaptationSets in a Period (ISO/IEC 23009-1 schema)
    first_set = next(
        (i for i, child in enumerate(period) if child.tag == f"{{{MPD_NS}}}AdaptationSet"),
        len(period),
    )
    for offset, name in enumerate(schemes):
        stream = ET.Element(
            f"{{{MPD_NS}}}EventStream",
            {
                "schemeIdUri": SCHEMES[name],
                "timescale": str(PTS_HZ),
                "presentationTimeOffset": str(zero),
            },
        )
        for n, ev in enumerate(events):
            attrs = {"presentationTime": str(ev["presentation_time"]), "id": str(n)}
            if ev["duration"] is not None:
                attrs["duration"] = str(ev["duration"])
            node = ET.SubElement(stream, f"{{{MPD_NS}}}Event", attrs)
            node.append(ET.fromstring(ev["cue"].to_xml(binary=name == "xml+bin")))
        period.insert(first_set + offset, stream)
    ET.indent(tree, space="\t")
    tmp = mpd.with_name(mpd.name + ".tmp")
    tree.write(tmp, encoding="utf-8", xml_declaration=True)
    os.replace(tmp, mpd)
