"""The probe's frames: one row per PES packet of the PIDs it reads (timestamps and sizes with
numpy a chunk at a time), and for H.264 and HEVC video the picture each access unit starts
with (keyframe, recovery point, picture type), read from its first packets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from scte35lab.ts import nal
from scte35lab.ts.packets import TS_PACKET_SIZE, PacketTable
from scte35lab.ts.pes import parse_pes_header, pes_timestamps
from scte35lab.ts.psi import VIDEO
from scte35lab.ts.scan_result import PidInfo

NAL_SCAN_PACKETS = 48  # give up looking for the first slice header after this many packets
FRAME_LIST_COLUMNS = (
    "pid",
    "packet",
    "offset",
    "pts",
    "dts",
    "stream_id",
    "random_access",
    "header_length",
)

CheckDts = Callable[[int, np.ndarray, np.ndarray, int, int, int], None]


def _reread_cut_headers(
    ts: Any, cut: np.ndarray, rows: np.ndarray, t: Any, g: np.ndarray, starts: np.ndarray
) -> None:
    """PES headers that go on past their first packet (ISO 13818-1 allows it, e.g. after a
    long adaptation field): read them again from the PID's next packets in the chunk."""
    nexts = np.append(starts[1:], len(g))
    for k in cut.tolist():
        s = int(starts[k])
        data = bytearray()
        for jj in range(s, min(int(nexts[k]), s + 4)):
            i = int(g[jj])
            if t.payload_len[i] > 0:
                data += rows[i, int(t.payload_start[i]) : TS_PACKET_SIZE].tobytes()
            if len(data) >= 19:
                break
        h = parse_pes_header(bytes(data))
        if h is None:
            continue
        ts.valid[k] = True
        ts.stream_id[k] = h.stream_id
        ts.pes_packet_length[k] = h.pes_packet_length
        ts.header_length[k] = h.header_length
        ts.pts[k] = -1 if h.pts is None else h.pts
        ts.dts[k] = ts.pts[k] if h.dts is None else h.dts


@dataclass
class _Pending:
    """A video access unit whose first slice header lies beyond the chunk read so far."""

    row: int  # index into the frame lists
    data: bytearray
    packets: int


class _FrameLists:
    def __init__(self) -> None:
        self.cols: dict[str, list[np.ndarray]] = {k: [] for k in FRAME_LIST_COLUMNS}
        self.n = 0
        # filled per row later (Python-side, indexed by global frame row)
        self.size: list[int] = []
        self.keyframe: list[bool] = []
        self.recovery_point: list[bool] = []
        self.picture_type: list[str | None] = []


def _picture(data: bytearray, state: nal.HevcState | None) -> nal.PictureInfo:
    return nal.h264_picture(data) if state is None else nal.hevc_picture(data, state)


class FrameTable:
    """The frame rows so far, and the PES and access units that go on into the next chunk."""

    def __init__(self) -> None:
        self.lists = _FrameLists()
        self.open_size: dict[int, int] = {}  # pid -> frame row whose size is still growing
        self.pending: dict[int, _Pending] = {}
        self.hevc: dict[int, nal.HevcState] = {}

    def read(
        self,
        rows: np.ndarray,
        t: PacketTable,
        groups: dict[int, np.ndarray],
        base: int,
        offset0: int,
        ps: int,
        *,
        pid_info: dict[int, PidInfo],
        pes_roles: np.ndarray,
        pid_filter: set[int] | None,
        check_dts: CheckDts,
    ) -> None:
        """The PES starts of this chunk on the PIDs ``pes_roles`` marks (of ``pid_filter``,
        and video always); ``check_dts`` sees each PID's timestamps."""
        fr = self.lists
        for pid, g in groups.items():
            if not pes_roles[pid]:
                continue
            info = pid_info[pid]
            if pid_filter is not None and pid not in pid_filter and info.role != VIDEO:
                continue  # video stays: cue arrivals are measured against it
            pl = t.payload_len[g].astype(np.int64)
            starts = np.flatnonzero(t.pusi[g] & (pl > 0) & (g + base >= info.since))
            # sizes: payload bytes from each start to the next start
            cs = np.concatenate(([0], np.cumsum(pl)))
            open_row = self.open_size.get(pid)
            if open_row is not None:
                end = starts[0] if len(starts) else len(g)
                fr.size[open_row] += int(cs[end])
            if not len(starts):
                if pid in self.pending:
                    self._continue_pending(pid, info.codec, rows, t, g)
                continue
            if pid in self.pending:
                self._continue_pending(pid, info.codec, rows, t, g[: starts[0]])
                self.pending.pop(pid, None)
            ends = np.append(starts[1:], len(g))
            sizes = (cs[ends] - cs[starts]).tolist()
            gi = g[starts]
            ts = pes_timestamps(rows[gi], t.payload_start[gi])
            cut = np.flatnonzero(TS_PACKET_SIZE - t.payload_start[gi].astype(np.int64) < 19)
            if len(cut):
                _reread_cut_headers(ts, cut, rows, t, g, starts)
            first_row = fr.n
            k = len(gi)
            fr.cols["pid"].append(np.full(k, pid, dtype=np.uint16))
            fr.cols["packet"].append(gi.astype(np.int64) + base)
            fr.cols["offset"].append(gi.astype(np.int64) * ps + offset0)
            fr.cols["pts"].append(ts.pts)
            fr.cols["dts"].append(ts.dts)
            fr.cols["stream_id"].append(ts.stream_id)
            fr.cols["random_access"].append(t.random_access[gi])
            hl = np.where(ts.valid, ts.header_length, 0).astype(np.int64)
            fr.cols["header_length"].append(hl)
            fr.size += [s - h for s, h in zip(sizes, hl.tolist(), strict=True)]
            fr.n += k
            self.open_size[pid] = fr.n - 1
            fr.keyframe += [False] * k
            fr.recovery_point += [False] * k
            fr.picture_type += [None] * k
            if info.role == VIDEO:
                self._access_units(pid, info.codec, rows, t, g, starts, ts, first_row)
            check_dts(pid, ts.dts, gi, base, offset0, ps)

    def _access_units(self, pid, codec, rows, t, g, starts, ts, first_row) -> None:
        hevc = codec == "hevc"
        if not hevc and codec != "h264":
            return
        state = self.hevc.setdefault(pid, nal.HevcState()) if hevc else None
        n_g = len(g)
        nexts = np.append(starts[1:], n_g).tolist()
        pstart = t.payload_start
        plen = t.payload_len
        hl = ts.header_length.tolist()
        valid = ts.valid.tolist()
        # most access units are read from their first packet at once; the rest below
        gi = g[starts]
        es = np.where(ts.valid, pstart[gi].astype(np.int64) + ts.header_length, 999)
        if hevc:
            b = nal.hevc_pictures(rows[gi, :TS_PACKET_SIZE], es, state)
            names = nal.HEVC_PICTURE_NAMES
        else:
            b = nal.h264_pictures(rows[gi, :TS_PACKET_SIZE], es)
            names = nal.H264_PICTURE_NAMES
        n = len(starts)
        fr = self.lists
        fr.keyframe[first_row : first_row + n] = b.keyframe.tolist()
        fr.picture_type[first_row : first_row + n] = names[b.slice_type].tolist()  # -1: None
        todo = ~b.done
        for k, s in enumerate(starts.tolist()):
            if not valid[k] or not todo[k]:
                continue
            i = int(g[s])
            es = int(pstart[i]) + hl[k]
            data = (
                bytearray(rows[i, es:TS_PACKET_SIZE].tobytes())
                if es < TS_PACKET_SIZE
                else bytearray()
            )
            j = s + 1
            stop = min(nexts[k], s + NAL_SCAN_PACKETS)
            while True:
                info = _picture(data, state)
                if info.complete or j >= stop:
                    break
                # more bytes: the next packets of this PID in the chunk
                upto = min(stop, j + 4)
                for jj in range(j, upto):
                    ii = int(g[jj])
                    if plen[ii] > 0:
                        data += rows[ii, int(pstart[ii]) : TS_PACKET_SIZE].tobytes()
                j = upto
            if info.complete or nexts[k] < n_g or s + NAL_SCAN_PACKETS <= n_g - 1:
                self._set_picture(first_row + k, info)
            else:
                # the access unit goes on in the next chunk
                self.pending[pid] = _Pending(first_row + k, data, j - s)

    def _continue_pending(self, pid, codec, rows, t, g) -> None:
        """Feed an access unit left pending by the last chunk the packets ``g`` of its PID."""
        p = self.pending.get(pid)
        if p is None:
            return
        state = self.hevc.setdefault(pid, nal.HevcState()) if codec == "hevc" else None
        info = None
        for ii in g.tolist():
            if p.packets >= NAL_SCAN_PACKETS:
                break
            if t.pusi[ii]:
                break
            if t.payload_len[ii] > 0:
                p.data += rows[ii, int(t.payload_start[ii]) : TS_PACKET_SIZE].tobytes()
            p.packets += 1
            info = _picture(p.data, state)
            if info.complete:
                break
        if info is None:
            info = _picture(p.data, state)
        self._set_picture(p.row, info)
        if info.complete or p.packets >= NAL_SCAN_PACKETS or (len(g) and t.pusi[g].any()):
            self.pending.pop(pid, None)

    def _set_picture(self, row: int, info: nal.PictureInfo) -> None:
        fr = self.lists
        fr.keyframe[row] = info.keyframe
        fr.recovery_point[row] = info.recovery_point
        fr.picture_type[row] = info.picture_type

    def columns(self) -> dict[str, np.ndarray]:
        """The frame table's columns, rows in packet order."""
        fr = self.lists
        cols = {
            k: (np.concatenate(v) if v else np.zeros(0, dtype=np.int64)) for k, v in fr.cols.items()
        }
        cols["size"] = np.asarray(fr.size, dtype=np.int64)
        cols["keyframe"] = np.asarray(fr.keyframe, dtype=bool)
        cols["recovery_point"] = np.asarray(fr.recovery_point, dtype=bool)
        cols["picture_type"] = np.asarray(fr.picture_type, dtype=object)
        if len(cols["packet"]):
            order = np.argsort(cols["packet"], kind="stable")
            cols = {k: v[order] for k, v in cols.items()}
        return cols
