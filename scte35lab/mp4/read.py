"""Read fragmented MP4 (a CMAF track file, or an init segment and its media segments) into its
tracks, samples and event messages: what ``probe()`` needs to time frames and cues, without
decoding any media.

Times stay in each track's timescale here; ``to_90k`` puts them on the 90 kHz clock. A
sample's presentation time is its decode time (``tfdt`` plus the durations before it) plus its
composition offset; edit lists are not applied (a DASH/CMAF player times fragments by ``tfdt``,
and ``emsg`` version 1 times events on that same track timeline).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scte35lab.clock import PTS_HZ
from scte35lab.errors import StreamError, UnfragmentedMp4Error
from scte35lab.mp4 import boxes as bx
from scte35lab.mp4.box import BoxError, BoxHeader, children, first, parse, walk

log = logging.getLogger(__name__)

# message_data is a splice_info_section (SCTE 214-1/-3; 2014:bin as media3 names it)
SCTE35_SCHEMES = ("urn:scte:scte35:2013:bin", "urn:scte:scte35:2014:bin")

_CODECS = {
    "avc1": "h264",
    "avc3": "h264",
    "hvc1": "hevc",
    "hev1": "hevc",
    "mp4a": "aac",
    "ac-3": "ac3",
    "ec-3": "eac3",
    "evte": "evte",
}
_ROLES = {"vide": "video", "soun": "audio"}


def to_90k(ticks: int, timescale: int) -> int:
    """Ticks of ``timescale`` on the 90 kHz clock (rounded to the nearest tick)."""
    return (ticks * PTS_HZ + timescale // 2) // timescale


@dataclass
class Track:
    """One track of the init segment: id, handler, timescale, sample entry, trex defaults."""

    track_id: int
    handler: str
    timescale: int
    sample_entry: str
    defaults: bx.TrackExtends = field(default_factory=bx.TrackExtends)
    shift: int = 0  # edit list: presentation time = decode + composition offset + shift

    @property
    def codec(self) -> str:
        return _CODECS.get(self.sample_entry, self.sample_entry)

    @property
    def role(self) -> str:
        if self.sample_entry == "evte":
            return "scte35"
        return _ROLES.get(self.handler, "other")


@dataclass
class Message:
    """One event message: an ``emsg`` box before a fragment, or an ``emib`` in a sample.

    ``time`` is the event's presentation time and ``arrival`` the earliest presentation time
    of the segment that carries it (for ``emib``, the carrying sample's), both in 90 kHz.
    """

    carriage: str  # "emsg" or "event_track"
    box: bx.EventMessage | bx.EventMessageInstance
    offset: int  # byte of the box
    ordinal: int  # samples (all tracks) before it, in file order
    segment: int
    track_id: int | None  # the track it belongs to (emsg: the segment's video track)
    time: int | None = None
    arrival: int | None = None

    @property
    def scheme_id_uri(self) -> str:
        return self.box.scheme_id_uri

    @property
    def message_data(self) -> bytes:
        return self.box.message_data


@dataclass
class Fragmented:
    """What one fragmented MP4 holds: tracks, a column table of samples, event messages."""

    tracks: dict[int, Track]
    samples: dict[str, np.ndarray]
    messages: list[Message]
    segment_starts: dict[tuple[int, int], int]  # (segment, track) -> EPT in track ticks
    errors: list[dict[str, Any]]
    size: int


def is_iso_bmff(head: bytes) -> bool:
    """Whether bytes begin with an ISO BMFF box a CMAF file or segment starts with."""
    return len(head) >= 8 and head[4:8] in (
        b"ftyp",
        b"styp",
        b"moov",
        b"moof",
        b"emsg",
        b"sidx",
        b"prft",
    )


class _State:
    def __init__(self) -> None:
        self.tracks: dict[int, Track] = {}
        self.cols: dict[str, list] = {
            k: []
            for k in (
                "track_id",
                "decode",
                "pts",
                "duration",
                "size",
                "flags",
                "offset",
                "segment",
                "ordinal",
            )
        }
        self.messages: list[Message] = []
        self.pending: list[Message] = []
        self.errors: list[dict[str, Any]] = []
        self.segment = -1
        self.styp_seen = False
        self.next_decode: dict[int, int] = {}
        self.count = 0


def read_fragmented(parts: bytes | Iterable[bytes]) -> Fragmented:
    """Read an fMP4 given as bytes, or as its parts in order (init segment, media segments).

    A damaged or truncated box ends the reading where it is, with an ``errors`` row; what was
    read before it is kept. A file that is not fragmented, or fragments without the init
    segment that declares their track, raise ``StreamError``.
    """
    if isinstance(parts, bytes | bytearray | memoryview):
        parts = [bytes(parts)]
    st = _State()
    base = 0
    views: list[tuple[int, memoryview]] = []
    for number, part in enumerate(parts):
        data = memoryview(part)
        views.append((base, data))
        try:
            for hdr in walk(data):
                _top(st, data, hdr, base)
        except BoxError as exc:
            st.errors.append(_error("box_error", f"file {number} of the sequence: {exc}", base))
        base += len(data)
    for msg in st.pending:  # emsg after the last fragment: it belongs to no segment
        st.errors.append(
            _error("emsg_without_fragment", "an emsg box is not followed by a fragment", msg.offset)
        )
    samples = {
        k: np.asarray(v, dtype=np.int64) if k != "flags" else np.asarray(v, dtype=np.uint32)
        for k, v in st.cols.items()
    }
    starts = _segment_starts(samples)
    frag = Fragmented(st.tracks, samples, st.messages, starts, st.errors, base)
    _event_track_messages(frag, views)
    _time_messages(frag)
    return frag


def _slice(views: list[tuple[int, memoryview]], start: int, size: int) -> bytes | None:
    for base, data in views:
        if base <= start and start + size <= base + len(data):
            return bytes(data[start - base : start - base + size])
    return None


def _event_track_messages(frag: Fragmented, views: list[tuple[int, memoryview]]) -> None:
    """The ``emib`` boxes in the samples of event message tracks (23001-18 6)."""
    s = frag.samples
    for tid, track in frag.tracks.items():
        if track.sample_entry != "evte":
            continue
        for k in np.flatnonzero(s["track_id"] == tid).tolist():
            offset, size = int(s["offset"][k]), int(s["size"][k])
            data = _slice(views, offset, size)
            if data is None:
                frag.errors.append(
                    _error(
                        "sample_outside_data", f"event track sample {k} is not in the file", offset
                    )
                )
                continue
            try:
                for hdr in walk(data):
                    if hdr.type == b"emib":
                        box = parse(data, hdr)
                        msg = Message(
                            "event_track",
                            box,
                            offset + hdr.offset,
                            int(s["ordinal"][k]),
                            int(s["segment"][k]),
                            tid,
                        )
                        msg.arrival = to_90k(int(s["pts"][k]), track.timescale)
                        msg.time = to_90k(
                            int(s["pts"][k]) + box.presentation_time_delta, track.timescale
                        )
                        frag.messages.append(msg)
                    elif hdr.type != b"emeb":
                        raise BoxError(f"{hdr.name} box in an event message track sample")
            except BoxError as exc:
                frag.errors.append(_error("box_error", f"event track sample {k}: {exc}", offset))
    frag.messages.sort(key=lambda m: m.ordinal)


def _carrier(frag: Fragmented, segment: int) -> Track | None:
    """The track an emsg of this segment times against: its video track, else the first."""
    present = [t for (seg, t) in frag.segment_starts if seg == segment]
    tracks = [frag.tracks[t] for t in sorted(present) if t in frag.tracks]
    video = [t for t in tracks if t.role == "video"]
    return (video or tracks or [None])[0]


def _time_messages(frag: Fragmented) -> None:
    """Put each emsg on the 90 kHz clock: v0 from its segment's earliest presentation time
    (23009-1 5.10.3.3.4), v1 from ``presentation_time`` on the track timeline."""
    for msg in frag.messages:
        if msg.carriage != "emsg":
            continue
        box = msg.box
        track = _carrier(frag, msg.segment)
        ept = None
        if track is not None:
            msg.track_id = track.track_id
            ticks = frag.segment_starts.get((msg.segment, track.track_id))
            ept = None if ticks is None else to_90k(ticks, track.timescale)
        msg.arrival = ept
        if not box.timescale:
            frag.errors.append(_error("emsg_timescale", "an emsg has timescale 0", msg.offset))
            continue
        if box.version == 0:
            if ept is not None:
                msg.time = ept + to_90k(box.presentation_time_delta, box.timescale)
        else:
            msg.time = to_90k(box.presentation_time, box.timescale)


def _error(kind: str, detail: str, offset: int) -> dict[str, Any]:
    return {
        "type": kind,
        "priority": 2,
        "packet": None,
        "offset": offset,
        "pid": None,
        "detail": detail,
    }


def _top(st: _State, data: memoryview, hdr: BoxHeader, base: int) -> None:
    kind = hdr.type
    if kind == b"moov":
        _moov(st, data, hdr)
    elif kind == b"styp":
        st.styp_seen = True
        st.segment += 1
    elif kind == b"emsg":
        box = parse(data, hdr)
        if box.version > 1:
            raise BoxError(f"emsg at byte {hdr.offset} has version {box.version}; 0 and 1 exist")
        st.pending.append(Message("emsg", box, base + hdr.offset, st.count, -1, None))
    elif kind == b"moof":
        if not st.styp_seen or st.segment < 0:
            st.segment += 1  # without styp, each fragment is a segment of its own
        for msg in st.pending:
            msg.segment = st.segment
            st.messages.append(msg)
        st.pending = []
        _moof(st, data, hdr, base)


def _moov(st: _State, data: memoryview, moov: BoxHeader) -> None:
    if first(data, moov, b"mvex") is None:
        raise UnfragmentedMp4Error(
            "not a fragmented MP4 (its moov has no mvex): only fragmented MP4 is read "
            "(CMAF, DASH or HLS fMP4 segments)"
        )
    trex: dict[int, bx.TrackExtends] = {}
    movie_scale = 1000
    for child in children(data, moov):
        if child.type == b"mvhd":
            movie_scale = parse(data, child).timescale or 1000
        if child.type == b"mvex":
            for t in children(data, child):
                if t.type == b"trex":
                    ext = parse(data, t)
                    trex[ext.track_ID] = ext
    for trak in children(data, moov):
        if trak.type != b"trak":
            continue
        tkhd = first(data, trak, b"tkhd")
        mdia = first(data, trak, b"mdia")
        if tkhd is None or mdia is None:
            raise BoxError(f"trak at byte {trak.offset} has no tkhd or mdia")
        track_id = parse(data, tkhd).track_ID
        mdhd, hdlr = first(data, mdia, b"mdhd"), first(data, mdia, b"hdlr")
        if mdhd is None or hdlr is None:
            raise BoxError(f"track {track_id}: mdia has no mdhd or hdlr")
        timescale = parse(data, mdhd).timescale
        if not timescale:
            raise BoxError(f"track {track_id}: mdhd timescale is 0")
        handler = parse(data, hdlr).handler_type
        entry = "?"
        minf = first(data, mdia, b"minf")
        stbl = first(data, minf, b"stbl") if minf is not None else None
        stsd = first(data, stbl, b"stsd") if stbl is not None else None
        if stsd is not None:
            entries = list(children(data, stsd, bx.SampleDescription.CHILDREN_AT))
            if entries:
                entry = entries[0].name
        st.tracks[track_id] = Track(
            track_id,
            handler,
            timescale,
            entry,
            trex.get(track_id, bx.TrackExtends(track_ID=track_id)),
            _edit_shift(data, trak, timescale, movie_scale),
        )


def _edit_shift(data: memoryview, trak: BoxHeader, timescale: int, movie_scale: int) -> int:
    """Media ticks to add to decode + composition time to get presentation time: the empty
    edits before the first media edit, minus that edit's ``media_time`` (14496-12 8.6.6)."""
    edts = first(data, trak, b"edts")
    elst = first(data, edts, b"elst") if edts is not None else None
    if elst is None:
        return 0
    empty = 0
    for entry in parse(data, elst).entries:
        if entry.media_time == -1:
            empty += entry.segment_duration
            continue
        return empty * timescale // movie_scale - entry.media_time
    return empty * timescale // movie_scale


def _moof(st: _State, data: memoryview, moof: BoxHeader, base: int) -> None:
    for traf in children(data, moof):
        if traf.type != b"traf":
            continue
        tfhd_h = first(data, traf, b"tfhd")
        if tfhd_h is None:
            raise BoxError(f"traf at byte {base + traf.offset} has no tfhd")
        tfhd: bx.TrackFragmentHeader = parse(data, tfhd_h)
        track = st.tracks.get(tfhd.track_ID)
        if track is None:
            raise StreamError(
                f"fragment at byte {base + moof.offset} is for track {tfhd.track_ID}, "
                "which no init segment (moov) declares: give the init segment first"
            )
        defaults = track.defaults
        tfdt_h = first(data, traf, b"tfdt")
        decode = (
            parse(data, tfdt_h).base_media_decode_time
            if tfdt_h is not None
            else st.next_decode.get(tfhd.track_ID, 0)
        )
        data_base = tfhd.base_data_offset if tfhd.base_data_offset is not None else moof.offset
        pos = data_base
        dur_default = _pick(tfhd.default_sample_duration, defaults.default_sample_duration)
        size_default = _pick(tfhd.default_sample_size, defaults.default_sample_size)
        flags_default = _pick(tfhd.default_sample_flags, defaults.default_sample_flags)
        for run_h in children(data, traf):
            if run_h.type != b"trun":
                continue
            run: bx.TrackRun = parse(data, run_h)
            if run.data_offset is not None:
                pos = data_base + run.data_offset
            c = st.cols
            for i, s in enumerate(run.samples):
                duration = _pick(s.sample_duration, dur_default)
                size = _pick(s.sample_size, size_default)
                if i == 0 and run.first_sample_flags is not None:
                    flags = run.first_sample_flags
                else:
                    flags = _pick(s.sample_flags, flags_default)
                cto = s.sample_composition_time_offset or 0
                c["track_id"].append(tfhd.track_ID)
                c["decode"].append(decode)
                c["pts"].append(decode + cto + track.shift)
                c["duration"].append(duration)
                c["size"].append(size)
                c["flags"].append(flags)
                c["offset"].append(base + pos)
                c["segment"].append(st.segment)
                c["ordinal"].append(st.count)
                st.count += 1
                decode += duration
                pos += size
        st.next_decode[tfhd.track_ID] = decode


def _pick(value: int | None, default: int) -> int:
    return default if value is None else value


def _segment_starts(samples: dict[str, np.ndarray]) -> dict[tuple[int, int], int]:
    out: dict[tuple[int, int], int] = {}
    seg, trk, pts = samples["segment"], samples["track_id"], samples["pts"]
    for s, t, p in zip(seg.tolist(), trk.tolist(), pts.tolist(), strict=True):
        key = (s, t)
        if key not in out or p < out[key]:
            out[key] = p
    return out
