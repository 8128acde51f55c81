"""``probe()``: a transport stream as tidy pandas tables (pids, frames, cues, errors, packets).

Times are integer ticks (PTS/DTS and SCTE-35 times in 90 kHz, PCR in 27 MHz) with seconds
in extra ``*_seconds`` / ``*_time`` columns. Stream time zero is the PTS of the first video
frame; every PTS is unwrapped across the 2**33 wrap before seconds are derived.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import os
import sys
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from scte35lab.analysis.fmp4 import is_fmp4_source, scan_fmp4
from scte35lab.clock import PCR_HZ, PCR_WRAP, PTS_HZ, PTS_WRAP, pts_diff
from scte35lab.cue import Cue
from scte35lab.cue.summary import cue_summary
from scte35lab.errors import (
    NotTransportStreamError,
    Scte35Error,
    StreamError,
    UnfragmentedMp4Error,
)
from scte35lab.inputkind import InputKind, look, source_name
from scte35lab.ts.cuecolumns import CUE_COLUMNS, CUE_FLOAT_COLUMNS, CUE_INT_COLUMNS
from scte35lab.ts.scan import CHUNK_BYTES, VIDEO, Scanner, ScanResult
from scte35lab.ts.streamzero import stream_zero

log = logging.getLogger(__name__)

Source = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO
PROGRESS_MIN_BYTES = 300 << 20

_ROLES = ["video", "audio", "scte35", "psi", "null", "other"]


def probe(
    source: Source,
    *,
    progress: bool | Callable[[int], None] | None = None,
    pids: list[int] | set[int] | None = None,
    packets: bool = False,
    lenient: bool = False,
    chunk_bytes: int = CHUNK_BYTES,
) -> Probe:
    """Read a capture once and return its tables.

    ``source`` is a path, bytes, or a binary file object. ``progress`` shows a tqdm bar
    (default: on in a terminal or notebook for files over 300 MB) or is a callable given the
    bytes read so far. ``pids`` limits frames, cues and packets to those PIDs. ``packets``
    builds the per-packet table in the same pass (otherwise ``.packets`` reads again).

    Fragmented MP4 (CMAF, DASH or HLS fMP4: a file, bytes, a list of init and segments, a
    playlist or MPD of them) is read too, into the same tables. Other input that is not
    MPEG-TS (a plain MP4, FLV, text, empty, shorter than a packet) raises
    :class:`NotTransportStreamError` naming what it looks like; a damaged or cut transport
    stream is read, and what is wrong with it is in ``.errors``.

    ``lenient`` decodes cues that break the syntax (``Cue.decode(strict=False)``) and adds a
    ``decode_problems`` column listing what each breaks.

    ``chunk_bytes`` is how much is read and processed at once (a range probe on Dask splits
    the capture on this grid).
    """
    if is_fmp4_source(source):
        try:
            return probe_fmp4(source)
        except UnfragmentedMp4Error as exc:
            kind, _ = look(source) if isinstance(source, str | os.PathLike) else (None, None)
            raise NotTransportStreamError(
                f"{source_name(source)} is an MP4/ISO BMFF file (ftyp box), not fragmented "
                "(its moov has no mvex: probe reads fragmented MP4 such as CMAF), not MPEG-TS",
                kind=kind,
            ) from exc
    pid_set = {int(p) for p in pids} if pids is not None else None
    kind, source = look(source)
    read = reader_for(kind, source_name(source))
    result = read(source, progress=progress, pids=pid_set, packets=packets, chunk_bytes=chunk_bytes)
    return Probe(result, source=source, pids=pid_set, lenient=lenient)


def reader_for(kind: InputKind, name: str) -> Callable[..., ScanResult]:
    """The reader for an input of ``kind`` (see :mod:`scte35lab.inputkind`): the one place
    where what an input is decides how it is read. MPEG-TS goes to the TS scanner; anything
    else is a :class:`NotTransportStreamError` that names what it looks like instead."""
    if kind.kind == "ts":
        return _scan
    raise NotTransportStreamError(kind.message(name), kind=kind)


def probe_fmp4(source: Source | list) -> Probe:
    """The tables of a fragmented MP4 / CMAF source (a file, bytes, a list of an init and
    media segments, or an HLS playlist / MPD of fMP4 segments): see ``analysis.fmp4``."""
    return Probe(scan_fmp4(source), source=source)


def _source_size(source: Source) -> int | None:
    if isinstance(source, bytes | bytearray | memoryview):
        return len(source)
    if isinstance(source, str | os.PathLike):
        try:
            return os.path.getsize(source)
        except OSError:
            return None
    try:
        pos = source.tell()
        end = source.seek(0, io.SEEK_END)
        source.seek(pos)
        return end - pos
    except (AttributeError, OSError, ValueError):
        return None


def _interactive() -> bool:
    if "ipykernel" in sys.modules:
        return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def _scan(
    source: Source,
    *,
    progress: bool | Callable[[int], None] | None,
    pids: set[int] | None,
    packets: bool,
    chunk_bytes: int = CHUNK_BYTES,
) -> ScanResult:
    size = _source_size(source)
    bar = None
    callback: Callable[[int], None] | None = None
    if callable(progress):
        callback = progress
    else:
        show = (
            progress
            if progress is not None
            else (size is not None and size >= PROGRESS_MIN_BYTES and _interactive())
        )
        if show:
            from tqdm.auto import tqdm

            bar = tqdm(total=size, unit="B", unit_scale=True, desc="probe", leave=False)
            last = [0]

            def callback(done: int) -> None:
                bar.update(done - last[0])
                last[0] = done

    try:
        return Scanner(packets=packets, pids=pids, progress=callback, chunk_bytes=chunk_bytes).scan(
            source
        )
    finally:
        if bar is not None:
            bar.close()


def _unwrap(pts: np.ndarray) -> np.ndarray:
    """Unwrap one PID's 33-bit timestamps (file order; -1 = absent stays -1)."""
    out = pts.astype(np.int64).copy()
    have = np.flatnonzero(pts >= 0)
    if len(have) < 2:
        return out
    v = pts[have]
    d = np.diff(v)
    step = (d < -(PTS_WRAP >> 1)).astype(np.int64) - (d > (PTS_WRAP >> 1)).astype(np.int64)
    out[have] = v + np.concatenate(([0], np.cumsum(step))) * PTS_WRAP
    return out


class Probe:
    """The tables of one transport stream. Print it, or read ``.pids``, ``.frames``,
    ``.cues``, ``.errors``, ``.packets`` and ``.keyframes``."""

    def __init__(
        self, result: ScanResult, *, source: Source | None = None, pids=None, lenient: bool = False
    ) -> None:
        self._r = result
        self._lenient = lenient
        self._source = source
        self._pid_filter = pids
        self.packet_size: int = result.packet_size
        self.packet_count: int = result.packets
        self.size: int = result.bytes
        self.name: str = (
            os.fspath(source)
            if isinstance(source, str | os.PathLike)
            else f"<{type(source).__name__}>"
        )
        self.zero_pts: int | None = None  # PTS of the first video frame (stream time zero)
        # set by scale.probe_ranges: how many ranges, how many scanned twice
        self.stitch_stats: Any = None
        self._all_frames = self._frames()  # every video PID stays, for cue arrivals
        self.frames = (
            self._all_frames
            if pids is None
            else self._all_frames[self._all_frames["pid"].isin(pids)].reset_index(drop=True)
        )
        self.pids = self._pids()
        self.cues = self._cues()
        self.errors = self._errors()
        self._packets: pd.DataFrame | None = (
            self._packet_frame(result.packet_columns) if result.packet_columns is not None else None
        )

    # ----------------------------------------------------------------- tables

    @property
    def keyframes(self) -> pd.DataFrame:
        """Video frames that are keyframes (IDR / IRAP)."""
        f = self.frames
        return f[f["keyframe"]]

    @property
    def video(self) -> pd.DataFrame:
        """Video frames only."""
        f = self.frames
        return f[f["role"] == VIDEO]

    @property
    def duration(self) -> float | None:
        """Seconds between the first and last PCR of the first PCR PID, if any."""
        span = self._pcr_span()
        return None if span is None else span[1] / PCR_HZ

    @property
    def packets(self) -> pd.DataFrame:
        """One row per packet. Built on first use (reads the source again) unless
        ``probe(..., packets=True)``."""
        if self._packets is None:
            src = self._source
            if src is None:
                raise StreamError("no source to read packets from")
            if hasattr(src, "read"):
                try:
                    src.seek(0)
                except (AttributeError, OSError, ValueError) as e:
                    raise StreamError(
                        "cannot read this source twice: use probe(..., packets=True)"
                    ) from e
            r = Scanner(packets=True, pids=self._pid_filter).scan(src)
            self._packets = self._packet_frame(r.packet_columns or {})
        return self._packets

    def _pcr_span(self) -> tuple[int, int] | None:
        r = self._r
        for pid, val in r.pcr_value.items():
            if len(val) >= 2:
                pk = r.pcr_packet[pid]
                return int(pk[-1] - pk[0]), int((val[-1] - val[0]) % PCR_WRAP)
        return None

    def _frames(self) -> pd.DataFrame:
        c = self._r.frames
        info = self._r.pid_info
        pid = c.get("pid", np.zeros(0, dtype=np.uint16)).astype(np.uint16)
        pts = c.get("pts", np.zeros(0, dtype=np.int64)).astype(np.int64)
        dts = c.get("dts", np.zeros(0, dtype=np.int64)).astype(np.int64)
        upts = np.full(len(pts), -1, dtype=np.int64)
        udts = np.full(len(dts), -1, dtype=np.int64)
        uniq = np.unique(pid).tolist()
        zero = stream_zero(self._r)
        self.zero_pts = None if zero is None else zero[1]
        for p in uniq:
            sel = np.flatnonzero(pid == p)
            up = _unwrap(pts[sel])
            ud = _unwrap(dts[sel])
            if zero is not None:
                have = np.flatnonzero(up >= 0)
                if len(have):
                    first = up[have[0]]
                    shift = zero[1] + pts_diff(int(first) % PTS_WRAP, zero[1]) - int(first)
                    up[have] += shift
                    hd = ud >= 0
                    ud[hd] += shift
            upts[sel] = up
            udts[sel] = ud
        roles = pd.Categorical(
            [info[p].role if p in info else "other" for p in pid.tolist()], categories=_ROLES
        )
        codecs = pd.Categorical([info[p].codec if p in info else None for p in pid.tolist()])
        z = zero[1] if zero is not None else 0
        df = pd.DataFrame(
            {
                "pid": pid,
                "role": roles,
                "codec": codecs,
                "packet": c.get("packet", np.zeros(0, dtype=np.int64)),
                "offset": c.get("offset", np.zeros(0, dtype=np.int64)),
                "pts": pd.array(np.where(pts >= 0, pts, 0), dtype="Int64"),
                "dts": pd.array(np.where(dts >= 0, dts, 0), dtype="Int64"),
                "pts_seconds": np.where(upts >= 0, upts / PTS_HZ, np.nan),
                "dts_seconds": np.where(udts >= 0, udts / PTS_HZ, np.nan),
                "stream_time": np.where(upts >= 0, (upts - z) / PTS_HZ, np.nan),
                "size": c.get("size", np.zeros(0, dtype=np.int64)),
                "keyframe": c.get("keyframe", np.zeros(0, dtype=bool)),
                "random_access": c.get("random_access", np.zeros(0, dtype=bool)).astype(bool),
                "recovery_point": c.get("recovery_point", np.zeros(0, dtype=bool)),
                "picture_type": pd.Categorical(
                    c.get("picture_type", np.zeros(0, dtype=object)),
                    categories=["I", "P", "B", "SP", "SI"],
                ),
                "stream_id": c.get("stream_id", np.zeros(0, dtype=np.uint8)).astype(np.uint8),
            }
        )
        df.loc[pts < 0, "pts"] = pd.NA
        df.loc[dts < 0, "dts"] = pd.NA
        self._upts = upts
        return df

    def _pids(self) -> pd.DataFrame:
        r = self._r
        total = max(int(r.counts.sum()), 1)
        span = self._pcr_span()
        mux_rate = None
        if span is not None and span[1] > 0:
            mux_rate = span[0] * 188 * 8 / (span[1] / PCR_HZ)
        rows = []
        seen = set(np.flatnonzero(r.counts).tolist()) | {
            p for p, i in r.pid_info.items() if i.program_number is not None
        }
        for pid in sorted(seen):
            info = r.pid_info.get(pid)
            n = int(r.counts[pid])
            role = info.role if info is not None else ("null" if pid == 0x1FFF else "other")
            rows.append(
                {
                    "pid": pid,
                    "program_number": info.program_number if info else None,
                    "stream_type": info.stream_type if info else None,
                    "codec": (info.codec if info else ("null" if pid == 0x1FFF else None)),
                    "role": role,
                    "carriage": info.carriage if info and info.carriage != "probe" else None,
                    "registration": info.registration if info else None,
                    "packets": n,
                    "share": n / total,
                    "bitrate": None if mux_rate is None else n / total * mux_rate,
                }
            )
        df = pd.DataFrame(
            rows,
            columns=[
                "pid",
                "program_number",
                "stream_type",
                "codec",
                "role",
                "carriage",
                "registration",
                "packets",
                "share",
                "bitrate",
            ],
        )
        df["pid"] = df["pid"].astype(np.uint16)
        df["program_number"] = df["program_number"].astype("Int64")
        df["stream_type"] = df["stream_type"].astype("Int64")
        df["role"] = pd.Categorical(df["role"], categories=_ROLES)
        df["packets"] = df["packets"].astype(np.int64)
        df["bitrate"] = df["bitrate"].astype(float)
        return df

    def _cues(self) -> pd.DataFrame:
        r = self._r
        zero = self.zero_pts
        rows = []
        video_of: dict[int | None, tuple[np.ndarray, np.ndarray]] = {}
        for cue in r.cues:
            if self._pid_filter is not None and cue["pid"] not in self._pid_filter:
                continue
            info = r.pid_info.get(cue["pid"])
            prog = info.program_number if info else None
            if prog not in video_of:
                video_of[prog] = self._video_timeline(prog)
            vpk, vpts = video_of[prog]
            if "arrival_pts" in cue:  # carried outside TS (fMP4): timed by its reader
                arrival = cue["arrival_pts"]
            else:
                j = int(np.searchsorted(vpk, cue["packet"], side="left")) - 1
                arrival = int(vpts[j]) if j >= 0 else None
            pcr = self._pcr_at(prog, cue["packet"])
            row: dict[str, Any] = {
                "packet": cue["packet"],
                "offset": cue["offset"],
                "pid": cue["pid"],
                "carriage": cue["carriage"],
                "arrival_pts": arrival,
                "arrival_time": None
                if arrival is None or zero is None
                else pts_diff(arrival, zero) / PTS_HZ,
                "pcr": pcr,
                "pcr_seconds": None if pcr is None else pcr / PCR_HZ,
                "pes_pts": cue["pes_pts"],
                "crc_ok": cue["crc_ok"],
                "base64": base64.b64encode(cue["section"]).decode("ascii"),
            }
            row.update(_cue_fields(cue["section"], strict=not self._lenient))
            if cue.get("splice_point") is not None:  # fMP4: the event's own presentation time
                row["splice_point"] = cue["splice_point"]
            sp = row.get("splice_point")
            row["splice_time"] = None if sp is None or zero is None else pts_diff(sp, zero) / PTS_HZ
            row["preroll"] = (
                None if sp is None or arrival is None else pts_diff(sp, arrival) / PTS_HZ
            )
            rows.append(row)
        cols = CUE_COLUMNS + (["decode_problems"] if self._lenient else [])
        df = pd.DataFrame(rows, columns=cols)
        df["packet"] = df["packet"].astype(np.int64)
        df["offset"] = df["offset"].astype(np.int64)
        df["decode_error"] = df["decode_error"].astype("string")
        if self._lenient:
            df["decode_problems"] = df["decode_problems"].astype("string")
        for col in CUE_INT_COLUMNS:
            df[col] = df[col].astype("Int64")
        df["pid"] = df["pid"].astype(np.uint16)
        for col in CUE_FLOAT_COLUMNS:
            df[col] = df[col].astype(float)
        df["out_of_network_indicator"] = df["out_of_network_indicator"].astype("boolean")
        df["crc_ok"] = df["crc_ok"].astype(bool)
        for col in ("carriage", "command_name", "segmentation_type_name"):
            df[col] = df[col].astype("category")
        return df

    def _video_timeline(self, program: int | None) -> tuple[np.ndarray, np.ndarray]:
        f = self._all_frames
        info = self._r.pid_info
        vpids = [
            p
            for p, i in info.items()
            if i.role == VIDEO and (program is None or i.program_number == program)
        ] or [p for p, i in info.items() if i.role == VIDEO]
        if not vpids:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        sel = (f["pid"] == min(vpids)).to_numpy() & f["pts"].notna().to_numpy()
        return f["packet"].to_numpy()[sel], f["pts"].to_numpy(dtype=np.int64, na_value=-1)[sel]

    def _pcr_at(self, program: int | None, packet: int) -> int | None:
        r = self._r
        pmt = r.programs.get(program) if program is not None else None
        order = [pmt.pcr_pid] if pmt is not None else []
        order += list(r.pcr_packet)
        for pid in order:
            pk = r.pcr_packet.get(pid)
            if pk is None or not len(pk):
                continue
            j = int(np.searchsorted(pk, packet, side="right")) - 1
            if j >= 0:
                return int(r.pcr_value[pid][j])
            return None
        return None

    def _errors(self) -> pd.DataFrame:
        df = pd.DataFrame(
            self._r.errors, columns=["type", "priority", "packet", "offset", "pid", "detail"]
        )
        df["type"] = df["type"].astype("category")
        df["detail"] = df["detail"].astype("string")
        df["priority"] = df["priority"].astype(np.int8)
        for col in ("packet", "offset", "pid"):
            df[col] = df[col].astype("Int64")
        df = df.sort_values("packet", kind="stable", na_position="last").reset_index(drop=True)
        return df

    def _packet_frame(self, cols: dict[str, np.ndarray]) -> pd.DataFrame:
        if not cols:
            return pd.DataFrame(columns=["packet", "offset", "pid", "pusi", "cc", "pcr"])
        df = pd.DataFrame(cols)
        if self._pid_filter is not None:
            df = df[df["pid"].isin(self._pid_filter)].reset_index(drop=True)
        pcr = df["pcr"].to_numpy()
        df["pcr"] = pd.array(np.where(pcr >= 0, pcr, 0), dtype="Int64")
        df.loc[pcr < 0, "pcr"] = pd.NA
        return df

    # ---------------------------------------------------------------- display

    def summary(self) -> dict[str, Any]:
        """Counts that say what this capture is, as a dict."""
        f = self.frames
        v = f[f["role"] == VIDEO]
        e = self.errors
        return {
            "source": self.name,
            "bytes": self.size,
            "packet_size": self.packet_size,
            "packets": self.packet_count,
            "duration": self.duration,
            "programs": sorted(self._r.programs),
            "video_frames": len(v),
            "keyframes": int(v["keyframe"].sum()),
            "cues": len(self.cues),
            "errors": int((e["priority"] > 0).sum()) if len(e) else 0,
        }

    def __repr__(self) -> str:
        s = self.summary()
        dur = "?" if s["duration"] is None else f"{s['duration']:.2f} s"
        return (
            f"<Probe {s['source']}: {s['packets']} packets of {s['packet_size']} B, {dur}, "
            f"programs {s['programs']}, {s['video_frames']} video frames "
            f"({s['keyframes']} keyframes), {s['cues']} cues, {s['errors']} errors>"
        )

    def _repr_html_(self) -> str:
        s = self.summary()
        head = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
            f"<td style='text-align:left'>{html.escape(str(v))}</td></tr>"
            for k, v in s.items()
        )
        parts = [
            f"<h4>Probe</h4><table>{head}</table>",
            "<h5>pids</h5>",
            self.pids.to_html(index=False),
        ]
        if len(self.cues):
            cols = [
                "packet",
                "pid",
                "command_name",
                "splice_event_id",
                "splice_point",
                "splice_time",
                "arrival_time",
                "preroll",
                "crc_ok",
            ]
            parts += ["<h5>cues</h5>", self.cues[cols].head(20).to_html(index=False)]
        if len(self.errors):
            parts += ["<h5>errors</h5>", self.errors.head(20).to_html(index=False)]
        return "".join(parts)


def _cue_fields(section: bytes, *, strict: bool = True) -> dict[str, Any]:
    """The key fields of one SCTE-35 section, as the codec decodes them."""
    out: dict[str, Any] = {}
    try:
        cue = Cue.decode(section, check_crc=False, strict=strict)
    except Scte35Error as e:
        out["decode_error"] = str(e)
        out["key"] = None
        return out
    if cue.problems:
        out["decode_problems"] = "; ".join(str(p) for p in cue.problems)
    out.update(cue_summary(cue))
    return out
