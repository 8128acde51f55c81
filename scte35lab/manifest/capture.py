"""From a capture to packages: probe the TS capture (or CMAF source) and hand its tables to
the writers in ``dash.py`` and ``cmaf.py``.

These are the packaging entry points that need ``probe()``; the writers and the playlist and
MPD readers below them never import ``analysis``.
"""

from __future__ import annotations

import base64
import os
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from scte35lab.analysis.fmp4 import file_sequences, is_fmp4_source
from scte35lab.analysis.probe import probe
from scte35lab.cue import Cue
from scte35lab.errors import ComponentError, StreamError
from scte35lab.inputkind import require_ts
from scte35lab.manifest.cmaf import CmafPackage, check_cmaf_options, write_cmaf
from scte35lab.manifest.dash import DashPackage, _ffmpeg, check_schemes, write_dash
from scte35lab.ts.inject import inject


def package_dash(
    src: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    segment: float = 2.0,
    schemes: Iterable[str] = ("xml", "xml+bin"),
    mpd: str = "manifest.mpd",
    timeout: float = 600.0,
) -> DashPackage:
    """Package a TS capture as DASH (static MPD, fMP4) with its cues in EventStreams.

    ``schemes``: ``"xml"`` for urn:scte:scte35:2013:xml, ``"xml+bin"`` for
    urn:scte:scte35:2014:xml+bin, or both. Event times are splice PTS on the media timeline.

    Built in a temporary sibling folder and moved into ``out_dir`` only when complete (into
    an existing folder: each file replaced atomically, the MPD last); a failure leaves
    nothing behind. Input that is not MPEG-TS raises :class:`NotTransportStreamError`.
    """
    chosen = check_schemes(schemes)
    src = os.fspath(src)
    require_ts(src)
    p = probe(src, progress=False)
    return write_dash(src, p, out_dir, segment=segment, schemes=chosen, mpd=mpd, timeout=timeout)


def package_cmaf(
    src: str | os.PathLike,
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
    """Package a TS capture as CMAF with its cues as ``emsg`` boxes and/or an event message
    track, for both an MPD and HLS playlists; see :func:`scte35lab.manifest.cmaf.write_cmaf`."""
    check_cmaf_options(emsg_version, emsg_boxes, event_track, hls_tags)
    src = os.fspath(src)
    p = probe(src, progress=False)
    return write_cmaf(
        src,
        p,
        out_dir,
        segment=segment,
        emsg_version=emsg_version,
        emsg_boxes=emsg_boxes,
        event_track=event_track,
        hls_tags=hls_tags,
        mpd=mpd,
        playlist=playlist,
        timeout=timeout,
    )


def cmaf_to_ts(
    source: str | os.PathLike | list,
    dst: str | os.PathLike,
    *,
    preroll: float = 4.0,
    repeat_every: float | None = 1.0,
    timeout: float = 600.0,
) -> pd.DataFrame:
    """Turn CMAF back into TS: remux its media (FFmpeg, timestamps kept) and inject every
    distinct SCTE-35 section its ``emsg`` boxes / event track carry, unchanged, on a SCTE-35
    PID at its own splice point (``preroll`` ahead, repeated every ``repeat_every`` s).

    ``source`` is anything ``probe()`` reads as fMP4 (MPD, playlist, segment list).
    Returns :func:`scte35lab.inject`'s table, one row per cue.
    """
    if not is_fmp4_source(source):
        raise StreamError(f"{source!r} is not fragmented MP4 (or a manifest of it)")
    p = probe(source)
    groups, _ = file_sequences(source)
    sections = list(dict.fromkeys(base64.b64decode(b) for b in p.cues[p.cues["crc_ok"]]["base64"]))
    cues = [Cue.decode(s) for s in sections]
    roles = {int(r.pid) // 256: str(r.role) for r in p.pids.itertuples()}
    with tempfile.TemporaryDirectory(prefix="cmaf2ts-") as tmp:
        cmd = [_ffmpeg(), "-hide_banner", "-nostdin", "-v", "error", "-y", "-copyts"]
        maps: list[str] = []
        for n, parts in enumerate(groups):
            if roles.get(n) not in ("video", "audio"):
                continue  # event message tracks: their cues are injected below
            path = Path(tmp) / f"track{n}.mp4"
            with open(path, "wb") as f:
                for part in parts:
                    f.write(part)
            cmd += ["-i", str(path)]
            maps += ["-map", f"{len(maps) // 2}:0"]
        if not maps:
            raise StreamError(f"{source!r}: no audio or video track to remux")
        remux = Path(tmp) / "remux.ts"
        cmd += [*maps, "-c", "copy", "-muxdelay", "0", "-muxpreload", "0", "-pcr_period", "20"]
        cmd += ["-f", "mpegts"]
        cmd.append(str(remux))
        try:
            run = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ComponentError(f"ffmpeg remux took longer than {timeout:g} s") from exc
        if run.returncode != 0:
            tail = " | ".join((run.stderr or "").strip().splitlines()[-3:])
            raise ComponentError(f"ffmpeg remux failed ({run.returncode}): {tail}")
        return inject(remux, dst, cues, preroll=preroll, repeat_every=repeat_every)
