"""A live pipeline's settings, checked once, before anything starts.

Every keyword of :class:`~scte35lab.live.pipeline.Pipeline` lands here; a wrong one raises a
:class:`ComponentError` naming it, and nothing is left open. The SRT endpoint is built from
the URL, the passphrase (given, from an environment variable, or from the store), and the
latency, stream id and packet filter options.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scte35lab.errors import ComponentError
from scte35lab.live.ffmpeg import FFmpegSrtSender
from scte35lab.live.srt import SrtEndpoint, SrtSender
from scte35lab.live.srtsend import LibSrtSender
from scte35lab.live.transcode import TranscodeSettings, settings_from

SENDERS = {"libsrt": LibSrtSender, "srt-live-transmit": SrtSender, "ffmpeg": FFmpegSrtSender}
ARGV_SECRET_SENDERS = ("srt-live-transmit", "ffmpeg")  # they take the passphrase in argv
MODES = ("passthrough", "transcode")


@dataclass(frozen=True)
class LiveSettings:
    """What a pipeline was asked to do (see ``Pipeline`` for each keyword)."""

    stream: str
    endpoint: SrtEndpoint
    sender: str
    mode: str
    transcode: TranscodeSettings | None
    preroll: float
    margin: float
    key: str | None
    ingest: str
    rtmp: dict[str, Any]
    schedule: Any
    record: Path | None
    record_input: Path | None
    hls_preview: Path | None
    service_name: str | None
    service_provider: str
    rtmp_fallback: str | None
    backoff_max: float
    realtime_input: bool
    read_size: int
    splice_on_slate: bool  # transcode: a cue due during an input loss splices on the slate

    @property
    def sender_class(self) -> type:
        return SENDERS[self.sender]

    @property
    def output(self) -> str:
        """Where the stream goes and how, for people: URL (secrets hidden), sender, mode."""
        how = self.mode if self.transcode is None else f"transcode: {self.transcode.describe()}"
        return f"{self.endpoint.display} ({self.sender}, {how})"

    @property
    def argv_secret(self) -> bool:
        """The chosen sender puts the passphrase on its command line."""
        return self.sender in ARGV_SECRET_SENDERS and bool(self.endpoint.passphrase)

    @property
    def argv_warning(self) -> str | None:
        """What the user must hear about a sender taking the passphrase in its argv."""
        if not self.argv_secret:
            return None
        return (
            f"the {self.sender} sender takes the SRT passphrase on its command line, where any "
            "user of this machine can read it (ps), and it cannot see what the receiver "
            "acknowledged: cues will be 'written', never 'delivered'. The default sender "
            "(libsrt) has neither limit."
        )

    @classmethod
    def build(
        cls,
        srt: str | SrtEndpoint,
        *,
        stream: str,
        store: Any,
        passphrase: str | None,
        passphrase_env: str | None,
        latency_ms: int | None,
        streamid: str | None,
        packet_filter: str | None,
        sender: str,
        mode: str | None,
        transcode: TranscodeSettings | dict[str, Any] | str | None,
        preroll: float,
        record: str | os.PathLike[str] | None,
        record_input: str | os.PathLike[str] | None,
        hls_preview: str | os.PathLike[str] | None,
        splice_on_slate: bool = False,
        **rest: Any,
    ) -> LiveSettings:
        """Check every setting and build the endpoint; raises naming what is wrong."""
        if sender not in SENDERS:
            raise ComponentError(f"sender {sender!r} is not one of {', '.join(SENDERS)}")
        if mode is None:
            mode = "passthrough" if transcode is None else "transcode"
        if mode not in MODES:
            raise ComponentError(f"mode {mode!r} is not one of {', '.join(MODES)}")
        if mode == "passthrough" and transcode is not None:
            raise ComponentError("transcode settings were given with mode='passthrough'")
        if splice_on_slate and mode != "transcode":
            raise ComponentError("splice_on_slate needs transcode mode (a slate to splice on)")
        if not preroll >= 0:
            raise ComponentError(f"preroll {preroll!r} is not a number of seconds >= 0")
        if passphrase is None and passphrase_env is not None:
            passphrase = os.environ.get(passphrase_env)
            if passphrase is None:
                raise ComponentError(
                    f"environment variable {passphrase_env} (the SRT passphrase) is not set"
                )
        if passphrase is None and store is not None:
            with contextlib.suppress(Exception):
                passphrase = store.srt_passphrase(stream)
        if isinstance(srt, SrtEndpoint):
            endpoint = srt if passphrase is None else srt.with_(passphrase=passphrase)
        else:
            endpoint = SrtEndpoint.parse(srt, passphrase=passphrase)
        if latency_ms is not None:
            endpoint = endpoint.with_(latency_ms=latency_ms)
        if streamid is not None:
            endpoint = endpoint.with_(streamid=streamid)
        if packet_filter is not None:  # SRT FEC, e.g. "fec,cols:10,rows:5"
            endpoint = endpoint.with_(packet_filter=packet_filter)
        if endpoint.packet_filter and sender == "ffmpeg":
            FFmpegSrtSender(endpoint)  # raises: FFmpeg's srt:// has no packet filter

        def path(p: str | os.PathLike[str] | None) -> Path | None:
            return None if p is None else Path(p)

        return cls(
            stream=stream,
            endpoint=endpoint,
            sender=sender,
            mode=mode,
            # transcode: libx264 re-encodes, with an IDR forced at every splice point
            transcode=settings_from(transcode) if mode == "transcode" else None,
            preroll=float(preroll),
            margin=1.0,
            record=path(record),
            record_input=path(record_input),
            hls_preview=path(hls_preview),
            splice_on_slate=splice_on_slate,
            **rest,
        )
