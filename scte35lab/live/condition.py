"""Keyframe conditioning: re-encode video so that an IDR lands on every splice time.

An SSAI system can splice cleanly only at an IDR. :func:`condition` re-encodes the video
with libx264 and forces an IDR at each splice time, keeps the audio as it is (stream copy)
and keeps the original timeline, so a splice time computed before conditioning is still the
PTS of a frame after it. With ``cues=`` the output goes straight through the injector
(:class:`scte35lab.ts.inject.Injector`), which puts the cues on those IDRs.

Why the FFmpeg CLI and not PyAV: the facts this depends on were measured on the CLI
(DESIGN.md): ``-force_key_frames`` with ``-forced-idr 1`` is what turns a forced keyframe into
an IDR in x264, ``-sc_threshold 0`` stops scene-cut keyframes, and ``-copyts -muxdelay 0
-muxpreload 0`` (with ``-enc_time_base -1`` and ``-fps_mode passthrough``) keeps every video
and audio PTS; stream-copying the audio and muxing are one pass of one process that uses
both cores and can be timed out or killed. With PyAV all of that (per-frame keyframe
forcing, timestamp passthrough, interleaving copied audio packets) would be Python code
called per frame, slower and unmeasured; and the live path already runs FFmpeg processes,
so conditioning sits in the same chain.

Splice times are seconds from stream time zero (the first video PTS of ``src``); FFmpeg
compares forced times with the input timestamps (``-copyts``), so they are passed as
``zero + t`` in seconds, exact to the 90 kHz tick.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from scte35lab.clock import PTS_HZ as CLOCK
from scte35lab.clock import PTS_WRAP, pts_diff
from scte35lab.errors import ComponentError, CuesNotPlacedError, StreamError
from scte35lab.inputkind import require_ts
from scte35lab.live.errors import ToolMissingError
from scte35lab.outfile import atomic_path
from scte35lab.ts.chain import Chain
from scte35lab.ts.inject import CueInput, Injector
from scte35lab.ts.scan import VIDEO, Scanner

log = logging.getLogger(__name__)

PROBE_BYTES = 8 << 20
READ_CHUNK = 188 * 7 * 512


def find_ffmpeg(ffmpeg: str | os.PathLike | None = None) -> str:
    """The ffmpeg executable to run, or ``ToolMissingError`` saying how to install it."""
    name = os.fspath(ffmpeg) if ffmpeg is not None else "ffmpeg"
    path = shutil.which(name)
    if path is None:
        raise ToolMissingError(
            f"{name} is not installed or not executable (Debian: apt-get install -y ffmpeg)"
        )
    return path


def stream_start(src: str | os.PathLike) -> tuple[int, float]:
    """(first video PTS, frames per second) of an MPEG-TS file, from its first 8 MB."""
    try:
        with open(src, "rb") as f:
            head = f.read(PROBE_BYTES)
    except OSError as e:
        raise StreamError(f"cannot read {os.fspath(src)!r}: {e.strerror}") from e
    r = Scanner().scan(head)
    pids = r.frames.get("pid", np.zeros(0))
    pts = r.frames.get("pts", np.zeros(0))
    video = [p for p, info in r.pid_info.items() if info.role == VIDEO]
    if not video:
        raise StreamError(f"{os.fspath(src)!r}: no MPEG-TS video found in its first 8 MB")
    sel = (pids == min(video)) & (pts >= 0)
    v = pts[sel].astype(np.int64)
    if not len(v):
        raise StreamError(f"{os.fspath(src)!r}: its video has no PTS in the first 8 MB")
    zero = int(v[0])
    rel = np.unique(((v - zero + (1 << 32)) % PTS_WRAP) - (1 << 32))
    step = float(np.median(np.diff(rel))) if len(rel) > 1 else 3600.0
    return zero, CLOCK / step


def parse_times(values: Iterable[float | str] | float | str) -> list[float]:
    """Splice times from numbers or ``"10,40"`` strings (repeated or comma-separated)."""
    if isinstance(values, int | float | str):
        values = [values]
    out: list[float] = []
    for v in values:
        parts = v.split(",") if isinstance(v, str) else [v]
        for part in parts:
            if isinstance(part, str) and not part.strip():
                continue
            try:
                t = float(part)
            except ValueError:
                raise StreamError(f"splice time {part!r} is not a number of seconds") from None
            if not t >= 0:
                raise StreamError(f"splice time {t:g} is before stream start")
            out.append(t)
    return sorted(set(out))


def condition_argv(
    src: str,
    dst: str,
    forced: Sequence[float],
    *,
    ffmpeg: str,
    gop_frames: int,
    sc_threshold: int | None = 0,
    preset: str = "veryfast",
    crf: float | None = 20,
    video_bitrate: str | None = None,
    bframes: int | None = None,
    audio: str = "copy",
    extra: Sequence[str] = (),
) -> list[str]:
    """The FFmpeg argument list (no shell) for one conditioning run.

    ``forced`` are absolute input times in seconds (``-copyts``), not stream times.
    """
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-copyts"]
    argv += ["-i", src, "-map", "0:v:0", "-map", "0:a?"]
    argv += ["-c:v", "libx264", "-preset", preset, "-pix_fmt", "yuv420p"]
    if video_bitrate is not None:
        argv += ["-b:v", video_bitrate]
    elif crf is not None:
        argv += ["-crf", f"{crf:g}"]
    if bframes is not None:
        argv += ["-bf", str(bframes)]
    argv += ["-g", str(gop_frames)]
    if forced:
        argv += ["-force_key_frames", ",".join(f"{t:.6f}" for t in forced), "-forced-idr", "1"]
    if sc_threshold is not None:
        argv += ["-sc_threshold", str(sc_threshold)]
    argv += ["-enc_time_base:v", "-1", "-fps_mode", "passthrough"]
    argv += ["-c:a", audio]
    argv += [*extra, "-muxdelay", "0", "-muxpreload", "0", "-f", "mpegts", "-pcr_period", "20"]
    argv.append(dst)
    return argv


def condition(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    splice_times: Iterable[float | str] | float | str,
    *,
    cues: CueInput | Iterable[CueInput] | None = None,
    gop: float | None = 2.0,
    sc_threshold: int | None = 0,
    preset: str = "veryfast",
    crf: float | None = 20,
    video_bitrate: str | None = None,
    bframes: int | None = None,
    audio: str = "copy",
    preroll: float = 4.0,
    repeat_every: float | None = 1.0,
    pid: int | None = None,
    ffmpeg: str | os.PathLike | None = None,
    timeout: float | None = None,
    strict: bool = False,
) -> pd.DataFrame:
    """Re-encode ``src`` (MPEG-TS) to ``dst`` with an IDR on every splice time; keep the PTS.

    ``splice_times``: seconds from stream time zero (numbers, or ``"10,40"`` strings).
    ``gop``: seconds between regular keyframes (None: x264's default); ``sc_threshold``:
    x264 scene-cut threshold (0, the default, turns scene-cut keyframes off; None keeps
    x264's). ``audio``: an FFmpeg audio codec (``copy`` keeps it bit for bit). With ``cues``
    the output is piped through the injector (``preroll``, ``repeat_every``, ``pid`` as in
    :func:`scte35lab.inject`); SCTE-35 already in ``src`` is not carried over (FFmpeg would
    turn it into PES without ``CUEI``).

    Returns one row per splice time: its PTS and whether the output has an IDR there; with
    ``cues``, ``df.attrs["inject"]`` is the injector's report.

    ``dst`` is written under a temporary name and renamed only when complete; a failure
    leaves nothing behind. With ``strict=True`` a cue the injector could not place raises
    :class:`CuesNotPlacedError` (its ``report`` is the injector's) and no ``dst`` is written.
    Input that is not MPEG-TS raises :class:`NotTransportStreamError`.
    """
    exe = find_ffmpeg(ffmpeg)
    src_s, dst_s = os.fspath(src), os.fspath(dst)
    require_ts(src_s)
    if os.path.exists(dst_s) and os.path.exists(src_s) and os.path.samefile(src_s, dst_s):
        raise StreamError(f"condition would overwrite its input {src_s!r}")
    times = parse_times(splice_times)
    zero, fps = stream_start(src_s)
    splice_pts = [(zero + round(t * CLOCK)) % PTS_WRAP for t in times]
    # FFmpeg reads the forced times as seconds on the input timeline (-copyts)
    forced = [(zero + round(t * CLOCK)) / CLOCK for t in times]
    gop_frames = max(1, round(gop * fps)) if gop is not None else 250
    with atomic_path(dst_s) as tmp:
        argv = condition_argv(
            src_s,
            "pipe:1" if cues is not None else os.fspath(tmp),
            forced,
            ffmpeg=exe,
            gop_frames=gop_frames,
            sc_threshold=sc_threshold,
            preset=preset,
            crf=crf,
            video_bitrate=video_bitrate,
            bframes=bframes,
            audio=audio,
        )
        log.info(
            "conditioning %s -> %s: IDR at %s s", src_s, dst_s, ", ".join(f"{t:g}" for t in times)
        )
        log.debug("running %s", " ".join(argv))
        report = None
        if cues is None:
            _run(argv, timeout)
        else:
            inj = Injector(cues, pid=pid, preroll=preroll, repeat_every=repeat_every)
            _run_into(argv, inj, os.fspath(tmp), timeout)
            report = inj.report()
            missed = report[report["status"] == "missed"]
            if strict and len(missed):
                raise CuesNotPlacedError(
                    f"{len(missed)} of {len(report)} cue(s) not placed: "
                    + "; ".join(str(r) for r in missed["reason"]),
                    report=report,
                )
        df = _check_idrs(os.fspath(tmp), times, splice_pts)
    if report is not None:
        df.attrs["inject"] = report
    return df


def _run(argv: list[str], timeout: float | None) -> None:
    try:
        done = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as e:
        raise ComponentError(f"ffmpeg did not finish conditioning within {timeout:g} s") from e
    if done.returncode:
        raise ComponentError(f"ffmpeg failed ({done.returncode}): {_tail(done.stderr)}")


def _tail(stderr: bytes, lines: int = 3) -> str:
    text = stderr.decode("utf-8", "replace").strip().splitlines()
    return " | ".join(text[-lines:]) or "no message"


def _run_into(argv: list[str], inj: Injector, dst: str, timeout: float | None) -> None:
    """Run FFmpeg writing TS to its stdout, through ``inj``, into ``dst``."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err: list[bytes] = []
    reader = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)
    reader.start()
    timer = threading.Timer(timeout, proc.kill) if timeout else None
    if timer is not None:
        timer.start()
    try:
        chain = Chain([inj])
        with open(dst, "wb") as out:
            for chunk in iter(lambda: proc.stdout.read(READ_CHUNK), b""):
                out.writelines(chain.feed_pieces(chunk))
            code = proc.wait()
            reader.join()
            if code:
                if timer is not None and not timer.is_alive() and code < 0:
                    raise ComponentError(f"ffmpeg did not finish conditioning within {timeout:g} s")
                raise ComponentError(f"ffmpeg failed ({code}): {_tail(b''.join(err))}")
            out.writelines(chain.flush_pieces())
            out.flush()
            os.fsync(out.fileno())
    finally:
        if timer is not None:
            timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _check_idrs(dst: str, times: list[float], splice_pts: list[int]) -> pd.DataFrame:
    """Read the output once: is there an IDR at each splice PTS?"""
    r = Scanner().scan(dst)
    f = r.frames
    video = [p for p, info in r.pid_info.items() if info.role == VIDEO]
    key_pts: np.ndarray = np.zeros(0, dtype=np.int64)
    if video and len(f.get("pid", [])):
        sel = (f["pid"] == min(video)) & f["keyframe"] & (f["pts"] >= 0)
        key_pts = f["pts"][sel].astype(np.int64)
    rows: list[dict[str, Any]] = []
    for t, pts in zip(times, splice_pts, strict=True):
        later = [int(k) for k in key_pts.tolist() if pts_diff(int(k), pts) >= 0]
        first = min(later, key=lambda k: pts_diff(k, pts)) if later else None
        rows.append(
            {
                "splice_time": t,
                "splice_pts": pts,
                "idr_pts": first,
                "idr_offset_ms": None if first is None else pts_diff(first, pts) / 90,
                "idr_at_splice": first is not None and first == pts,
            }
        )
    df = pd.DataFrame(
        rows, columns=["splice_time", "splice_pts", "idr_pts", "idr_offset_ms", "idr_at_splice"]
    )
    df["splice_pts"] = df["splice_pts"].astype("int64")
    df["idr_pts"] = df["idr_pts"].astype("Int64")
    df["idr_offset_ms"] = df["idr_offset_ms"].astype(float)
    df["idr_at_splice"] = df["idr_at_splice"].astype(bool)
    not_exact = df[~df["idr_at_splice"]]
    for row in not_exact.itertuples():
        log.info(
            "splice time %.3f s is not on the frame grid: its IDR is %.1f ms later",
            row.splice_time,
            row.idr_offset_ms if pd.notna(row.idr_offset_ms) else float("nan"),
        )
    return df


__all__ = ["condition", "condition_argv", "find_ffmpeg", "parse_times", "stream_start"]
