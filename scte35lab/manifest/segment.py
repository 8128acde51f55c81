"""Cut an MPEG-TS stream into segments at IDR packet boundaries, with a cut forced at every
splice point, and collect the cues it carries as timed events.

The :class:`Segmenter` takes TS bytes in any chunking (a file read in blocks, a live pipe)
and gives back finished :class:`Segment` objects; VOD packaging is the same stages fed a
whole file. Times are unwrapped 90 kHz ticks (a PTS wrap at 2**33 keeps counting up).
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, field

import numpy as np

from scte35lab.cue import Cue
from scte35lab.errors import Scte35Error, StreamError
from scte35lab.ts.demux import AccessUnit, Demux
from scte35lab.ts.packets import find_sync
from scte35lab.ts.pes import CLOCK, PTS_WRAP, pts_diff
from scte35lab.ts.psi import SCTE35_TABLE_ID, VIDEO_STREAM_TYPES, Pat, crc_ok

log = logging.getLogger(__name__)

TS = 188

# Segmentation types that open (OUT) or close (IN) a break or a segment (SCTE 35 table 23).
START_TYPES = frozenset(
    {0x10, 0x14, 0x17, 0x20, 0x22, 0x30, 0x32, 0x34, 0x36, 0x38, 0x3A, 0x3C, 0x3E, 0x40, 0x44}
    | {0x46, 0x50}
)
END_TYPES = frozenset(
    {0x11, 0x15, 0x18, 0x21, 0x23, 0x31, 0x33, 0x35, 0x37, 0x39, 0x3B, 0x3D, 0x3F, 0x41, 0x45}
    | {0x47, 0x51}
)


@dataclass
class CueEvent:
    """One distinct cue of the stream, placed on the unwrapped timeline."""

    section: bytes
    cue: Cue
    splice: int  # unwrapped splice PTS (arrival when the cue is immediate)
    arrival: int | None  # unwrapped PTS of the video frame before the cue's packet
    kind: str  # "out", "in" or "cmd"
    event_id: int | None  # splice_event_id or segmentation_event_id
    duration: int | None  # break_duration / segmentation_duration in ticks
    immediate: bool = False

    @property
    def base64(self) -> str:
        return base64.b64encode(self.section).decode("ascii")

    @property
    def hex(self) -> str:
        return "0x" + self.section.hex().upper()

    @property
    def pair_key(self) -> tuple[str, int | None]:
        """What an IN matches its OUT on: the command family and the event id."""
        return (self.cue.command_name, self.event_id)


def classify(cue: Cue) -> tuple[str, int | None, int | None]:
    """(kind, event id, duration ticks) of a cue, as the HLS mapping of SCTE 35 reads it."""
    if cue.command_name == "splice_insert":
        kind = "out" if cue.out_of_network_indicator else "in"
        return kind, cue.splice_event_id, cue.break_duration
    for seg in cue.segmentation_descriptors:
        if seg.segmentation_type_id in START_TYPES:
            return "out", seg.segmentation_event_id, seg.segmentation_duration
        if seg.segmentation_type_id in END_TYPES:
            return "in", seg.segmentation_event_id, None
    segs = cue.segmentation_descriptors
    return "cmd", (segs[0].segmentation_event_id if segs else None), None


@dataclass
class Segment:
    """One finished media segment: its bytes and where it sits on the timeline."""

    index: int
    data: bytes
    start: int  # unwrapped PTS of its first presented video frame
    duration: int  # ticks
    independent: bool  # starts with a keyframe
    forced: bool  # cut here because of a splice point
    events: list[CueEvent] = field(default_factory=list)

    @property
    def end(self) -> int:
        return self.start + self.duration


class Segmenter:
    """Feed TS bytes; get segments cut at IDRs (about ``segment`` seconds) and at every
    splice point that is on an IDR (and every planned break end).

    Every segment starts with the latest PAT and PMT packets so that it can be decoded alone.
    The bytes are read once, as they come, by the shared :class:`~scte35lab.ts.demux.Demux`
    (video access units with their keyframe flags, SCTE-35 sections with their arrival);
    cuts are looked for each time ``probe_every`` more bytes (or a quarter of the open
    segment, if more) have come: a live segment is written that long after its end.
    """

    def __init__(self, segment: float = 2.0, *, probe_every: int = 64 << 10) -> None:
        if not segment > 0:
            raise ValueError(f"segment duration must be > 0, got {segment!r}")
        self.target = round(segment * CLOCK)
        self.zero: int | None = None  # raw PTS of the first video frame (stream time zero)
        self.events: list[CueEvent] = []
        self._seen: set[bytes] = set()
        self._pending = bytearray()  # bytes of the open segment (plus what follows)
        self._tail = b""  # a partial packet left over from the last feed
        self._synced = False
        self._psi: dict[int, bytes] = {}  # pid -> last PAT/PMT packet seen
        self._psi_pids: set[int] = {0}
        self._prefix = b""  # PSI packets to put before the open segment
        self._seg_start: int | None = None
        self._seg_forced = False
        self._seg_independent = True
        self._ref: int | None = None  # last unwrapped PTS, for unwrapping
        self._last_frame: int | None = None
        self._frame_ticks = 3600
        self._forced: set[int] = set()
        self._attached: set[int] = set()
        self._index = 0
        self._bytes = 0
        self.probe_every = probe_every  # bytes to gather before looking for cuts again
        self._unprobed = 0
        self._demux = Demux(self, sizes=False)
        self._base = 0  # stream packet number of the first packet in _pending
        self._frames: list[tuple[int, int, bool]] = []  # (packet, raw PTS, keyframe) ended
        self._cues: list[tuple[bytes, int | None, int]] = []  # (section, arrival PTS, packet)

    # ------------------------------------------------------------ demux callbacks

    def on_pat(self, pat: Pat) -> None:
        """PMT PIDs: their packets travel with the segment that follows them."""
        self._psi_pids.update(pat.pmt_pids.values())

    def _video_pid(self) -> int | None:
        video = [pid for pid, (_, st) in self._demux.streams.items() if st in VIDEO_STREAM_TYPES]
        return min(video) if video else None

    def on_access_unit(self, au: AccessUnit) -> None:
        """A video frame of the first video PID, for the cuts."""
        if au.pts is not None and au.pid == self._video_pid():
            self._frames.append((au.offset // TS, au.pts, au.keyframe))

    def on_section(self, pid: int, section: bytes, offset: int) -> None:
        """An SCTE-35 section, with the PTS of the last video frame that started before it."""
        if section[0] != SCTE35_TABLE_ID or pid not in self._demux.scte35_pids:
            return
        vpid = self._video_pid()
        arrival = None if vpid is None else self._demux.video_pts.get(vpid)
        self._cues.append((section, arrival, offset // TS))

    # ---------------------------------------------------------------- timeline

    def _unwrap(self, pts: int) -> int:
        if self._ref is None:
            self._ref = pts
            return pts
        value = self._ref + pts_diff(pts % PTS_WRAP, self._ref % PTS_WRAP)
        if value > self._ref:
            self._ref = value
        return value

    def stream_time(self, ticks: int) -> float:
        """Seconds since stream time zero for an unwrapped PTS."""
        return (ticks - (self.zero or 0)) / CLOCK

    # ----------------------------------------------------------------- input

    def feed(self, data: bytes | bytearray | memoryview) -> list[Segment]:
        """Take more TS bytes; return the segments that are now complete."""
        buf = self._tail + bytes(data)
        if not self._synced:
            sync = find_sync(buf)
            if sync is None:
                self._tail = buf[-(TS * 5) :]
                return []
            offset, size = sync
            if size != TS:
                raise StreamError(
                    f"HLS/DASH packaging needs 188-byte TS packets, this stream has {size}-byte"
                )
            if offset:
                log.warning("skipped %d bytes before the first TS sync byte", offset)
            buf = buf[offset:]
            self._synced = True
        whole = len(buf) - len(buf) % TS
        self._tail = buf[whole:]
        if not whole:
            return []
        self._bytes += whole
        self._pending += buf[:whole]
        self._demux.feed(buf[:whole])
        self._unprobed += whole
        # look again after probe_every bytes, or a quarter of the open segment if that is
        # more: the open segment is read again each time, so this bounds that to ~4x
        if self._unprobed < max(self.probe_every, len(self._pending) // 4):
            return []
        self._unprobed = 0
        return self._cut(final=False)

    def flush(self) -> list[Segment]:
        """End of stream: close the open segment and return what is left."""
        if self._tail:
            log.warning("dropped %d bytes of a partial TS packet at the end", len(self._tail))
            self._tail = b""
        self._demux.flush()
        return self._cut(final=True)

    # ------------------------------------------------------------- internals

    def _remember_psi(self, chunk: np.ndarray, pids: np.ndarray) -> None:
        pusi = (chunk[:, 1] & 0x40) != 0
        for pid in self._psi_pids:
            hit = np.flatnonzero((pids == pid) & pusi)
            if len(hit):
                self._psi[pid] = chunk[hit[-1]].tobytes()

    def _open_frames(self) -> list[tuple[int, int, bool]]:
        """Frames ended so far plus the one still coming in (its start is enough)."""
        vpid = self._video_pid()
        frames = [f for f in self._frames if f[0] >= self._base]
        for au in self._demux.open_access_units():
            if au.pid == vpid and au.pts is not None:
                frames.append((au.offset // TS, au.pts, au.keyframe))
        return frames

    def _cut(self, *, final: bool) -> list[Segment]:
        if not self._pending:
            return []
        frames = self._open_frames()
        f_packet = np.array([f[0] - self._base for f in frames], dtype=np.int64)
        f_pts_raw = np.array([f[1] for f in frames], dtype=np.int64)
        f_key = np.array([f[2] for f in frames], dtype=bool)
        if self.zero is None and len(f_pts_raw):
            self.zero = int(f_pts_raw[0])
        # already-examined frames unwrap to the same values: unwrap from the segment start
        if self._seg_start is not None:
            self._ref = self._seg_start
        f_pts = np.array([self._unwrap(int(x)) for x in f_pts_raw], dtype=np.int64)
        if len(f_pts) > 1:
            steps = np.diff(np.sort(f_pts))
            steps = steps[steps > 0]
            if len(steps):
                self._frame_ticks = int(np.median(steps))
        self._register_cues()
        if self._seg_start is None and len(f_pts):
            self._seg_start = int(f_pts[0])
        if len(f_pts) and int(f_pts[0]) == self._seg_start:
            # the open segment's first frame: complete now, so its keyframe flag is known
            self._seg_independent = bool(f_key[0])

        out: list[Segment] = []
        arr = np.frombuffer(bytes(self._pending), dtype=np.uint8).reshape(-1, TS)
        pids = ((arr[:, 1].astype(np.int32) & 0x1F) << 8) | arr[:, 2]
        base = 0  # packet index in pending where the open segment starts
        i = 1 if len(f_pts) else 0
        while i < len(f_pts):
            cut = self._cut_reason(f_pts, f_key, i)
            if cut is None:
                i += 1
                continue
            at, forced = cut
            pkt = int(f_packet[at])
            # keep PAT/PMT that sit just before the IDR with it
            while pkt - 1 > base and int(pids[pkt - 1]) in self._psi_pids:
                pkt -= 1
            if pkt <= base:
                i = at + 1
                continue
            start = int(f_pts[at])
            out.append(self._emit(arr[base:pkt], pids[base:pkt], start))
            self._seg_start = start
            self._seg_forced = forced
            self._seg_independent = bool(f_key[at])
            base = pkt
            i = at + 1
        if len(f_pts):
            self._last_frame = int(f_pts.max())
        if final:
            if base < len(arr) and self._seg_start is not None:
                last = self._last_frame if self._last_frame is not None else self._seg_start
                end = last + self._frame_ticks
                out.append(self._emit(arr[base:], pids[base:], end, final=True))
            self._pending = bytearray()
            self._prefix = b""
            self._base += len(arr)
        else:
            self._pending = bytearray(arr[base:].tobytes())
            self._base += base
        self._frames = [f for f in self._frames if f[0] >= self._base]
        return out

    def _cut_reason(self, pts: np.ndarray, key: np.ndarray, i: int) -> tuple[int, bool] | None:
        """Whether frame ``i`` (decode order) starts a new segment: (frame, forced) or None.

        A splice point on a keyframe always starts a segment. One that is not on a keyframe
        cannot (the segment would not decode alone): it is logged, and only the date and
        section tags say where it is; condition the stream to put an IDR there.
        """
        start = self._seg_start
        if start is None:
            return None
        value = int(pts[i])
        if value <= start:
            return None
        for sp in sorted(sp for sp in self._forced if start < sp <= value):
            if sp == value and key[i]:
                return i, True
            if sp == value or not np.any(pts[i + 1 :] == sp):
                self._forced.discard(sp)
                log.warning(
                    "splice point %.3f s is not on a keyframe: no segment can start there "
                    "(condition the stream to put an IDR at the splice point)",
                    self.stream_time(sp),
                )
        if key[i] and value - start >= self.target - self._frame_ticks // 2:
            return i, False
        return None

    def _register_cues(self) -> None:
        cues, self._cues = self._cues, []
        for section, arrival, packet in cues:
            if section in self._seen:
                continue
            self._seen.add(section)
            if not crc_ok(section):
                log.warning("skipped a damaged cue at packet %d: CRC_32 does not match", packet)
                continue
            try:
                cue = Cue.decode(section)
            except Scte35Error as exc:
                log.warning("skipped a damaged cue at packet %d: %s", packet, exc)
                continue
            arrival_u = None if arrival is None else self._near(arrival)
            immediate = cue.splice_point is None
            if immediate:
                if arrival_u is None:
                    log.warning("skipped an immediate cue with no video before it")
                    continue
                splice = arrival_u
            else:
                splice = self._near(int(cue.splice_point))
            kind, event_id, duration = classify(cue)
            ev = CueEvent(section, cue, splice, arrival_u, kind, event_id, duration, immediate)
            self.events.append(ev)
            if kind != "cmd":  # a heartbeat or an announcement does not move a boundary
                self._forced.add(splice)
            if kind == "out" and duration:
                self._forced.add(splice + int(duration))
            log.debug("cue %s %s at %.3f s", cue.command_name, kind, self.stream_time(splice))

    def _near(self, raw: int) -> int:
        """Unwrap a raw PTS near the current timeline position."""
        ref = self._seg_start if self._seg_start is not None else self._ref
        if ref is None:
            return raw
        return ref + pts_diff(raw % PTS_WRAP, ref % PTS_WRAP)

    def _emit(
        self, rows: np.ndarray, pids: np.ndarray, end: int, *, final: bool = False
    ) -> Segment:
        start = self._seg_start if self._seg_start is not None else end
        data = self._prefix + rows.tobytes()
        seg = Segment(
            index=self._index,
            data=data,
            start=start,
            duration=max(end - start, 0),
            independent=self._seg_independent,
            forced=self._seg_forced,
        )
        for k, ev in enumerate(self.events):
            if k in self._attached:
                continue
            if ev.splice < seg.end or final:
                if ev.splice < seg.start:
                    log.warning(
                        "cue for %.3f s arrived after its splice point; signalled at %.3f s",
                        self.stream_time(ev.splice),
                        self.stream_time(seg.start),
                    )
                seg.events.append(ev)
                self._attached.add(k)
        self._remember_psi(rows, pids)
        self._prefix = b"".join(self._psi[k] for k in sorted(self._psi))
        self._index += 1
        return seg
