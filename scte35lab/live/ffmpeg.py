"""FFmpeg at the edges: a test source (the stand-in OBS), remux to TS, and an SRT sender.

Facts these wrappers rely on, measured with Debian's FFmpeg 5.1:

- ``-f data`` passes TS bytes through unchanged, but its reads are 1024-byte chunks, so over
  ``srt://`` the SRT payloads come out 1024 bytes and odd remainders: TS packets split
  across SRT packets. With ``-raw_packet_size 1316 -blocksize 1316`` and input written in
  whole 1316-byte units (:class:`~scte35lab.live.srt.TsPipeWriter`) every payload is 1316
  bytes, seven TS packets.
- FFmpeg's ``srt://`` takes ``latency`` in microseconds, the stream id as
  ``-srt_streamid``, and needs ``linger`` not to lose the last second at close. It opens
  the SRT connection only once the first input bytes arrive, and reports no statistics.
- It prints the URL, passphrase included, in error messages: everything kept is redacted.
- Its ``srt://`` has no packet filter option (``ffmpeg -h protocol=srt``) and silently drops
  ``packetfilter=`` from the URL (measured: a listener got no FEC packet), so
  :class:`FFmpegSrtSender` refuses an endpoint with one instead of sending without FEC.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import IO

from scte35lab.live.errors import SrtUrlError
from scte35lab.live.process import ManagedProcess, find_tool
from scte35lab.live.srt import PipedSrtSender
from scte35lab.live.srtendpoint import SRT_CHUNK, SrtEndpoint
from scte35lab.live.srtstats import SrtStats

log = logging.getLogger(__name__)


def ffmpeg_argv(loglevel: str = "warning") -> list[str]:
    """How every FFmpeg command line here starts: no banner, no reading of keys from stdin,
    no progress line (below ``info`` FFmpeg prints it straight to stderr), ``loglevel``."""
    return [find_tool("ffmpeg"), "-hide_banner", "-nostdin", "-nostats", "-loglevel", loglevel]


def testsrc_argv(
    output: str,
    *,
    fmt: str = "flv",
    size: str = "320x180",
    rate: int = 25,
    gop: int | None = None,
    video_bitrate: str = "600k",
    audio: bool = True,
    duration: float | None = None,
    realtime: bool = True,
    preset: str = "ultrafast",
    bframes: int = 0,
) -> list[str]:
    """FFmpeg arguments for a test picture and tone encoded H.264/AAC, as OBS would send.

    ``gop`` defaults to two seconds of frames; scene-cut keyframes are off so the GOP is
    what was asked. ``realtime`` paces the output at the frame rate (``-re``).
    """
    gop = 2 * rate if gop is None else gop
    argv = ffmpeg_argv()
    if realtime:
        argv.append("-re")
    argv += ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}"]
    if audio:
        argv += ["-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000"]
    if duration is not None:
        argv += ["-t", f"{duration:g}"]
    argv += [
        "-c:v",
        "libx264",
        "-preset",
        preset,
        "-tune",
        "zerolatency",
        "-pix_fmt",
        "yuv420p",
        "-b:v",
        video_bitrate,
        "-g",
        str(gop),
        "-keyint_min",
        str(gop),
        "-sc_threshold",
        "0",
        "-bf",
        str(bframes),
    ]
    if audio:
        argv += ["-c:a", "aac", "-b:a", "96k", "-ar", "48000", "-ac", "2"]
    argv += ["-f", fmt, output]
    return argv


class FFmpegTestSource(ManagedProcess):
    """The stand-in OBS: FFmpeg encoding a test pattern and publishing it.

    ``FFmpegTestSource("rtmp://127.0.0.1:1935/live/KEY")`` publishes over RTMP (FLV) as OBS
    does; ``fmt="mpegts"`` with ``output="pipe:1"`` and ``stdout="pipe"`` gives TS instead.
    The URL (and so the stream key) is redacted from what is shown.
    """

    def __init__(
        self,
        output: str,
        *,
        fmt: str = "flv",
        secrets: list[str] | None = None,
        stdout: str | os.PathLike[str] | IO[bytes] | None = None,
        name: str = "test-source",
        **encode: object,
    ) -> None:
        key_secrets = list(secrets or [])
        if output.startswith("rtmp://"):
            key_secrets.append(output.rsplit("/", 1)[-1])
        super().__init__(
            name,
            testsrc_argv(output, fmt=fmt, **encode),  # type: ignore[arg-type]
            secrets=key_secrets,
            stdout=stdout,
            stop_signal=2,  # SIGINT: FFmpeg finishes the file/stream cleanly
        )


def remux_argv(source: str, output: str = "pipe:1", *, copyts: bool = False) -> list[str]:
    """FFmpeg arguments that remux ``source`` (RTMP, file, UDP) to MPEG-TS without re-encoding."""
    argv = ffmpeg_argv()
    argv += ["-i", source, "-map", "0:v?", "-map", "0:a?", "-c", "copy"]
    if copyts:
        argv += ["-copyts", "-muxdelay", "0", "-muxpreload", "0"]
    # A PCR every 20 ms: FFmpeg's default spacing breaks TR 101 290's 40 ms limit; each
    # packet written as it comes (FFmpeg's default 32 KB buffer makes bursts)
    argv += ["-f", "mpegts", "-pcr_period", "20", "-flush_packets", "1", output]
    return argv


class FFmpegRemux(ManagedProcess):
    """FFmpeg reading ``source`` and writing it as MPEG-TS, streams copied, to its stdout."""

    def __init__(self, source: str, *, name: str = "ingest", secrets: list[str] | None = None):
        super().__init__(name, remux_argv(source), secrets=secrets or [], stdout="pipe")


class FFmpegSrtSender(PipedSrtSender):
    """FFmpeg's ``srt://`` output sending the TS written to it, bytes unchanged (``-f data``).

    The same face as :class:`~scte35lab.live.srt.SrtSender` (the life cycle and byte
    accounting are :class:`~scte35lab.live.procoutput.ProcessOutput`'s), but FFmpeg exposes
    no SRT statistics: ``stats_available`` is ``False`` and ``stats`` stays empty, never
    invented. Nor can it set a packet filter (FEC): an endpoint with ``packet_filter`` is
    refused.
    """

    tool = "ffmpeg"
    stop_timeout = 4.0  # linger: let it send what it holds
    process_stop_timeout = 4.0

    def __init__(
        self,
        endpoint: SrtEndpoint,
        *,
        name: str = "ffmpeg-srt",
        on_state: Callable[[str], None] | None = None,
        on_sample: Callable[..., None] | None = None,
        **_: object,
    ) -> None:
        if endpoint.packet_filter:
            raise SrtUrlError(
                f"the FFmpeg SRT sender cannot do FEC (packetfilter={endpoint.packet_filter}): "
                "FFmpeg 5.1's srt:// has no packet filter option and would send without it; "
                "use the srt-live-transmit sender, which can"
            )
        super().__init__(endpoint, name=name, on_state=on_state)
        self.stats = SrtStats()

    def argv(self) -> list[str]:
        """The command line (holds the passphrase: show ``process.display_argv`` instead)."""
        return [
            *ffmpeg_argv("info"),
            "-f",
            "data",
            "-raw_packet_size",
            str(SRT_CHUNK),
            "-blocksize",
            str(SRT_CHUNK),
            "-i",
            "pipe:0",
            "-map",
            "0",
            "-c",
            "copy",
            "-flush_packets",
            "1",
            *self.endpoint.ffmpeg_options(),
            "-f",
            "data",
            self.endpoint.ffmpeg_url(),
        ]

    def state_of(self, line: str) -> str | None:
        return "connected" if line.startswith("Output #0") else None
