"""``scte35lab push`` and ``scte35lab demo``: the live pipeline from the command line.

``push`` runs one stream: an RTMP server for OBS, the injector, and the SRT push, printing one
JSON line per event and per second of stats on stdout until Ctrl-C (or ``--duration``).
``demo`` runs the whole loop on loopback: FFmpeg publishing a test picture over RTMP as OBS
would, the pipeline with a default schedule and one on-demand cue, ``srt-live-transmit`` as
the distributor (with a passphrase) writing what it receives to a file, then ``verify`` on
that capture, printing its table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import secrets
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scte35lab.analysis import verify
from scte35lab.analysis.verify import summary
from scte35lab.errors import ComponentError
from scte35lab.live.ffmpeg import FFmpegTestSource
from scte35lab.live.pipeline import Pipeline
from scte35lab.live.rtmp import free_port
from scte35lab.live.srt import SrtEndpoint, SrtListener
from scte35lab.live.transcode import TranscodeSettings
from scte35lab.schedule import AdBreak, Schedule, Store

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``push`` and ``demo``."""
    p = sub.add_parser(
        "push",
        help="take OBS over RTMP, insert cues, push over SRT",
        description=(
            "Run an RTMP server for OBS (Server rtmp://HOST:PORT/APP, Stream Key KEY), insert "
            "the schedule's SCTE-35 cues on IDR frames, and push the TS to an SRT listener. "
            "Prints JSON lines (events and per-second stats) until Ctrl-C or --duration."
        ),
    )
    p.add_argument("--srt", required=True, help="destination, srt://host:port[?latency=ms]")
    key = p.add_mutually_exclusive_group()
    key.add_argument("--key", help="the stream key OBS will use (visible in ps: prefer --key-env)")
    key.add_argument("--key-env", metavar="VAR", help="environment variable holding the key")
    p.add_argument("--passphrase-env", metavar="VAR", help="env variable with the SRT passphrase")
    p.add_argument("--pbkeylen", type=int, choices=(16, 24, 32), help="SRT key length, bytes")
    p.add_argument("--latency", type=int, metavar="MS", help="SRT latency in milliseconds")
    p.add_argument("--streamid", help="SRT stream id")
    p.add_argument("--maxbw", type=int, metavar="BYTES_PER_S", help="SRT maximum bandwidth")
    p.add_argument(
        "--packet-filter", metavar="FEC", help="SRT FEC packet filter, e.g. fec,cols:10,rows:5"
    )
    p.add_argument(
        "--rtmp-fallback-env",
        metavar="VAR",
        help="env variable holding an RTMP URL (key included) to push the stream to as well",
    )
    p.add_argument("--schedule", metavar="FILE", help="ad-break schedule, CSV or JSON")
    p.add_argument("--store", metavar="DB", help="SQLite store (streams, logs, analytics)")
    p.add_argument("--stream", default="main", help="stream name in the store (main)")
    p.add_argument("--rtmp-host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--rtmp-port", type=int, default=1935, help="RTMP port (1935)")
    p.add_argument("--app", default="live", help="RTMP application (live)")
    p.add_argument("--preroll", type=float, default=4.0, help="seconds before a splice (4)")
    p.add_argument(
        "--sender",
        choices=("libsrt", "srt-live-transmit", "ffmpeg"),
        default="libsrt",
        help="libsrt (default: in-process, sees acknowledgements, passphrase never in argv)",
    )
    p.add_argument("--record", metavar="FILE", help="also write the TS sent to this file")
    p.add_argument("--service-name", help="service name the distributor sees (SDT)")
    p.add_argument("--service-provider", default="", help="service provider name (SDT)")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument(
        "--transcode",
        nargs="?",
        const="",
        metavar="SETTINGS",
        help=(
            "re-encode with libx264, forcing an IDR at every splice point; SETTINGS like "
            "bitrate=2500k,size=1280x720,fps=30,preset=veryfast,tune=zerolatency,gop=2,"
            "abitrate=128k,arate=48000,cbr=1,muxrate=3M (all optional)"
        ),
    )
    p.set_defaults(func=push_command)

    d = sub.add_parser(
        "demo",
        help="the whole live loop on loopback, then verify the capture",
        description=(
            "FFmpeg publishes a test picture over RTMP as OBS would; the pipeline inserts a "
            "default schedule's cues and one on-demand cue and pushes over SRT (with a "
            "passphrase) to srt-live-transmit, which writes what it receives to a file; "
            "verify then checks every cue in that capture. Under two minutes."
        ),
    )
    d.add_argument("--seconds", type=float, default=30.0, help="stream length (30)")
    d.add_argument("--out", metavar="DIR", help="keep the capture and store here")
    d.add_argument("--sender", choices=("libsrt", "srt-live-transmit", "ffmpeg"), default="libsrt")
    d.add_argument("--format", choices=("table", "csv", "json"), default="table")
    d.add_argument(
        "--transcode",
        nargs="?",
        const="size=640x360,fps=25,bitrate=800k,preset=veryfast,gop=4",
        metavar="SETTINGS",
        help="run the pipeline in transcode mode (default settings for the test picture)",
    )
    d.set_defaults(func=demo_command)


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP stop the pipeline as Ctrl-C does, so no child is left behind."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _jsonable(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _print(obj: dict[str, Any]) -> None:
    print(json.dumps({k: _jsonable(v) for k, v in obj.items()}, default=str), flush=True)


def push_command(args: argparse.Namespace) -> int:
    transcode = None if args.transcode is None else TranscodeSettings.parse(args.transcode)
    key = args.key
    if args.key_env:
        key = os.environ.get(args.key_env)
        if not key:
            raise ComponentError(f"environment variable {args.key_env} (stream key) is not set")
    store = None
    if args.store:
        store = Store(args.store)
        if args.stream not in set(store.streams()["name"]):
            store.add_stream(args.stream, srt_passphrase_env=args.passphrase_env)
        if key:
            store.set_stream_key(args.stream, key)
    elif not key:
        raise ComponentError("push: give --key/--key-env (or --store with a stream key)")

    passphrase = None
    if args.passphrase_env:
        passphrase = os.environ.get(args.passphrase_env)
        if passphrase is None:
            raise ComponentError(f"environment variable {args.passphrase_env} is not set")
    endpoint = SrtEndpoint.parse(args.srt, passphrase=passphrase)
    changes = {
        "pbkeylen": args.pbkeylen,
        "latency_ms": args.latency,
        "streamid": args.streamid,
        "maxbw": args.maxbw,
        "packet_filter": args.packet_filter,
    }
    endpoint = endpoint.with_(**{k: v for k, v in changes.items() if v is not None})
    fallback = None
    if args.rtmp_fallback_env:
        fallback = os.environ.get(args.rtmp_fallback_env)
        if not fallback:
            raise ComponentError(
                f"environment variable {args.rtmp_fallback_env} (RTMP fallback URL) is not set"
            )
    pipeline = Pipeline(
        endpoint,
        stream=args.stream,
        store=store,
        key=None if store is not None else key,
        rtmp_host=args.rtmp_host,
        rtmp_port=args.rtmp_port,
        rtmp_app=args.app,
        schedule=args.schedule,
        preroll=args.preroll,
        sender=args.sender,
        record=args.record,
        service_name=args.service_name,
        rtmp_fallback=fallback,
        service_provider=args.service_provider,
        transcode=transcode,
        on_stats=lambda row: _print({"type": "stats", **row}),
        on_event=lambda ev: _print(
            {"type": "event", "t": ev.t, "kind": ev.kind, "message": ev.message}
        ),
    )
    with _terminate_as_interrupt():
        try:
            pipeline.start()
            print(
                f"OBS: Service Custom, Server {pipeline.ingest_url}, Stream Key: the key given",
                file=sys.stderr,
                flush=True,
            )
            deadline = None if args.duration is None else time.monotonic() + args.duration
            while deadline is None or time.monotonic() < deadline:
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        finally:
            pipeline.stop()
            if store is not None:
                store.close()
    return 0


def demo_command(args: argparse.Namespace) -> int:
    import pandas as pd

    seconds = max(float(args.seconds), 24.0)
    tmp = None
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="scte35lab-demo-")
        out = Path(tmp.name)
    capture = out / "capture.ts"
    capture.unlink(missing_ok=True)
    (out / "demo.db").unlink(missing_ok=True)
    store = Store(out / "demo.db")
    store.add_stream("demo", description="scte35lab demo")
    key = store.new_stream_key("demo")
    passphrase = secrets.token_urlsafe(18)
    schedule = Schedule([AdBreak(6, 6, cue_id="demo-break")])
    srt_port = free_port(__import__("socket").SOCK_DGRAM)
    note = print if args.format == "table" else (lambda *a, **k: None)

    def event(ev: Any) -> None:
        if ev.kind.startswith("cue_") or ev.kind in ("start", "clock", "srt_down", "srt_outage"):
            note(f"  {time.strftime('%H:%M:%S')} {ev.kind:14} {ev.message}", flush=True)

    listener = SrtListener(srt_port, capture, passphrase=passphrase)
    pipeline = Pipeline(
        f"srt://127.0.0.1:{srt_port}",
        store=store,
        stream="demo",
        passphrase=passphrase,
        schedule=schedule,
        rtmp_port=0,
        sender=args.sender,
        transcode=args.transcode,
        on_event=event,
    )
    obs = None
    note(f"scte35lab demo: {seconds:g} s of test picture, OBS -> RTMP -> cues -> SRT -> file")
    with _terminate_as_interrupt():
        try:
            listener.start()
            pipeline.start()
            obs = FFmpegTestSource(f"{pipeline.ingest_url}/{key}", duration=seconds).start()
            deadline = time.monotonic() + 20
            while pipeline.clock is None and time.monotonic() < deadline:
                if not obs.running:
                    raise ComponentError(f"the test source stopped: {obs.tail(2)}")
                time.sleep(0.1)
            if pipeline.clock is None:
                raise ComponentError("no video reached the pipeline in 20 s")
            time.sleep(min(12.0, seconds / 2))
            pipeline.cue_out(duration=4)
            obs.wait(seconds + 30)
            time.sleep(0.5)
        finally:
            if obs is not None:
                obs.stop()
            pipeline.stop()
            listener.stop()
    logs = store.logs("demo")
    store.close()
    table = verify(capture, schedule=None)
    cols = [
        "command_name",
        "kind",
        "splice_event_id",
        "splice_time",
        "nearest_idr_time",
        "offset_frames",
        "preroll",
        "sends",
        "ok",
        "reasons",
    ]
    if args.format == "csv":
        table.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        print(table.to_json(orient="records"))
    else:
        with pd.option_context("display.width", 160, "display.max_columns", 20):
            print(table[cols].to_string(index=False))
        print(summary(table, name=str(capture) if args.out else "capture"))
        states = logs["state"].value_counts().to_dict()
        said = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
        print(f"store: {len(logs)} cues in scte35_logs: {said or 'none'}")
        if args.sender != "libsrt":
            print(f"  ({args.sender} cannot see SRT acknowledgements: 'written' is all it knows)")
    if tmp is not None:
        tmp.cleanup()
    wanted = "delivered" if args.sender == "libsrt" else "written"
    ok = bool(len(table)) and bool(table["ok"].all()) and bool((logs["state"] == wanted).all())
    return 0 if ok else 1
