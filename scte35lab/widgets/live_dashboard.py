"""``LiveDashboard``: start and stop a ``scte35lab.live.Pipeline``, send cue-out/cue-in, and
watch bitrate, fps, SRT RTT and loss, and the cue log, while the kernel stays free.

The pipeline calls ``on_stats`` with its stats row once a second (``bitrate_kbps``, ``fps``,
``srt_rtt_ms``, ``srt_pkt_loss``, ``srt_connected``, ...) and ``on_event`` on start, stop,
reconnects and cues. The callbacks only keep the data; a daemon thread redraws at most once
per ``refresh`` seconds, and start/stop run on worker threads, so no cell waits on FFmpeg or
SRT.
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
import pandas as pd
from matplotlib.figure import Figure

from scte35lab.errors import Scte35Error

if TYPE_CHECKING:
    from scte35lab.live.pipeline import CueRecord, LiveEvent, Pipeline
from scte35lab.widgets.common import ERROR, OK, WARN, frame_html
from scte35lab.widgets.timeline import figure_png

log = logging.getLogger(__name__)

CHARTS = (
    ("bitrate_kbps", "bitrate (kbit/s)"),
    ("fps", "frames per second"),
    ("srt_rtt_ms", "SRT RTT (ms)"),
    ("srt_pkt_loss", "SRT packets lost (total)"),
)
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


class LiveDashboard(widgets.VBox):
    """Buttons (``start_button``, ``stop_button``, ``cue_out_button`` with ``duration``,
    ``cue_in_button``), ``status``, live ``charts`` (an image), the latest ``numbers`` and the
    ``cue_log`` table (``pipeline.cue_frame()`` plus requests the pipeline refused) for a
    ``scte35lab.live.Pipeline``."""

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
        self._lock = threading.Lock()
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
        self.cue_in_button = widgets.Button(description="Cue in", icon="sign-in", disabled=True)
        self.status = widgets.HTML()
        self.last_event = widgets.HTML()
        self.numbers = widgets.HTML()
        self.charts = widgets.Image(format="png")
        self.cue_log = widgets.HTML()
        self.start_button.on_click(lambda _b: self.start())
        self.stop_button.on_click(lambda _b: self.stop())
        self.cue_out_button.on_click(lambda _b: self.cue_out())
        self.cue_in_button.on_click(lambda _b: self.cue_in())
        pipeline.on_stats(self.on_stats)
        pipeline.on_event(self.on_event)
        super().__init__(
            [
                widgets.HBox([self.start_button, self.stop_button, self.status]),
                widgets.HBox([self.duration, self.cue_out_button, self.cue_in_button]),
                self.last_event,
                self.numbers,
                self.charts,
                widgets.HTML("<b>Cue log</b>"),
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
        """Stop the pipeline on a worker thread."""
        self._set_state("stopping")

        def work() -> None:
            try:
                self.pipeline.stop()
            except (Scte35Error, OSError) as exc:
                self._set_state("error", str(exc))
                return
            self._set_state("stopped")

        return self._run("stop", work)

    def wait(self, timeout: float | None = None) -> str:
        """Wait for the last start/stop to finish; the state it left."""
        if self._worker is not None:
            self._worker.join(timeout)
        return self.state

    def cue_out(self) -> CueRecord | None:
        """Send a cue-out for ``duration`` seconds now; a refusal goes to the cue log."""
        return self._cue("cue_out", lambda: self.pipeline.cue_out(duration=self.duration.value))

    def cue_in(self) -> CueRecord | None:
        """Send a cue-in (return to network) now."""
        return self._cue("cue_in", self.pipeline.cue_in)

    def _cue(self, action: str, call: Any) -> CueRecord | None:
        try:
            if self.state != "live":
                raise Scte35Error(f"{action}: the pipeline is {self.state}, not live")
            record = call()
        except Scte35Error as exc:
            self.refused.append({"role": action, "status": "refused", "error": str(exc)})
            record = None
        self.render_log()
        return record

    def cue_frame(self) -> pd.DataFrame:
        """The cue log: every cue the pipeline handled, then the requests it refused."""
        handled = self.pipeline.cue_frame()
        refused = pd.DataFrame(self.refused)
        frames = [f for f in (handled, refused) if not f.empty]
        if not frames:
            return pd.DataFrame(columns=_LOG_COLUMNS)
        df = pd.concat(frames, ignore_index=True)
        return df.reindex(columns=_LOG_COLUMNS)

    def render_log(self) -> None:
        """Redraw the cue log table."""
        self.cue_log.value = frame_html(self.cue_frame())

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
        if event.kind.startswith("cue"):
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
        """Every kept sample, one row each (``t`` in seconds since start)."""
        with self._lock:
            return pd.DataFrame(list(self.samples))

    def _draw_loop(self) -> None:
        while not self._closed.is_set():
            if self._dirty.wait(0.5):
                self._dirty.clear()
                try:
                    self.render_log()
                    self.redraw()
                except (ValueError, KeyError, TypeError) as exc:
                    log.warning("dashboard: cannot draw the charts: %s", exc)
                self._closed.wait(self.refresh_s)

    def redraw(self) -> None:
        """Draw the charts and the latest numbers from the kept samples."""
        df = self.frame()
        if df.empty:
            return
        fig = Figure(figsize=(10, 4.2), layout="constrained")
        axes = fig.subplots(2, 2, sharex=True).ravel()
        latest = []
        for ax, (key, label) in zip(axes, CHARTS, strict=True):
            ax.set_title(label, fontsize=9)
            if key in df and df[key].notna().any():
                values = pd.to_numeric(df[key], errors="coerce")
                ax.plot(df["t"], values, lw=1.2, marker="o", ms=2.5)
                last = values.dropna().iloc[-1]
                latest.append(f"{label}: <b>{last:.4g}</b>")
            else:
                ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
        for ax in axes[2:]:
            ax.set_xlabel("seconds", fontsize=8)
        self.charts.value = figure_png(fig, dpi=80)
        last = df.iloc[-1]
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
        self.numbers.value = f"<span class='s35-numbers'>{' &nbsp; '.join(latest)}</span>"

    def close(self) -> None:
        """Stop redrawing and close the widget (the pipeline is left as it is)."""
        self._closed.set()
        self._dirty.set()
        super().close()

    def __repr__(self) -> str:
        return f"LiveDashboard({self.state}, {len(self.samples)} sample(s))"


__all__ = ["CHARTS", "LiveDashboard"]
