"""``scte35lab hls IN OUT_DIR`` and ``scte35lab dash IN OUT_DIR``: package a TS capture with
SCTE-35 signalling; print one JSON object (playlist/MPD path, segments, cues) on stdout.
With ``--cmaf`` either writes one set of CMAF segments (cues in ``emsg`` boxes) with both an
MPD and HLS playlists."""

from __future__ import annotations

import argparse
import json
import logging
from datetime import datetime
from typing import Any

from scte35lab.errors import Scte35Error
from scte35lab.manifest import package_cmaf, package_dash, package_hls
from scte35lab.manifest.dash import SCHEMES
from scte35lab.manifest.hls import TAGS

log = logging.getLogger(__name__)


def add_parser(subparsers: Any) -> None:
    """Register ``hls`` and ``dash`` on an ``argparse`` subparsers object."""
    h = subparsers.add_parser(
        "hls",
        help="package a TS capture as HLS with SCTE-35 tags",
        description="Cut TS segments at IDRs and splice points; write a playlist with cue tags.",
    )
    h.add_argument("input", help="TS capture (188-byte packets)")
    h.add_argument("out_dir", help="directory for the playlist and segments")
    h.add_argument("--segment", type=_positive, default=2.0, help="target seconds (default 2)")
    h.add_argument(
        "--tags",
        default=",".join(TAGS),
        help=f"comma-separated cue tag styles from {','.join(TAGS)} (default: all)",
    )
    h.add_argument(
        "--discontinuity", action="store_true", help="EXT-X-DISCONTINUITY at break edges"
    )
    h.add_argument(
        "--program-date-time",
        type=_date,
        default=None,
        help="ISO date of stream time zero (default: the first PTS counted from 1970)",
    )
    h.add_argument("--playlist", default="index.m3u8", help="playlist file name")
    _cmaf_options(h)
    h.set_defaults(func=hls_command)

    d = subparsers.add_parser(
        "dash",
        help="package a TS capture as DASH with SCTE-35 EventStreams",
        description="fMP4 segments (FFmpeg dash muxer) and an MPD with SCTE-35 EventStreams.",
    )
    d.add_argument("input", help="TS capture")
    d.add_argument("out_dir", help="directory for the MPD and segments")
    d.add_argument("--segment", type=_positive, default=2.0, help="target seconds (default 2)")
    d.add_argument(
        "--schemes",
        default=",".join(SCHEMES),
        help="comma-separated: xml (urn:scte:scte35:2013:xml), xml+bin (2014:xml+bin)",
    )
    d.add_argument("--mpd", default="manifest.mpd", help="MPD file name")
    _cmaf_options(d)
    d.set_defaults(func=dash_command)


def _cmaf_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cmaf",
        action="store_true",
        help="CMAF segments with the cues in emsg boxes, for both an MPD and HLS playlists",
    )
    p.add_argument(
        "--emsg-version",
        type=int,
        choices=(0, 1),
        default=1,
        help="with --cmaf: emsg version 1 (presentation_time, default) or 0 (delta)",
    )
    p.add_argument(
        "--event-track",
        action="store_true",
        help="with --cmaf: also an ISO/IEC 23001-18 event message track (evte)",
    )


def _cmaf(args: argparse.Namespace, **names: str) -> int:
    try:
        result = package_cmaf(
            args.input,
            args.out_dir,
            segment=args.segment,
            emsg_version=args.emsg_version,
            event_track=args.event_track,
            **names,
        )
    except ValueError as exc:
        if isinstance(exc, Scte35Error):
            raise
        raise Scte35Error(str(exc)) from exc
    events = result.events.drop(columns=["base64"], errors="ignore")
    report = {
        "mpd": str(result.mpd),
        "playlist": str(result.playlist),
        "events": json.loads(events.to_json(orient="records")),
    }
    print(json.dumps(report, indent=2))
    return 0


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0: {text!r}")
    return value


def _date(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date: {text!r}") from None


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def hls_command(args: argparse.Namespace) -> int:
    if args.cmaf:
        master = "master.m3u8" if args.playlist == "index.m3u8" else args.playlist
        return _cmaf(args, playlist=master)

    try:
        result = package_hls(
            args.input,
            args.out_dir,
            segment=args.segment,
            tags=_split(args.tags),
            discontinuity=args.discontinuity,
            program_date_time=args.program_date_time,
            playlist=args.playlist,
        )
    except ValueError as exc:
        if isinstance(exc, Scte35Error):
            raise
        raise Scte35Error(str(exc)) from exc
    report = {
        "playlist": str(result.playlist),
        "segments": len(result.segments),
        "duration": float(result.segments["duration"].sum()),
        "cues": json.loads(result.cues.drop(columns=["base64"]).to_json(orient="records")),
    }
    print(json.dumps(report, indent=2))
    return 0


def dash_command(args: argparse.Namespace) -> int:
    if args.cmaf:
        return _cmaf(args, mpd=args.mpd)

    try:
        result = package_dash(
            args.input,
            args.out_dir,
            segment=args.segment,
            schemes=_split(args.schemes),
            mpd=args.mpd,
        )
    except ValueError as exc:
        if isinstance(exc, Scte35Error):
            raise
        raise Scte35Error(str(exc)) from exc
    events = result.events.drop(columns=["base64"], errors="ignore")
    report = {"mpd": str(result.mpd), "events": json.loads(events.to_json(orient="records"))}
    print(json.dumps(report, indent=2))
    return 0
