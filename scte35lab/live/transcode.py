"""Transcode mode: re-encode the ingest with libx264, IDR frames exactly where cues splice.

OBS's own keyframes fall where OBS puts them; a distributor that needs a splice point at a
given instant needs an IDR there. :class:`Transcoder` decodes the ingest's TS, re-encodes
video with libx264 and audio with AAC (PyAV, FFmpeg's libraries in process) and muxes
MPEG-TS again. Because the pipeline drives the encoder frame by frame, it can force an IDR
at any splice point it learns of, also one requested while live: setting a frame's picture
type to I makes x264 code an IDR exactly there (``forced-idr=1``, scene-cut keyframes off).

Timestamps are kept (``mpegts_copyts``, and the 2^33 wrap unwrapped here rather than by
libavformat): each output frame has its input frame's PTS, or, with a frame rate set, the
PTS of its slot on that rate's grid from the first frame. So stream
time, the schedule's mapping and the splice PTS mean the same before and after. CBR output
(``muxrate``) is the mpegts muxer's: null packets stuff the stream up to that rate.

The injector still owns the SCTE-35 PID: the transcoder's output goes on to it unchanged.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from fractions import Fraction
from typing import Any

from scte35lab.clock import PTS_HZ as CLOCK
from scte35lab.clock import PTS_WRAP, pts_diff
from scte35lab.errors import ComponentError
from scte35lab.live.avtracks import AudioTrack, VideoGrid
from scte35lab.live.slate import LossFrames, rgb_of

log = logging.getLogger(__name__)

TARGET_WINDOW = 60 * CLOCK  # how far past its splice point a frame still takes the IDR
_EOF = b""
PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
)
TUNES = ("film", "animation", "grain", "stillimage", "fastdecode", "zerolatency")


def _rate(text: str | int | float) -> int:
    """Bits per second from ``2500000``, ``"2500k"`` or ``"2.5M"``."""
    try:
        if isinstance(text, int | float):
            return int(text)
        s = text.strip().lower()
        scale = {"k": 1_000, "m": 1_000_000}.get(s[-1:], 1)
        return int(float(s[:-1] if scale > 1 else s) * scale)
    except (ValueError, OverflowError, AttributeError):
        raise ComponentError(f"transcode: {text!r} is not a bit rate (like 2500k or 3M)") from None


@dataclass(frozen=True)
class TranscodeSettings:
    """How transcode mode encodes. ``size`` ``(w, h)`` and ``fps`` default to the input's;
    ``gop`` is the keyframe interval in seconds (splice points add IDRs between);
    ``cbr`` asks x264 for constant bit rate (NAL HRD, VBV = ``video_bitrate``);
    ``muxrate`` (bits/s) makes the TS constant rate with null stuffing."""

    video_bitrate: int = 2_500_000
    size: tuple[int, int] | None = None
    fps: float | None = None
    preset: str = "veryfast"
    tune: str | None = "zerolatency"
    gop: float = 2.0
    audio_bitrate: int = 128_000
    audio_rate: int = 48_000
    audio_channels: int = 2
    cbr: bool = False
    muxrate: int | None = None
    threads: int = 0
    # input loss, as AWS Elemental MediaLive: the last frame, black, then a colour or image
    repeat_frame_ms: int = 1000
    black_frame_ms: int = 1000
    loss_color: str = "000000"
    loss_image: str | None = None

    def __post_init__(self) -> None:
        for name in ("video_bitrate", "audio_bitrate", "muxrate"):  # "2500k" is fine here too
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _rate(value))
        problems = []
        if self.video_bitrate < 50_000:
            problems.append(f"video_bitrate {self.video_bitrate} is below 50 kbit/s")
        if self.size is not None and (
            len(self.size) != 2 or any(v <= 0 or v % 2 for v in self.size)
        ):
            problems.append(f"size {self.size} must be two even positive numbers")
        if self.fps is not None and not 1 <= self.fps <= 120:
            problems.append(f"fps {self.fps} is outside 1..120")
        if self.preset not in PRESETS:
            problems.append(f"preset {self.preset!r} is not one of {', '.join(PRESETS)}")
        if self.tune is not None and self.tune not in TUNES:
            problems.append(f"tune {self.tune!r} is not one of {', '.join(TUNES)}")
        if not 0.1 <= self.gop <= 20:
            problems.append(f"gop {self.gop} s is outside 0.1..20")
        if self.audio_rate not in (22_050, 24_000, 32_000, 44_100, 48_000):
            problems.append(f"audio_rate {self.audio_rate} is not an AAC rate")
        if not isinstance(self.threads, int) or self.threads < 0:
            problems.append(f"threads {self.threads!r} is not a count >= 0 (0: x264 chooses)")
        for name in ("repeat_frame_ms", "black_frame_ms"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                problems.append(f"{name} {value!r} is not a whole number of ms >= 0")
        try:
            rgb_of(self.loss_color)
        except ComponentError as exc:
            problems.append(str(exc))
        if self.audio_channels not in (1, 2):
            problems.append(f"audio_channels {self.audio_channels} is not 1 or 2")
        if self.muxrate is not None and self.muxrate < self.video_bitrate + self.audio_bitrate:
            problems.append(
                f"muxrate {self.muxrate} is below video + audio bit rate "
                f"({self.video_bitrate + self.audio_bitrate})"
            )
        if problems:
            raise ComponentError("transcode settings: " + "; ".join(problems))

    @classmethod
    def parse(cls, spec: str | None) -> TranscodeSettings:
        """From ``"bitrate=2500k,size=1280x720,fps=30,preset=veryfast,gop=2,muxrate=3M"``
        (any subset; names: the fields, plus ``bitrate``/``abitrate``/``arate``/``channels``)."""
        if not spec:
            return cls()
        aliases = {
            "bitrate": "video_bitrate",
            "vbitrate": "video_bitrate",
            "abitrate": "audio_bitrate",
            "arate": "audio_rate",
            "channels": "audio_channels",
            "resolution": "size",
        }
        names = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            name, sep, value = part.partition("=")
            name = aliases.get(name.strip(), name.strip())
            if not sep or name not in names:
                known = ", ".join(sorted(names | set(aliases)))
                raise ComponentError(f"transcode: {part!r} is not NAME=VALUE with NAME in {known}")
            values[name] = _field_value(name, value.strip())
        return cls(**values)

    @property
    def loss(self) -> str:
        """What goes out while the input is lost, in words."""
        slate = f"the image {self.loss_image}" if self.loss_image else f"#{self.loss_color}"
        return (
            f"the last frame for {self.repeat_frame_ms} ms, black for {self.black_frame_ms} ms, "
            f"then {slate}, with silence"
        )

    def describe(self) -> str:
        size = "input size" if self.size is None else f"{self.size[0]}x{self.size[1]}"
        fps = "input rate" if self.fps is None else f"{self.fps:g} fps"
        return (
            f"libx264 {self.preset}{'/' + self.tune if self.tune else ''} "
            f"{self.video_bitrate // 1000} kbit/s{' CBR' if self.cbr else ''}, {size}, {fps}, "
            f"GOP {self.gop:g} s; AAC {self.audio_bitrate // 1000} kbit/s "
            f"{self.audio_rate} Hz"
            + (f"; mux {self.muxrate // 1000} kbit/s" if self.muxrate else "")
        )


def _field_value(name: str, value: str) -> Any:
    try:
        if name in ("video_bitrate", "audio_bitrate", "muxrate"):
            return _rate(value)
        if name == "size":
            w, h = value.lower().split("x")
            return (int(w), int(h))
        if name in ("fps", "gop"):
            return float(Fraction(value))
        if name in ("audio_rate", "audio_channels", "threads", "repeat_frame_ms", "black_frame_ms"):
            return int(value)
        if name == "cbr":
            return value.lower() in ("1", "true", "yes", "on")
        if name == "tune":
            return None if value.lower() in ("", "none") else value
    except (ValueError, ZeroDivisionError, OverflowError):
        raise ComponentError(f"transcode: {name}={value!r} is not a valid value") from None
    return value


class _QueueReader:
    """A blocking file for PyAV's demuxer, fed from another thread."""

    def __init__(self, max_chunks: int = 256) -> None:
        self.q: queue.Queue[bytes] = queue.Queue(max_chunks)
        self.buf = b""
        self.closed = False

    def put(self, data: bytes, timeout: float) -> bool:
        try:
            self.q.put(data, timeout=timeout)
            return True
        except queue.Full:
            return False

    def read(self, n: int = -1) -> bytes:
        while not self.buf and not self.closed:
            chunk = self.q.get()
            if chunk is _EOF or not chunk:
                self.closed = True
                break
            self.buf = chunk
        k = len(self.buf) if n < 0 else n
        out, self.buf = self.buf[:k], self.buf[k:]
        return out


class _Writer:
    """What PyAV's muxer writes goes straight on to ``on_output``."""

    def __init__(self, on_output: Callable[[bytes], None]) -> None:
        self.on_output = on_output
        self.bytes = 0

    def write(self, data: Any) -> int:
        b = bytes(data)
        self.bytes += len(b)
        self.on_output(b)
        return len(b)


class Transcoder:
    """Decode -> libx264/AAC -> MPEG-TS on a thread of its own, for one ingest session.

    ``feed(ts)`` hands input on (blocks up to ``feed_timeout`` when the encoder is behind);
    output arrives in ``on_output(ts)`` from the transcoder's thread, in order.
    ``force_idr(pts)`` asks for an IDR at the first frame at or after ``pts``; ``close()``
    ends the input, drains the encoders and waits for the last output.
    """

    def __init__(
        self,
        settings: TranscodeSettings,
        on_output: Callable[[bytes], None],
        *,
        name: str = "transcode",
        feed_timeout: float = 2.0,
    ) -> None:
        self.settings = settings
        self.name = name
        self.feed_timeout = feed_timeout
        self._reader = _QueueReader()
        self._writer = _Writer(on_output)
        self._holding = threading.Event()  # the input ended; the stream goes on (loss frames)
        self._next_input: queue.Queue[_QueueReader] = queue.Queue()
        self._closing = threading.Event()
        self.loss_phase: str | None = None  # repeat / black / slate while the input is lost
        self._targets: list[int] = []  # splice PTS (mod 2^33) still to get an IDR
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.last_pts: int | None = None  # PTS of the newest frame handed to the encoder
        self.forced: list[int] = []  # PTS of the frames made IDR on request
        self.frames_in = 0
        self.frames_out = 0
        self.dropped = 0
        self.duplicated = 0
        self.input_size: tuple[int, int] | None = None
        self._encode_s = 0.0
        self._media_start: int | None = None
        self._wall_start: float | None = None
        self._window: list[tuple[float, int, int, float]] = []  # (t, frames, bytes, encode s)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Transcoder {self.name} {state}: {self.settings.describe()}>"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Transcoder:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def feed(self, data: bytes) -> None:
        """Hand TS bytes on; raises when the transcoder has failed or stays too far behind."""
        if self.error is not None:
            raise ComponentError(f"{self.name}: transcoder failed: {self.error}")
        if not data:
            return
        if not self._reader.put(bytes(data), self.feed_timeout):
            raise ComponentError(
                f"{self.name}: the encoder is more than {self.feed_timeout:g} s behind the "
                "ingest (too slow for these settings: lower size, fps or preset)"
            )

    def force_idr(self, pts: int) -> None:
        """Make the first frame at or after ``pts`` an IDR (a splice point)."""
        with self._lock:
            self._targets.append(pts % PTS_WRAP)

    def hold(self) -> None:
        """The input ended but the stream goes on: after what is buffered, the input-loss
        frames (the last frame, black, the slate: see :mod:`scte35lab.live.slate`) are
        encoded at real-time pace, timestamps going on, until :meth:`resume` or ``close``."""
        self._holding.set()
        with contextlib.suppress(queue.Full):
            self._reader.q.put(_EOF, timeout=self.feed_timeout)

    @property
    def holding(self) -> bool:
        return self._holding.is_set() and self.running

    def resume(self) -> None:
        """A new input follows the loss frames: its first frame is an IDR, and its
        timestamps are moved on to continue the output's."""
        self._reader = _QueueReader()
        self._next_input.put(self._reader)

    def close(self, timeout: float = 10.0) -> bool:
        """End of input: encode what is buffered and write the last output; True when that
        took less than ``timeout`` s. Past it, whatever the thread still writes is dropped
        (never delivered late), and False says so."""
        if self._thread is None:
            return True
        self._closing.set()
        deadline = time.monotonic() + timeout
        with contextlib.suppress(queue.Full):
            self._reader.q.put(_EOF, timeout=timeout)
        self._thread.join(max(0.0, deadline - time.monotonic()))
        if not self._thread.is_alive():
            return True
        self._writer.on_output = lambda data: None
        log.warning("%s: did not finish within %g s: the rest is dropped", self.name, timeout)
        return False

    def second(self) -> dict[str, Any]:
        """This second's figures, as FFmpeg's ``-progress`` gives them: frames, fps, output
        bit rate, speed (media time per wall time), plus encode time per frame."""
        now = time.monotonic()
        frames, nbytes, enc = self.frames_out, self._writer.bytes, self._encode_s
        self._window.append((now, frames, nbytes, enc))
        self._window = [w for w in self._window if now - w[0] <= 2.5]
        row: dict[str, Any] = {
            "transcode_frames": frames,
            "transcode_dropped": self.dropped,
            "transcode_duplicated": self.duplicated,
            "transcode_forced_idr": len(self.forced),
        }
        t0, f0, b0, e0 = self._window[0]
        if now - t0 >= 0.5:
            dt = now - t0
            row["transcode_fps"] = (frames - f0) / dt
            row["transcode_kbps"] = (nbytes - b0) * 8 / dt / 1000
            if frames > f0:
                row["encode_ms_per_frame"] = 1000 * (enc - e0) / (frames - f0)
        if self._media_start is not None and self.last_pts is not None and self._wall_start:
            media = pts_diff(self.last_pts, self._media_start) / CLOCK
            wall = now - self._wall_start
            if wall > 0:
                row["transcode_speed"] = media / wall
        return row

    # ------------------------------------------------------------------ the thread
    def _run(self) -> None:
        try:
            self._transcode()
        except Exception as exc:  # reported through feed() and the pipeline's events
            self.error = exc
            log.warning("%s: %s: %s", self.name, type(exc).__name__, exc)
            while not self._reader.closed:  # unblock a feeder waiting on a full queue
                self._reader.read(1 << 20)

    def _open_input(self, reader: _QueueReader) -> Any:
        import av

        src = av.open(
            reader,
            "r",
            format="mpegts",
            # the wrap is ours to unwrap: libavformat's own correction makes early PTS
            # negative near 2^33, and the muxer then shifts the whole stream to 0
            options={
                "probesize": "400000",
                "analyzeduration": "1500000",
                "correct_ts_overflow": "0",
            },
        )
        if not src.streams.video:
            src.close()
            raise ComponentError("the ingest has no video stream to transcode")
        src.streams.video[0].codec_context.thread_type = "AUTO"  # decode beside encode
        return src

    def _transcode(self) -> None:
        import av

        src = self._open_input(self._reader)
        out = None
        try:
            vin = src.streams.video[0]
            ain = src.streams.audio[0] if src.streams.audio else None
            out = av.open(
                self._writer,
                "w",
                format="mpegts",
                buffer_size=188 * 7 * 8,
                options=self._mux_options(),
            )
            vout = self._video_stream(out, vin)
            aout = self._audio_stream(out) if ain is not None else None
            video = VideoGrid(self, vout, out, self.settings.fps, self.settings.size)
            audio = AudioTrack(aout, out, self.settings) if aout is not None else None
            self._wall_start = time.monotonic()
            while True:
                self._pipe(src, video, audio)
                src.close()
                src = None
                reader = self._fill(video, audio) if self._holding.is_set() else None
                if reader is None:
                    break
                src = self._open_input(reader)  # the input is back
                video.rebase()
                if audio is not None:
                    audio.rebase()
            video.finish()
            if audio is not None:
                audio.finish()
        finally:
            if src is not None:
                src.close()
            if out is not None:
                out.close()

    def _mux_options(self) -> dict[str, str]:
        opts = {
            "mpegts_copyts": "1",
            "pcr_period": "20",
            "flush_packets": "0",  # whole buffers (8 SRT packets) on, not one TS packet
            "mpegts_flags": "resend_headers",
        }
        if self.settings.muxrate:
            opts["muxrate"] = str(self.settings.muxrate)
        return opts

    def _video_stream(self, out: Any, vin: Any) -> Any:
        s = self.settings
        rate = s.fps or float(vin.average_rate or vin.guessed_rate or 25)
        keyint = max(1, round(s.gop * rate))
        x264 = [f"keyint={keyint}", f"min-keyint={keyint}", "scenecut=0"]
        if s.cbr:
            kbps = s.video_bitrate // 1000
            x264 += ["nal-hrd=cbr", f"vbv-maxrate={kbps}", f"vbv-bufsize={kbps}"]
        opts = {"preset": s.preset, "forced-idr": "1", "x264-params": ":".join(x264)}
        if s.tune:
            opts["tune"] = s.tune
        vs = out.add_stream("libx264", rate=Fraction(rate).limit_denominator(1001), options=opts)
        w, h = s.size or (vin.codec_context.width, vin.codec_context.height)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.bit_rate = s.video_bitrate
        vs.time_base = Fraction(1, CLOCK)
        vs.codec_context.time_base = Fraction(1, CLOCK)
        vs.codec_context.framerate = Fraction(rate).limit_denominator(1001)
        if s.threads:
            vs.codec_context.thread_count = s.threads
        return vs

    def _audio_stream(self, out: Any) -> Any:
        s = self.settings
        a = out.add_stream("aac", rate=s.audio_rate)
        a.bit_rate = s.audio_bitrate
        a.layout = "mono" if s.audio_channels == 1 else "stereo"
        a.time_base = Fraction(1, s.audio_rate)
        return a

    def _pipe(self, src: Any, video: VideoGrid, audio: AudioTrack | None) -> None:
        import av

        vin = src.streams.video[0]
        ain = src.streams.audio[0] if src.streams.audio and audio is not None else None
        streams = [vin] + ([ain] if ain is not None else [])
        for packet in src.demux(*streams):
            try:
                frames = packet.decode()
            except av.error.InvalidDataError as exc:
                log.debug("%s: undecodable packet skipped: %s", self.name, exc)
                continue
            for frame in frames:
                if packet.stream is vin:
                    video.push(frame)
                elif audio is not None:
                    audio.push(frame, video.offset)

    def _fill(self, video: VideoGrid, audio: AudioTrack | None) -> _QueueReader | None:
        """Encode the input-loss frames at real-time pace until a new input comes (returned)
        or the transcoder is closed (``None``)."""
        s = self.settings
        w, h = video.size_out
        frames = LossFrames(
            video.last,
            w,
            h,
            repeat_frame_ms=s.repeat_frame_ms,
            black_frame_ms=s.black_frame_ms,
            color=s.loss_color,
            image=s.loss_image,
        )
        period = 1 / video.rate
        t0 = time.monotonic()
        n = 0
        try:
            while not self._closing.is_set():
                wait = max(0.0, t0 + n * period - time.monotonic())
                try:
                    reader = self._next_input.get(timeout=wait)
                except queue.Empty:
                    pass
                else:
                    self._holding.clear()
                    return reader
                self.loss_phase = frames.phase(n * period)
                video.push_loss(frames.at(n * period))
                if audio is not None:
                    audio.push_silence(period, video.offset)
                n += 1
            return None
        finally:
            self.loss_phase = None

    def _take_target(self, pts: int) -> bool:
        """True when a requested splice point is at or up to a minute before this frame
        (then it is used). On the 2^33 circle a target more than a minute behind reads the
        same as one more than 13 h ahead: such targets wait (a day-long schedule keeps its
        late breaks), and one truly passed costs nothing but a list entry."""
        with self._lock:
            due = [t for t in self._targets if 0 <= pts_diff(pts, t) < TARGET_WINDOW]
            if due:
                self._targets = [t for t in self._targets if t not in due]
        return bool(due)


def settings_from(value: TranscodeSettings | dict[str, Any] | str | None) -> TranscodeSettings:
    """Settings from a TranscodeSettings, a dict of its fields, or a ``parse`` string."""
    if isinstance(value, TranscodeSettings):
        return value
    if isinstance(value, dict):
        base = TranscodeSettings()
        try:
            return replace(base, **value)
        except TypeError as exc:
            raise ComponentError(f"transcode settings: {exc}") from None
    return TranscodeSettings.parse(value)
