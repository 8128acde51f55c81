"""HLS packaging with SCTE-35 signalling: TS segments and a media playlist.

Signalling, any combination (``tags=``):

- ``"daterange"``: ``#EXT-X-DATERANGE`` with ``SCTE35-OUT`` / ``SCTE35-IN`` / ``SCTE35-CMD``
  (RFC 8216 4.3.2.7.1), ``START-DATE`` on the stream's own timeline: every segment carries
  ``#EXT-X-PROGRAM-DATE-TIME`` anchored to its first video PTS, never the wall clock.
- ``"cue-out"``: ``#EXT-X-CUE-OUT:DURATION=`` / ``#EXT-X-CUE-OUT-CONT:ElapsedTime=,Duration=,
  SCTE35=`` / ``#EXT-X-CUE-IN``.
- ``"oatcls"``: ``#EXT-OATCLS-SCTE35:<base64>`` before the segment a cue splices on.

VOD (:func:`package_hls`) and live (:class:`HlsLive`, a sliding window whose old segments are
deleted) share one writer.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from scte35lab.clock import PTS_HZ
from scte35lab.errors import StreamError
from scte35lab.inputkind import require_ts
from scte35lab.manifest.segment import CueEvent, Segment, Segmenter
from scte35lab.outfile import atomic_file, atomic_folder
from scte35lab.ts.chain import Chain

log = logging.getLogger(__name__)

TAGS = ("daterange", "cue-out", "oatcls")
DEFAULT_TAGS = ("daterange", "cue-out", "oatcls")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
READ_BLOCK = 4 << 20


def format_date(when: datetime) -> str:
    """ISO 8601 with milliseconds and ``Z``, as HLS dates are written."""
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _seconds(ticks: int) -> str:
    return f"{ticks / PTS_HZ:.3f}"


@dataclass
class _Entry:
    segment: Segment
    uri: str
    lines: list[str]
    discontinuity: bool


@dataclass
class _Break:
    event: CueEvent
    end: int | None  # planned end (unwrapped ticks), if the duration is known


@dataclass
class HlsPackage:
    """What :func:`package_hls` wrote: the playlist path and a row per segment and per cue."""

    playlist: Path
    segments: pd.DataFrame
    cues: pd.DataFrame
    zero_pts: int | None = None

    def __repr__(self) -> str:
        return f"<HlsPackage {self.playlist}: {len(self.segments)} segments, {len(self.cues)} cues>"


class HlsWriter:
    """Turns :class:`Segment` objects into segment files and a media playlist.

    ``window`` keeps only the last N segments (live); ``None`` keeps all (VOD, with
    ``#EXT-X-ENDLIST`` on :meth:`close`).
    """

    def __init__(
        self,
        out_dir: str | os.PathLike,
        *,
        tags: Iterable[str] = DEFAULT_TAGS,
        discontinuity: bool = False,
        program_date_time: datetime | None = None,
        window: int | None = None,
        playlist: str = "index.m3u8",
        segment_name: str = "seg_{:05d}.ts",
        class_name: str | None = None,
        init: str | None = None,
    ) -> None:
        self.tags = tuple(tags)
        self.init = init  # fMP4 segments: the init segment's URI (#EXT-X-MAP)
        unknown = set(self.tags) - set(TAGS)
        if unknown:
            raise ValueError(f"unknown HLS cue tag style(s) {sorted(unknown)}; use {TAGS}")
        if window is not None and window < 1:
            raise ValueError(f"window must be >= 1 segments, got {window}")
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.playlist = self.out_dir / playlist
        self.segment_name = segment_name
        self.discontinuity = discontinuity
        self.window = window
        self.class_name = class_name
        self._anchor = program_date_time
        self.zero: int | None = None
        self.entries: list[_Entry] = []
        self.all_rows: list[dict] = []
        self.cue_rows: list[dict] = []
        self.media_sequence = 0
        self.discontinuity_sequence = 0
        self._break: _Break | None = None
        self._ranges: dict[tuple, tuple[str, int]] = {}  # pair key -> (ID, start ticks)
        self._ids: set[str] = set()
        self._closed = False

    # ---------------------------------------------------------------- dates

    def date_of(self, ticks: int) -> datetime:
        """The program date of an unwrapped PTS on this stream's own timeline."""
        zero = self.zero or 0
        if self._anchor is None:
            # anchored to PTS itself: stream time zero is the first PTS after the epoch
            base = EPOCH + timedelta(milliseconds=zero // 90)
        else:
            base = self._anchor if self._anchor.tzinfo else self._anchor.replace(tzinfo=UTC)
        return base + timedelta(microseconds=(ticks - zero) * 1_000_000 // PTS_HZ)

    # ---------------------------------------------------------------- input

    def add(self, segment: Segment) -> None:
        """Write one segment file and its playlist entry (and the playlist, when live)."""
        uri = self.segment_name.format(segment.index)
        with atomic_file(self.out_dir / uri) as f:  # a live reader never sees half of it
            f.write(segment.data)
        lines: list[str] = []
        events = sorted(segment.events, key=lambda e: e.splice)
        brk = self._break
        starts = any(e.kind == "out" for e in events)
        # an open break ends at an IN, at its planned end, or when a new OUT replaces it
        ends = brk is not None and (
            starts
            or any(e.kind == "in" for e in events)
            or (brk.end is not None and segment.start >= brk.end)
        )
        disc = self.discontinuity and segment.index > 0 and (starts or ends)
        if "cue-out" in self.tags:
            if ends:
                lines.append("#EXT-X-CUE-IN")
            elif brk is not None:
                elapsed = segment.start - brk.event.splice
                dur = (
                    ""
                    if brk.event.duration is None
                    else f",Duration={_seconds(brk.event.duration)}"
                )
                lines.append(
                    f"#EXT-X-CUE-OUT-CONT:ElapsedTime={_seconds(elapsed)}{dur},"
                    f"SCTE35={brk.event.base64}"
                )
        if ends:
            self._break = None
        cue_out_written = False
        for ev in events:
            if "oatcls" in self.tags:
                lines.append(f"#EXT-OATCLS-SCTE35:{ev.base64}")
            if "daterange" in self.tags:
                lines.append(self._daterange(ev))
            if ev.kind == "out" and not cue_out_written:
                # the first OUT on a segment opens the break; others at the same point
                # (a time_signal beside a splice_insert) are signalled by their own tags
                end = None if ev.duration is None else ev.splice + ev.duration
                self._break = _Break(ev, end)
                if "cue-out" in self.tags:
                    dur = "" if ev.duration is None else f"DURATION={_seconds(ev.duration)}"
                    lines.append(f"#EXT-X-CUE-OUT:{dur}".rstrip(":"))
                cue_out_written = True
            self.cue_rows.append(self._cue_row(ev, segment, uri))
        self.entries.append(_Entry(segment, uri, lines, disc))
        self.all_rows.append(
            {
                "segment": segment.index,
                "uri": uri,
                "start_pts": segment.start,
                "start_time": self._time(segment.start),
                "duration": segment.duration / PTS_HZ,
                "bytes": len(segment.data),
                "independent": segment.independent,
                "forced_cut": segment.forced,
                "cues": len(segment.events),
                "program_date_time": format_date(self.date_of(segment.start)),
            }
        )
        if self.window is not None:
            self._slide()
            self.write_playlist(final=False)

    def _time(self, ticks: int) -> float:
        return (ticks - (self.zero or 0)) / PTS_HZ

    def _cue_row(self, ev: CueEvent, segment: Segment, uri: str) -> dict:
        return {
            "segment": segment.index,
            "uri": uri,
            "kind": ev.kind,
            "command_name": ev.cue.command_name,
            "event_id": ev.event_id,
            "splice_pts": ev.splice,
            "splice_time": self._time(ev.splice),
            "segment_start_time": self._time(segment.start),
            "on_boundary": ev.splice == segment.start,
            "base64": ev.base64,
        }

    def _daterange(self, ev: CueEvent) -> str:
        key = ev.pair_key
        attrs: list[str] = []
        if ev.kind == "in" and key in self._ranges:
            rid, start = self._ranges.pop(key)
            attrs += [
                f'ID="{rid}"',
                f'START-DATE="{format_date(self.date_of(start))}"',
                f'END-DATE="{format_date(self.date_of(ev.splice))}"',
                f"DURATION={_seconds(ev.splice - start)}",
                f"SCTE35-IN={ev.hex}",
            ]
        else:
            rid = self._new_id(ev)
            attrs += [f'ID="{rid}"']
            if self.class_name:
                attrs.append(f'CLASS="{self.class_name}"')
            attrs.append(f'START-DATE="{format_date(self.date_of(ev.splice))}"')
            if ev.kind == "out":
                if ev.duration is not None:
                    attrs.append(f"PLANNED-DURATION={_seconds(ev.duration)}")
                attrs.append(f"SCTE35-OUT={ev.hex}")
                self._ranges[key] = (rid, ev.splice)
            elif ev.kind == "in":
                attrs.append(f"SCTE35-IN={ev.hex}")
            else:
                attrs.append(f"SCTE35-CMD={ev.hex}")
        return "#EXT-X-DATERANGE:" + ",".join(attrs)

    def _new_id(self, ev: CueEvent) -> str:
        family = "splice" if ev.cue.command_name == "splice_insert" else "seg"
        base = f"{family}-{ev.event_id}" if ev.event_id is not None else f"cmd-{ev.splice}"
        rid, n = base, 1
        while rid in self._ids:
            n += 1
            rid = f"{base}-{n}"
        self._ids.add(rid)
        return rid

    # ---------------------------------------------------------------- output

    def _slide(self) -> None:
        while self.window is not None and len(self.entries) > self.window:
            old = self.entries.pop(0)
            self.media_sequence += 1
            if old.discontinuity:
                self.discontinuity_sequence += 1
            (self.out_dir / old.uri).unlink(missing_ok=True)

    def render(self, *, final: bool) -> str:
        """The media playlist text for the segments in the window."""
        durations = [e.segment.duration / PTS_HZ for e in self.entries] or [1.0]
        target = max(1, math.ceil(max(durations) - 1e-3))
        independent = all(e.segment.independent for e in self.entries)
        version = 3 if self.init is None else 7  # fMP4 segments need version 7 (RFC 8216 7)
        out = ["#EXTM3U", f"#EXT-X-VERSION:{version}", f"#EXT-X-TARGETDURATION:{target}"]
        out.append(f"#EXT-X-MEDIA-SEQUENCE:{self.media_sequence}")
        if self.discontinuity_sequence:
            out.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{self.discontinuity_sequence}")
        if self.window is None:
            out.append("#EXT-X-PLAYLIST-TYPE:VOD")
        if independent:
            out.append("#EXT-X-INDEPENDENT-SEGMENTS")
        if self.init is not None:
            out.append(f'#EXT-X-MAP:URI="{self.init}"')
        for e in self.entries:
            if e.discontinuity:
                out.append("#EXT-X-DISCONTINUITY")
            out.append(f"#EXT-X-PROGRAM-DATE-TIME:{format_date(self.date_of(e.segment.start))}")
            out.extend(e.lines)
            out.append(f"#EXTINF:{e.segment.duration / PTS_HZ:.6f},")
            out.append(e.uri)
        if final:
            out.append("#EXT-X-ENDLIST")
        return "\n".join(out) + "\n"

    def write_playlist(self, *, final: bool) -> None:
        """Write the playlist atomically (a reader never sees half of it)."""
        tmp = self.playlist.with_name(self.playlist.name + ".tmp")
        tmp.write_text(self.render(final=final), encoding="utf-8")
        os.replace(tmp, self.playlist)

    def close(self) -> None:
        if not self._closed:
            self.write_playlist(final=True)
            self._closed = True


class HlsLive:
    """Live HLS packaging: feed TS bytes as they come; a sliding window of ``window``
    segments is kept on disk, older ones are deleted. Use as a context manager or call
    :meth:`close` to write the last segment and ``#EXT-X-ENDLIST``. The live pipeline can
    hand it the same TS bytes it pushes over SRT, for a local preview of what the
    distributor receives.
    """

    def __init__(
        self,
        out_dir: str | os.PathLike,
        *,
        segment: float = 2.0,
        window: int | None = 6,
        tags: Iterable[str] = DEFAULT_TAGS,
        discontinuity: bool = False,
        program_date_time: datetime | None = None,
        playlist: str = "index.m3u8",
        class_name: str | None = None,
        probe_every: int = 64 << 10,
    ) -> None:
        self.segmenter = Segmenter(segment, probe_every=probe_every)
        self.writer = HlsWriter(
            out_dir,
            tags=tags,
            discontinuity=discontinuity,
            program_date_time=program_date_time,
            window=window,
            playlist=playlist,
            class_name=class_name,
        )

    @property
    def playlist(self) -> Path:
        return self.writer.playlist

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Take TS bytes; write every segment they complete. Returns how many."""
        segs = self.segmenter.feed(data)
        self._add(segs)
        return len(segs)

    def feed(self, data: bytes) -> bytes:
        """As a stage of a :class:`~scte35lab.ts.chain.Chain`: write what ``data``
        completes and pass it all on (the packager only reads the stream)."""
        self.write(data)
        return data

    def flush(self) -> bytes:
        """As a stage: the end of the stream closes the last segment and the playlist."""
        self.close()
        return b""

    def _add(self, segs: list[Segment]) -> None:
        for seg in segs:
            if self.writer.zero is None:
                self.writer.zero = self.segmenter.zero
            self.writer.add(seg)

    def close(self) -> None:
        """Flush the open segment and end the playlist."""
        if self.writer._closed:
            return
        self._add(self.segmenter.flush())
        self.writer.close()

    def __enter__(self) -> HlsLive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _blocks(src: str | os.PathLike | bytes | bytearray | BinaryIO) -> Iterable[bytes]:
    if isinstance(src, bytes | bytearray | memoryview):
        yield bytes(src)
        return
    if hasattr(src, "read"):
        f = src
        while block := f.read(READ_BLOCK):
            yield block
        return
    with open(src, "rb") as f:
        while block := f.read(READ_BLOCK):
            yield block


def _discard(pieces: object) -> None:
    """Where a packaging chain's output goes: nowhere (the stages wrote the package)."""


def package_hls(
    src: str | os.PathLike | bytes | bytearray | BinaryIO,
    out_dir: str | os.PathLike,
    *,
    segment: float = 2.0,
    tags: Iterable[str] = DEFAULT_TAGS,
    discontinuity: bool = False,
    program_date_time: datetime | None = None,
    playlist: str = "index.m3u8",
    class_name: str | None = None,
) -> HlsPackage:
    """Package a TS capture as HLS (VOD) with the chosen SCTE-35 signalling.

    Segments are cut at IDRs about every ``segment`` seconds and at every splice point (and
    planned break end). ``program_date_time`` is the date of stream time zero; by default it
    is the first video PTS counted from 1970-01-01, so the dates carry the PTS timeline.
    ``discontinuity=True`` puts ``#EXT-X-DISCONTINUITY`` before each break's first and
    return segment, as a stitching SSAI would.

    The package is built in a temporary sibling folder and moved into ``out_dir`` only when
    complete (into an existing folder: each file replaced atomically, the playlist last); a
    failure leaves nothing behind. Input that is not MPEG-TS raises
    :class:`NotTransportStreamError`.
    """
    src = require_ts(src)
    with atomic_folder(out_dir) as work:
        live = HlsLive(
            work,
            segment=segment,
            window=None,
            tags=tags,
            discontinuity=discontinuity,
            program_date_time=program_date_time,
            playlist=playlist,
            class_name=class_name,
        )
        Chain([live]).pump(_blocks(src), _discard)
        w = live.writer
        if not w.entries:
            raise StreamError("no video frames found: nothing to segment")
    return HlsPackage(
        playlist=Path(out_dir) / playlist,
        segments=pd.DataFrame(w.all_rows),
        cues=pd.DataFrame(
            w.cue_rows,
            columns=[
                "segment",
                "uri",
                "kind",
                "command_name",
                "event_id",
                "splice_pts",
                "splice_time",
                "segment_start_time",
                "on_boundary",
                "base64",
            ],
        ),
        zero_pts=live.segmenter.zero,
    )
