"""``verify()``: is every cue of a capture where it should be? One row per cue, ``ok`` and why.

The rules (DESIGN.md, "what frame-accurate means"): a cue's splice point
(``pts_time + pts_adjustment`` mod 2**33) must be the PTS of an IDR in the capture; it must
first arrive at least ``preroll`` seconds before that point (arrival = PTS of the last video
frame before the cue's packet; SCTE 67 asks for 4 s); it may be repeated until, never after,
the splice point; an out needs its in (or a signalled duration), and when both are there the
break they make should last what was signalled.

Reasons are short codes, so a test or a CI job can check them (``detail`` says it in words):

========================  =============================================================
``decode_error``          the section does not decode
``crc_error``             its CRC_32 does not match
``immediate``             splice_immediate (or no time): nothing to check it against
``splice_after_end``      the capture ends before the splice point
``off_idr``               no IDR has the splice point's PTS
``late``                  first arrival less than ``preroll`` before the splice point
``repeat_after_splice``   a copy arrived at or after the splice point
``unpaired``              an out with no in and no duration, or an in with no out
``duration_mismatch``     the in is more than one frame away from out + signalled duration
``missing_cue``           (with a schedule) a break edge no cue splices at
========================  =============================================================
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np
import pandas as pd

from scte35lab.analysis.fmp4 import is_fmp4_source
from scte35lab.analysis.probe import Probe, probe
from scte35lab.analysis.verify_manifest import is_manifest, read_manifest, verify_manifest
from scte35lab.clock import PTS_HZ, PTS_MASK, PTS_WRAP, pts_diff
from scte35lab.cue.tables import END_OF

log = logging.getLogger(__name__)

REASONS = (
    "decode_error",
    "crc_error",
    "immediate",
    "splice_after_end",
    "off_idr",
    "late",
    "repeat_after_splice",
    "unpaired",
    "duration_mismatch",
    "missing_cue",
)
_START_TYPES = frozenset(END_OF)
_END_TYPES = frozenset(END_OF.values())
_SPLICE_INSERT, _TIME_SIGNAL = 5, 6
_CHECKED_COMMANDS = frozenset({_SPLICE_INSERT, _TIME_SIGNAL})

COLUMNS = [
    "pid",
    "cue_id",
    "command_name",
    "kind",
    "splice_event_id",
    "segmentation_event_id",
    "segmentation_type_id",
    "segmentation_type_name",
    "first_packet",
    "first_arrival_pts",
    "first_arrival_time",
    "first_arrival_pcr_seconds",
    "last_arrival_time",
    "sends",
    "sends_after_splice",
    "splice_point",
    "splice_time",
    "nearest_idr_pts",
    "nearest_idr_time",
    "offset_frames",
    "offset_ms",
    "preroll",
    "preroll_pcr",
    "break_duration_signalled",
    "break_duration_actual",
    "pair_splice_time",
    "paired",
    "ok",
    "reasons",
    "detail",
]


def verify(
    source: Probe | str | os.PathLike | bytes,
    *,
    preroll: float = 4.0,
    schedule: Any = None,
) -> pd.DataFrame:
    """One row per cue of ``source`` (a capture or a ``Probe``): where it arrives, where it
    splices, the nearest IDR and the offset to it, pre-roll, repeats, pairing, ``ok`` and
    ``reasons``. With a ``Schedule``, rows name the break each cue belongs to (``cue_id``)
    and a break edge with no cue is a row of its own (``missing_cue``).

    ``df.attrs["summary"]`` holds the one-line summary (also :func:`summary`).

    An HLS playlist or DASH MPD (path, URL, or the table ``probe_playlist``/``probe_mpd``
    made of it) is checked as an SSAI reads it: see ``verify_manifest``. One whose cues
    travel only inside its fMP4/CMAF segments (``emsg``, event tracks: an MPD with just an
    ``InbandEventStream``) is checked from those, as a TS capture is.
    """
    if is_manifest(source):
        inband = isinstance(source, str | os.PathLike) and not len(read_manifest(source))
        if not (inband and is_fmp4_source(source)):
            return verify_manifest(source)
    p = source if isinstance(source, Probe) else probe(source)
    ctx = _Context(p)
    rows = _cue_rows(p, ctx, preroll)
    _pair(rows, ctx)
    if schedule is not None:
        rows += _schedule_rows(rows, schedule, ctx)
    for r in rows:
        r["ok"] = not r["_reasons"]
        r["reasons"] = ",".join(r["_reasons"])
        r["detail"] = "; ".join(r["_detail"])
    df = pd.DataFrame(rows, columns=COLUMNS)
    for c in (
        "pid",
        "splice_event_id",
        "segmentation_event_id",
        "segmentation_type_id",
        "first_packet",
        "first_arrival_pts",
        "sends",
        "sends_after_splice",
        "splice_point",
        "nearest_idr_pts",
    ):
        df[c] = df[c].astype("Int64")
    for c in (
        "first_arrival_time",
        "first_arrival_pcr_seconds",
        "last_arrival_time",
        "splice_time",
        "nearest_idr_time",
        "offset_frames",
        "offset_ms",
        "preroll",
        "preroll_pcr",
        "break_duration_signalled",
        "break_duration_actual",
        "pair_splice_time",
    ):
        df[c] = df[c].astype(float)
    df["paired"] = df["paired"].astype("boolean")
    df["ok"] = df["ok"].astype(bool)
    for c in ("command_name", "kind", "segmentation_type_name"):
        df[c] = df[c].astype("category")
    df = df.sort_values(["splice_time", "first_packet"], na_position="last", kind="stable")
    df = df.reset_index(drop=True)
    df.attrs["source"] = p.name
    df.attrs["preroll"] = preroll
    df.attrs["summary"] = summary(df, name=p.name, preroll=preroll)
    return df


def summary(df: pd.DataFrame, *, name: str | None = None, preroll: float | None = None) -> str:
    """One line: how many cues, how many ok, and the failures by reason (``EMPTY``, not
    ``PASS``, when there is no cue)."""
    name = name or df.attrs.get("source", "capture")
    preroll = preroll if preroll is not None else df.attrs.get("preroll", 4.0)
    cues = df[df["reasons"] != "missing_cue"]
    missing = int((df["reasons"] == "missing_cue").sum())
    bad = df[~df["ok"]]
    counts: dict[str, int] = {}
    for text in bad["reasons"]:
        for code in str(text).split(","):
            if code:
                counts[code] = counts.get(code, 0) + 1
    line = (
        f"{name}: {len(cues)} cues, {int(cues['ok'].sum())} ok, {int((~cues['ok']).sum())} failed"
    )
    if missing:
        line += f", {missing} scheduled splice(s) without a cue"
    if counts:
        line += " (" + ", ".join(f"{k} {v}" for k, v in counts.items()) + ")"
    if not len(df):  # no cue is no evidence: never a PASS
        return f"EMPTY {name}: 0 cues, nothing to verify; pre-roll >= {preroll:g} s"
    verdict = "PASS" if df["ok"].all() else "FAIL"
    return f"{verdict} {line}; pre-roll >= {preroll:g} s"


# ----------------------------------------------------------------------------- internals


class _Context:
    """The capture's video timeline: keyframe PTS, frame duration, first/last PTS."""

    def __init__(self, p: Probe) -> None:
        self.zero = p.zero_pts
        f = p.frames
        pids = p.pids
        video = pids[pids["role"] == "video"]
        self.video_of: dict[Any, int] = {}
        for prog, grp in video.groupby("program_number", dropna=False, observed=True):
            self.video_of[None if pd.isna(prog) else int(prog)] = int(grp["pid"].min())
        self.program_of = {
            int(r.pid): (None if pd.isna(r.program_number) else int(r.program_number))
            for r in pids.itertuples()
        }
        self.timelines: dict[int, tuple[np.ndarray, np.ndarray, int, int, int]] = {}
        for vpid in set(self.video_of.values()):
            v = f[(f["pid"] == vpid) & f["pts"].notna()]
            pts = v["pts"].to_numpy(dtype=np.int64)
            key = v["keyframe"].to_numpy(dtype=bool)
            upts = np.round(v["pts_seconds"].to_numpy() * PTS_HZ).astype(np.int64)
            order = np.sort(np.unique(upts))
            step = int(np.median(np.diff(order))) if len(order) > 1 else 3600
            last = int(pts[int(np.argmax(upts))]) if len(pts) else 0
            first = int(pts[int(np.argmin(upts))]) if len(pts) else 0
            self.timelines[vpid] = (pts[key], upts[key], step, first, last)

    def timeline(self, pid: int) -> tuple[np.ndarray, np.ndarray, int, int, int] | None:
        prog = self.program_of.get(pid)
        vpid = self.video_of.get(prog)
        if vpid is None and self.video_of:
            vpid = min(self.video_of.values())
        return None if vpid is None else self.timelines.get(vpid)

    def seconds(self, pts: int | None) -> float | None:
        if pts is None or self.zero is None:
            return None
        return pts_diff(pts, self.zero) / PTS_HZ


def _int(v: Any) -> int | None:
    return None if v is None or pd.isna(v) else int(v)


def _kind(row: pd.Series) -> str:
    if row["splice_command_type"] is pd.NA or pd.isna(row["splice_command_type"]):
        return "other"
    if int(row["splice_command_type"]) == _SPLICE_INSERT:
        oon = row["out_of_network_indicator"]
        if pd.isna(oon):
            return "cancel"
        return "out" if bool(oon) else "in"
    seg = _int(row["segmentation_type_id"])
    if seg is not None:
        if seg in _START_TYPES:
            return "out"
        if seg in _END_TYPES:
            return "in"
    return "other"


def _cue_rows(p: Probe, ctx: _Context, preroll: float) -> list[dict[str, Any]]:
    cues = p.cues
    rows: list[dict[str, Any]] = []
    if not len(cues):
        return rows
    keys = cues["key"].where(cues["key"].notna(), "undecodable:" + cues["base64"].astype(str))
    group_key = list(zip(cues["pid"].tolist(), keys.tolist(), cues["crc_ok"].tolist(), strict=True))
    groups: dict[Any, list[int]] = {}
    for i, k in enumerate(group_key):
        groups.setdefault(k, []).append(i)
    for idx in groups.values():
        g = cues.iloc[idx]
        rows.append(_cue_row(g, ctx, preroll))
    return rows


def _cue_row(g: pd.DataFrame, ctx: _Context, preroll: float) -> dict[str, Any]:
    first = g.iloc[0]
    reasons: list[str] = []
    detail: list[str] = []
    sp = _int(first["splice_point"])
    pid = int(first["pid"])
    arrivals = [_int(a) for a in g["arrival_pts"].tolist()]
    row: dict[str, Any] = {
        "pid": pid,
        "cue_id": None,
        "command_name": first["command_name"],
        "kind": _kind(first),
        "splice_event_id": _int(first["splice_event_id"]),
        "segmentation_event_id": _int(first["segmentation_event_id"]),
        "segmentation_type_id": _int(first["segmentation_type_id"]),
        "segmentation_type_name": first["segmentation_type_name"],
        "first_packet": int(first["packet"]),
        "first_arrival_pts": arrivals[0],
        "first_arrival_time": ctx.seconds(arrivals[0]),
        "first_arrival_pcr_seconds": first["pcr_seconds"],
        "last_arrival_time": ctx.seconds(arrivals[-1]),
        "sends": len(g),
        "sends_after_splice": None,
        "splice_point": sp,
        "splice_time": ctx.seconds(sp),
        "nearest_idr_pts": None,
        "nearest_idr_time": None,
        "offset_frames": None,
        "offset_ms": None,
        "preroll": None,
        "preroll_pcr": None,
        "break_duration_signalled": first["break_duration_seconds"],
        "break_duration_actual": None,
        "pair_splice_time": None,
        "paired": None,
        "_reasons": reasons,
        "_detail": detail,
    }
    if pd.notna(first["decode_error"]):
        reasons.append("decode_error")
        detail.append(f"does not decode: {first['decode_error']}")
        return row
    if not bool(first["crc_ok"]):
        reasons.append("crc_error")
        detail.append("CRC_32 does not match the section")
    ctype = _int(first["splice_command_type"])
    if ctype not in _CHECKED_COMMANDS or row["kind"] == "cancel":
        return row  # splice_null, schedule, bandwidth reservation, private, cancel: no timing
    if sp is None:
        reasons.append("immediate")
        detail.append("splice_immediate / no splice time: the splice point cannot be checked")
        return row
    tl = ctx.timeline(pid)
    if tl is None:
        reasons.append("off_idr")
        detail.append("the capture has no video to splice")
        return row
    kpts, _kupts, step, _first, last = tl
    # pre-roll and repeats, from each copy's arrival
    after = [a for a in arrivals if a is not None and pts_diff(a, sp) >= 0]
    row["sends_after_splice"] = len(after)
    if arrivals[0] is not None:
        row["preroll"] = pts_diff(sp, arrivals[0]) / PTS_HZ
    elif ctx.zero is not None:
        row["preroll"] = pts_diff(sp, ctx.zero) / PTS_HZ  # sent before the first frame
    pcr = _int(first["pcr"])
    if pcr is not None:
        row["preroll_pcr"] = pts_diff(sp, (pcr // 300) & PTS_MASK) / PTS_HZ
    if row["preroll"] is not None and row["preroll"] < preroll - 0.5 / PTS_HZ:
        reasons.append("late")
        detail.append(
            f"first arrives {row['preroll']:.3f} s before its splice point < {preroll:g} s"
        )
    repeats_after = [a for a in arrivals[1:] if a is not None and pts_diff(a, sp) >= 0]
    if repeats_after:
        reasons.append("repeat_after_splice")
        detail.append(f"{len(repeats_after)} repeat(s) sent at or after the splice point")
    # the IDR
    if pts_diff(sp, last) > 0:
        reasons.append("splice_after_end")
        detail.append(f"the capture ends at {ctx.seconds(last):.3f} s, before the splice point")
        return row
    if len(kpts):
        d = ((kpts - sp + (1 << 32)) & PTS_MASK) - (1 << 32)
        j = int(np.argmin(np.abs(d)))
        near = int(kpts[j])
        off = -int(d[j])
        row["nearest_idr_pts"] = near
        row["nearest_idr_time"] = ctx.seconds(near)
        row["offset_frames"] = off / step
        row["offset_ms"] = off / 90
        if off != 0:
            reasons.append("off_idr")
            where = "after" if off > 0 else "before"
            detail.append(
                f"splice point {row['splice_time']:.3f} s is {abs(off) / step:.2f} frames "
                f"({abs(off) / 90:.1f} ms) {where} the IDR at {row['nearest_idr_time']:.3f} s"
            )
    else:
        reasons.append("off_idr")
        detail.append("the capture has no IDR")
    return row


def _event(row: dict[str, Any]) -> tuple[str, int | None]:
    if row["command_name"] == "splice_insert":
        return ("splice_insert", row["splice_event_id"])
    return ("segmentation", row["segmentation_event_id"])


def _pair(rows: list[dict[str, Any]], ctx: _Context) -> None:
    """Match outs with ins of the same event id; fill pairing and break durations."""
    timed = [r for r in rows if r["kind"] in ("out", "in") and r["splice_point"] is not None]
    timed.sort(key=lambda r: r["splice_time"] if r["splice_time"] is not None else 0.0)
    used: set[int] = set()
    for r in timed:
        if r["kind"] != "out":
            continue
        ev = _event(r)
        partner = None
        for j, q in enumerate(timed):
            if (
                q["kind"] == "in"
                and j not in used
                and _event(q) == ev
                and pts_diff(q["splice_point"], r["splice_point"]) > 0
            ):
                partner = (j, q)
                break
        if partner is not None:
            j, q = partner
            used.add(j)
            actual = pts_diff(q["splice_point"], r["splice_point"]) / PTS_HZ
            for a, b in ((r, q), (q, r)):
                a["paired"] = True
                a["pair_splice_time"] = b["splice_time"]
                a["break_duration_actual"] = actual
            signalled = r["break_duration_signalled"]
            if signalled is not None and not pd.isna(signalled):
                tl = ctx.timeline(r["pid"])
                frame = (tl[2] if tl else 3600) / PTS_HZ
                if abs(actual - signalled) > frame + 1e-9:
                    r["_reasons"].append("duration_mismatch")
                    r["_detail"].append(
                        f"the in is {actual:.3f} s after the out, signalled {signalled:.3f} s"
                    )
        else:
            r["paired"] = False
            signalled = r["break_duration_signalled"]
            if signalled is None or pd.isna(signalled):
                r["_reasons"].append("unpaired")
                r["_detail"].append("an out with no in and no signalled duration")
    for j, q in enumerate(timed):
        if q["kind"] == "in" and j not in used:
            q["paired"] = False
            q["_reasons"].append("unpaired")
            q["_detail"].append("an in with no out before it")


def _schedule_rows(rows: list[dict[str, Any]], schedule: Any, ctx: _Context) -> list[dict]:
    """Tag cue rows with their break; one ``missing_cue`` row per break edge with no cue."""
    extra: list[dict[str, Any]] = []
    if ctx.zero is None:
        return extra
    tl = next(iter(ctx.timelines.values()), None)
    for brk in schedule.breaks if hasattr(schedule, "breaks") else schedule:
        for kind, at in (("out", brk.start), ("in", brk.end)):
            want = (ctx.zero + round(at * PTS_HZ)) % PTS_WRAP
            expect = want
            if tl is not None and len(tl[0]):
                d = ((tl[0] - want + (1 << 32)) & PTS_MASK) - (1 << 32)
                later = np.flatnonzero(d >= 0)
                if len(later):
                    expect = int(tl[0][later[np.argmin(d[later])]])
            hits = [r for r in rows if r["kind"] == kind and r["splice_point"] == expect]
            if hits:
                for r in hits:
                    r["cue_id"] = brk.cue_id
                continue
            extra.append(
                {
                    "cue_id": brk.cue_id,
                    "kind": kind,
                    "splice_point": expect,
                    "splice_time": ctx.seconds(expect),
                    "_reasons": ["missing_cue"],
                    "_detail": [
                        f"break {brk.cue_id}: no {kind} cue splices at {ctx.seconds(expect):.3f} s "
                        f"(the first IDR at or after {at:g} s)"
                    ],
                }
            )
    return extra
