"""``LiveDashboard``: start and stop a ``scte35lab.live.Pipeline``, send cue-out/cue-in, and
watch the cues in stream time, the countdown to the next break, the latency the stream runs
behind OBS, bitrate, fps, SRT RTT and loss, while the kernel stays free.

The pipeline calls ``on_stats`` with its stats row once a second (``bitrate_kbps``, ``fps``,
``frames``, ``srt_rtt_ms``, ``srt_pkt_loss``, ``srt_connected``, ...) and ``on_event`` on
start, stop, reconnects and cues. The callbacks only keep the data; a daemon thread redraws
at most once per ``refresh`` seconds, and start/stop run on worker threads, so no cell waits
on FFmpeg or SRT.
"""

from __future__ import annotations

import html
import logging
import threading
import time
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from scte35lab.clock import PTS_HZ
from scte35lab.errors import Scte35Error

if TYPE_CHECKING:
    from scte35lab.live.pipeline import CueRecord, LiveEvent, Pipeline
from scte35lab.widgets.common import ERROR, OK, WARN
from scte35lab.widgets.stream_time import (
    added_latency,
    countdown,
    countdown_html,
    cue_rows,
    cue_seconds,
    on_air,
    state_html,
    stream_time,
    wall_time,
)
from scte35lab.widgets.timeline import figure_png

log = logging.getLogger(__name__)

CHARTS = (
    ("bitrate_kbps", "bitrate (kbit/s, 3 s mean)"),
    ("fps", "frames per second (over the last 2 s of frames)"),
    ("srt_rtt_ms", "SRT RTT (ms)"),
    ("srt_pkt_loss", "SRT packets lost (total)"),
)
COUNTS = ("srt_pkt_loss",)  # integer counts: axis from 0, whole-number ticks
FPS_WINDOW_S = 2.0  # fps is counted over about this many seconds of frames
BITRATE_WINDOW = 3  # stats rows (seconds) in the bitrate mean
_STATUS_COLORS = {"live": OK, "error": ERROR, "starting": WARN, "stopping": WARN}
_LOG_COLUMNS = [
    "cue_id",
    "role",
    "splice_time",
    "status",
    "preroll",
    "moved",
    "error",
    "splice_pts",
    "hex",
]
_BAD_EVENTS = ("error", "cue_missed", "cue_late", "cue_unconfirmed", "srt_down", "srt_outage")
_WARN_EVENTS = ("warning", "cue_moved", "cue_written")


def smoothed_fps(df: pd.DataFrame, window_s: float = FPS_WINDOW_S) -> pd.Series:
    """Frames per second over the last ``window_s`` seconds of frames at each row: frame
    intervals counted over the PTS span they cover (each row's ``frames`` and ``fps``), so a
    steady source reads steady even when a one-second window holds one frame more or less."""
    fps = pd.to_numeric(df.get("fps"), errors="coerce")
    if "frames" not in df:
        return fps.rolling(3, min_periods=1).mean()
    frames = pd.to_numeric(df["frames"], errors="coerce").fillna(0).to_numpy(float)
    rate = fps.to_numpy(float)
    intervals = np.where((rate > 0) & (frames >= 2), frames - 1, 0.0)
    spans = np.where(intervals > 0, intervals / np.where(rate > 0, rate, 1.0), 0.0)
    out = np.full(len(df), np.nan)
    for i in range(len(df)):
        n = span = 0.0
        j = i
        while j >= 0 and span < window_s:
            n, span = n + intervals[j], span + spans[j]
            j -= 1
        if span > 0:
            out[i] = n / span
    return pd.Series(out, index=df.index)


def cue_table(rows: list[dict[str, Any]]) -> str:
    """The cue log as an HTML table: every cell escaped, the state as a coloured chip; the
    hex (with details on) wraps instead of running off the edge."""
    columns = list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for r in rows:
        cells = []
        for c in columns:
            value = r.get(c, "")
            text = state_html(str(value)) if c == "state" else html.escape(str(value))
            wrap = " class='s35-hex'" if c == "hex" else ""
            cells.append(f"<td{wrap}>{text}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    style = (
        "<style>.s35-cue-log td, .s35-cue-log th {white-space:nowrap;font-size:12px;"
        "padding:1px 6px;text-align:left} .s35-cue-log td.s35-hex {white-space:normal;"
        "word-break:break-all;font-family:monospace;min-width:20em}</style>"
    )
    return (
        f"{style}<table class='s35-cue-log'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def chart_figure(df: pd.DataFrame) -> tuple[Figure, list[str]]:
    """The four charts of :data:`CHARTS` over ``LiveDashboard.frame()`` rows (fps and
    bitrate smoothed), every axis from 0, counts on whole numbers; and the latest value of
    each as HTML snippets."""
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    axes = fig.subplots(2, 2, sharex=True).ravel()
    latest = []
    shown = {"fps": "fps_smooth", "bitrate_kbps": "bitrate_smooth"}
    for ax, (key, label) in zip(axes, CHARTS, strict=True):
        ax.set_title(label, fontsize=9)
        col = shown.get(key, key)
        values = pd.to_numeric(df[col], errors="coerce") if col in df else None
        if values is not None and values.notna().any():
            ax.plot(df["t"], values, lw=1.2, marker="o", ms=2.5)
            last = values.dropna().iloc[-1]
            latest.append(f"{label.split(' (')[0]}: <b>{last:.4g}</b>")
            top = float(values.max())
            if key in COUNTS:
                ax.yaxis.set_major_locator(MaxNLocator(integer=True))
                ax.set_ylim(0, max(1.0, top * 1.1))
            else:
                ax.set_ylim(0, top * 1.15 if top > 0 else 1.0)
        else:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
            ax.set_ylim(0, 1)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes[2:]:
        ax.set_xlabel("seconds", fontsize=8)
    return fig, latest


class LiveDashboard(widgets.VBox):
    """Buttons (``start_button``, ``stop_button``, ``cue_out_button`` with ``duration``,
    ``cue_in_button``), ``status``, ``latency`` (how far the stream runs behind OBS, and
    why), ``cue_note`` (after "Cue out": when the break starts and why then),
    ``countdown`` (to the next break and its return), live ``charts`` (an image), the latest
    ``numbers`` and the ``cue_log`` (stream times and states; ``details`` adds the 90 kHz
    ticks and the hex) for a ``scte35lab.live.Pipeline``."""

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        history: int = 300,
        refresh: float = 1.0,
        duration: float = 30.0,
    ) -> None:
        self.pipeline = pipeline
        self.refresh_s = refresh
        self.samples: deque[dict[str, Any]] = deque(maxlen=history)
        self.refused: list[dict[str, Any]] = []
        self.events: deque[LiveEvent] = deque(maxlen=200)
        self.state = "idle"
        self.error: str | None = None
        self.noted: CueRecord | None = None  # the cue the note under the buttons is about
        self._lock = threading.Lock()
        self._show_lock = threading.RLock()
        self._dirty = threading.Event()
        self._closed = threading.Event()
        self._t0: float | None = None
        self._worker: threading.Thread | None = None

        self.start_button = widgets.Button(description="Start", icon="play", button_style="success")
        self.stop_button = widgets.Button(
            description="Stop", icon="stop", button_style="danger", disabled=True
        )
        self.duration = widgets.BoundedFloatText(
            description="break (s)", value=duration, min=0.1, max=86400.0
        )
        self.cue_out_button = widgets.Button(
            description="Cue out", icon="sign-out", button_style="warning", disabled=True
        )
        self.cue_in_button = widgets.Button(
            description="Cue in", icon="sign-in", button_style="primary", disabled=True
        )
        self.details = widgets.ToggleButton(
            description="ticks & hex", icon="code", value=False, tooltip="90 kHz ticks and hex"
        )
        self.status = widgets.HTML()
        self.latency = widgets.HTML()
        self.cue_note = widgets.HTML()
        self.countdown = widgets.HTML()
        self.last_event = widgets.HTML()
        self.numbers = widgets.HTML()
        self.charts = widgets.Image(format="png", layout=widgets.Layout(display="none"))
        self.cue_log = widgets.HTML()
        self.start_button.on_click(lambda _b: self.start())
        self.stop_button.on_click(lambda _b: self.stop())
        self.cue_out_button.on_click(lambda _b: self.cue_out())
        self.cue_in_button.on_click(lambda _b: self.cue_in())
        self.details.observe(lambda _c: self.render_log(), names="value")
        pipeline.on_stats(self.on_stats)
        pipeline.on_event(self.on_event)
        super().__init__(
            [
                widgets.HBox([self.start_button, self.stop_button, self.status]),
                self.latency,
                widgets.HBox([self.duration, self.cue_out_button, self.cue_in_button]),
                self.cue_note,
                self.countdown,
                self.last_event,
                self.numbers,
                self.charts,
                widgets.HBox([widgets.HTML("<b>Cue log</b>"), self.details]),
                self.cue_log,
            ]
        )
        self.add_class("s35-live-dashboard")
        self._set_state("idle")
        self.render_log()
        self._drawer = threading.Thread(target=self._draw_loop, name="dashboard", daemon=True)
        self._drawer.start()

    # -- pipeline control (off the kernel's thread) ----------------------------------------
    def _set_state(self, state: str, error: str | None = None) -> None:
        with self._show_lock:
            self.state, self.error = state, error
            color = _STATUS_COLORS.get(state, "black")
            text = f"<b style='color:{color}'>{html.escape(state)}</b>"
            if error:
                text += f" <span style='color:{ERROR}'>{html.escape(error)}</span>"
            self.status.value = f"<span class='s35-status'>{text}</span>"
            live = state == "live"
            self.start_button.disabled = state != "idle"  # a Pipeline starts once
            self.stop_button.disabled = not live
            self.cue_out_button.disabled = not live
            self.cue_in_button.disabled = not live
            if not live:  # no figure may pretend to be live
                word = "stopped" if state in ("stopped", "stopping", "error") else state
                for target, css in (
                    (self.numbers, "s35-numbers"),
                    (self.countdown, "s35-countdown"),
                ):
                    target.value = (
                        ""
                        if state == "idle"
                        else f"<span class='{css}' style='color:#57606a'>{word}</span>"
                    )
            self._show_latency()
        self._dirty.set()

    def _show_latency(self) -> None:
        lat = added_latency(self.pipeline)
        prefix = "" if self.state == "live" else f"({self.state}) "
        self.latency.value = (
            f"<span class='s35-latency'>{prefix}<b>added latency {lat.total:.2f} s</b>: "
            f"{html.escape(lat.describe())}</span>"
        )

    def _run(self, name: str, target: Any) -> threading.Thread:
        worker = threading.Thread(target=target, name=f"dashboard-{name}", daemon=True)
        self._worker = worker
        worker.start()
        return worker

    def start(self) -> threading.Thread:
        """Start the pipeline on a worker thread; ``status`` says when it is live."""
        self._set_state("starting")

        def work() -> None:
            try:
                self.pipeline.start()
            except (Scte35Error, OSError) as exc:
                log.warning("dashboard: start failed: %s", exc)
                self._set_state("error", str(exc))
                return
            self._t0 = time.monotonic()
            self._set_state("live")

        return self._run("start", work)

    def stop(self) -> threading.Thread:
        """Stop the pipeline on a worker thread; the live figures then read "stopped"."""
        self._set_state("stopping")

        def work() -> None:
            try:
                self.pipeline.stop()
            except (Scte35Error, OSError) as exc:
                self._set_state("error", str(exc))
                return
            self._set_state("stopped")
            self.render_log()

        return self._run("stop", work)

    def wait(self, timeout: float | None = None) -> str:
        """Wait for the last start/stop to finish; the state it left."""
        if self._worker is not None:
            self._worker.join(timeout)
        return self.state

    def cue_out(self) -> CueRecord | None:
        """Send a cue-out for ``duration`` seconds now; ``cue_note`` says when the break
        starts (stream time, wall time at the distributor) and why then; a refusal goes to
        the cue log."""
        rec = self._cue("cue_out", lambda: self.pipeline.cue_out(duration=self.duration.value))
        if rec is not None:
            self.noted = rec
            self.render_note()
        return rec

    def cue_in(self) -> CueRecord | None:
        """Send a cue-in (return to network) now."""
        rec = self._cue("cue_in", self.pipeline.cue_in)
        if rec is not None:
            self.noted = rec
            self.render_note()
        return rec

    def _cue(self, action: str, call: Any) -> CueRecord | None:
        try:
            if self.state != "live":
                raise Scte35Error(f"{action}: the pipeline is {self.state}, not live")
            record = call()
        except Scte35Error as exc:
            self.refused.append({"role": action, "status": "refused", "error": str(exc)})
            self.cue_note.value = (
                f"<span class='s35-cue-note' style='color:{ERROR}'>{html.escape(action)} "
                f"refused: {html.escape(str(exc))}</span>"
            )
            record = None
        self.render_log()
        return record

    def render_note(self, now: float | None = None) -> None:
        """Say when the last cue sent takes effect, and why then."""
        rec = self.noted
        if rec is None:
            return
        now = time.time() if now is None else now
        requested, actual = cue_seconds(self.pipeline, rec)
        at = actual if actual is not None else requested
        air = on_air(self.pipeline, at)
        lat = added_latency(self.pipeline)
        what = "break" if rec.role == "out" else "return to the programme"
        eta = "" if air is None else f", on air at the distributor at {wall_time(air)}"
        if air is not None and self.state == "live":  # a countdown only while it runs
            eta += f" ({countdown(air - now)})"
        parts = [
            f"The {what} of <b>{html.escape(rec.cue_id or '-')}</b> starts at stream time "
            f"<b class='s35-note-time'>{stream_time(at)}</b>{eta}.",
            f"Why then: the stream runs {lat.total:.2f} s behind OBS (pre-roll "
            f"{lat.preroll:g} s + look-ahead {lat.margin:g} s + SRT {lat.srt:g} s): the cue "
            f"must reach the distributor at least {lat.preroll:g} s before its splice point, "
            "so the injector holds that much of the stream.",
        ]
        if self.pipeline.mode == "passthrough":
            parts.append(
                "In passthrough the splice lands on OBS's next keyframe (IDR): up to one "
                "keyframe interval later (set 2 s in OBS)."
            )
        else:
            parts.append("The encoder makes the splice frame an IDR of its own.")
        shift = rec.shift
        if shift is not None and abs(shift) >= 1 / PTS_HZ:
            parts.append(
                f"It moved to the next IDR: asked for {stream_time(requested)}, splices at "
                f"{stream_time(actual)} ({shift:+.3f} s)."
            )
        parts.append(f"Now: {state_html(rec.status)}.")
        self.cue_note.value = f"<div class='s35-cue-note'>{' '.join(parts)}</div>"

    def cue_frame(self) -> pd.DataFrame:
        """The cue log as data: every cue the pipeline handled, then the requests it refused."""
        handled = self.pipeline.cue_frame()
        refused = pd.DataFrame(self.refused)
        frames = [f for f in (handled, refused) if not f.empty]
        if not frames:
            return pd.DataFrame(columns=_LOG_COLUMNS)
        df = pd.concat(frames, ignore_index=True)
        return df.reindex(columns=_LOG_COLUMNS)

    def render_log(self) -> None:
        """Redraw the cue log: stream times and states (ticks and hex with ``details``)."""
        details = bool(self.details.value)
        rows = cue_rows(self.pipeline, details=details)
        for r in self.refused:
            rows.append(
                {"cue": "-", "side": r["role"], "state": "refused", "note": r["error"]}
                | ({"hex": ""} if details else {})
            )
        if not rows:
            self.cue_log.value = "<i>(no cues yet)</i>"
            return
        self.cue_log.value = cue_table(rows)

    def on_event(self, event: LiveEvent) -> None:
        """The event callback: show the newest event; cue events refresh the cue log."""
        self.events.append(event)
        color = (
            ERROR if event.kind in _BAD_EVENTS else WARN if event.kind in _WARN_EVENTS else "black"
        )
        stamp = time.strftime("%H:%M:%S", time.localtime(event.t))
        self.last_event.value = (
            f"<span class='s35-event' style='color:{color}'>{stamp} "
            f"{html.escape(event.kind)}: {html.escape(event.message)}</span>"
        )
        # a pipeline started or stopped elsewhere (a cell, the CLI): the desk follows it
        if event.kind == "start" and self.state == "idle":
            self._t0 = time.monotonic()
            self._set_state("live")
        elif event.kind == "stop" and self.state == "live":
            self._set_state("stopped")
        if event.kind.startswith("cue") or event.kind == "stop":
            self._dirty.set()

    # -- stats -----------------------------------------------------------------------------
    def on_stats(self, stats: Mapping[str, Any]) -> None:
        """The stats callback: keep one sample (cheap; drawing happens on another thread)."""
        t = time.monotonic()
        if self._t0 is None:
            self._t0 = t
        with self._lock:
            self.samples.append({"t": t - self._t0, **stats})
        self._dirty.set()

    def frame(self) -> pd.DataFrame:
        """Every kept sample, one row each (``t`` in seconds since start), with the
        smoothed ``fps_smooth`` and ``bitrate_smooth`` the charts draw."""
        with self._lock:
            df = pd.DataFrame(list(self.samples))
        if df.empty:
            return df
        if "fps" in df:
            df["fps_smooth"] = smoothed_fps(df)
        if "bitrate_kbps" in df:
            rate = pd.to_numeric(df["bitrate_kbps"], errors="coerce")
            df["bitrate_smooth"] = rate.rolling(BITRATE_WINDOW, min_periods=1).mean()
        return df

    def _draw_loop(self) -> None:
        drawn = -1
        while not self._closed.is_set():
            self._dirty.wait(self.refresh_s)
            self._dirty.clear()
            if self._closed.is_set():
                break
            try:
                self.render_log()
                self.render_note()
                if self.state == "live":
                    with self._show_lock:
                        if self.state == "live":
                            self.countdown.value = countdown_html(self.pipeline)
                n = len(self.samples)
                if n != drawn:
                    drawn = n
                    self.redraw()
            except Exception:  # the drawing thread must outlive a bad frame, and say so
                log.exception("dashboard: cannot draw")
            self._closed.wait(min(self.refresh_s, 0.5))

    def redraw(self) -> None:
        """Draw the charts and, while live, the latest numbers from the kept samples."""
        df = self.frame()
        if df.empty:
            return
        fig, latest = chart_figure(df)
        self.charts.value = figure_png(fig, dpi=80)
        self.charts.layout.display = None  # shown from the first drawing on
        self._show_numbers(df.iloc[-1], df, latest)

    def _show_numbers(self, last: pd.Series, df: pd.DataFrame, latest: list[str]) -> None:
        if pd.notna(last.get("transcode_fps")):  # transcode mode: the encoder's own figures
            speed = last.get("transcode_speed")
            latest.append(
                f"encoder: <b>{last['transcode_fps']:.3g}</b> fps"
                + (f", speed <b>{speed:.2f}x</b>" if pd.notna(speed) else "")
                + f", IDRs forced <b>{int(last.get('transcode_forced_idr', 0))}</b>"
            )
        if "srt_connected" in df:
            up = bool(last["srt_connected"])
            latest.append(
                f"SRT: <b style='color:{OK if up else ERROR}'>{'up' if up else 'down'}</b>"
            )
        if pd.notna(last.get("bytes_lost")) and last.get("bytes_lost"):
            latest.append(
                f"never reached the distributor: <b style='color:{ERROR}'>"
                f"{int(last['bytes_lost']):,} bytes</b>"
            )
        if "srt_acks" in df and not bool(last["srt_acks"]):
            latest.append(
                f"<span style='color:{WARN}'>this SRT sender cannot see acknowledgements: "
                "cues are <b>written</b>, never <b>delivered</b> (use the libsrt sender)</span>"
            )
        with self._show_lock:
            if self.state == "live":  # after Stop the numbers say "stopped", nothing older
                self.numbers.value = f"<span class='s35-numbers'>{' &nbsp; '.join(latest)}</span>"

    def close(self) -> None:
        """Stop redrawing and close the widget (the pipeline is left as it is)."""
        self._closed.set()
        self._dirty.set()
        super().close()

    def __repr__(self) -> str:
        return f"LiveDashboard({self.state}, {len(self.samples)} sample(s))"


__all__ = ["CHARTS", "LiveDashboard", "chart_figure", "cue_table", "smoothed_fps"]
