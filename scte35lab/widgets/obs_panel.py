"""``ObsPanel``: what to type into OBS (the real server URL, the stream key, the settings)
with copy buttons, and whether OBS is connected, from the live pipeline's own events."""

from __future__ import annotations

import html
import itertools
import threading
from typing import TYPE_CHECKING

import ipywidgets as widgets
import pandas as pd

from scte35lab.schedule import Stream
from scte35lab.widgets.common import ERROR, OK, WARN, frame_html
from scte35lab.widgets.stream_time import WAITING, wall_time

if TYPE_CHECKING:
    from scte35lab.live.pipeline import LiveEvent, Pipeline

NOT_STARTED = (
    "not started: the server URL (its port) is known once the pipeline has started. "
    "An OBS that is already streaming cannot connect before that: press Start, then start "
    "streaming in OBS."
)
_ids = itertools.count(1)


def obs_settings(stream: Stream | None = None, *, ingest_url: str | None = None) -> pd.DataFrame:
    """What to set in OBS (Settings > Stream, Output, Video) to publish ``stream``.

    A keyframe every 2 s, CBR, x264 with profile main or high and the ``zerolatency`` tune
    keep the GOP and the bitrate predictable, so there is an IDR near every splice point.
    """
    width = (stream.width if stream else None) or 1280
    height = (stream.height if stream else None) or 720
    bitrate = (stream.bitrate_kbps if stream else None) or 4500
    fps = (stream.fps if stream else None) or 30
    rows = [
        ("Stream", "Service", "Custom..."),
        ("Stream", "Server", ingest_url or "(known once the pipeline has started)"),
        ("Stream", "Stream Key", "the stream key (shown once when generated)"),
        ("Output (Advanced)", "Encoder", "x264"),
        ("Output (Advanced)", "Rate Control", "CBR"),
        ("Output (Advanced)", "Bitrate", f"{bitrate:g} Kbps"),
        ("Output (Advanced)", "Keyframe Interval", "2 s"),
        ("Output (Advanced)", "CPU Usage Preset", "veryfast"),
        ("Output (Advanced)", "Profile", "main or high"),
        ("Output (Advanced)", "Tune", "zerolatency"),
        ("Audio", "Sample Rate", "48 kHz"),
        ("Audio", "Audio Bitrate", "160"),
        ("Video", "Output (Scaled) Resolution", f"{width}x{height}"),
        ("Video", "Common FPS Values", f"{fps:g}"),
    ]
    return pd.DataFrame(rows, columns=["section", "setting", "value"])


def copy_field_html(label: str, value: str, *, css: str, secret: bool = False) -> str:
    """A read-only text field holding ``value`` and a button that copies it to the
    clipboard (the browser's own clipboard: loopback pages count as secure); a ``secret``
    one is masked on screen."""
    n = next(_ids)
    field_id = f"s35-copy-{n}"
    script = (
        f"const f=document.getElementById('{field_id}');f.select();"
        "(navigator.clipboard?navigator.clipboard.writeText(f.value):"
        "Promise.resolve(document.execCommand('copy')))"
        ".then(()=>{this.textContent='copied'});"
    )
    return (
        f"<div class='{css}' style='margin:2px 0'><span style='display:inline-block;"
        f"width:7em'>{html.escape(label)}</span><input id='{field_id}' class='{css}-value' "
        f"type='{'password' if secret else 'text'}' readonly "
        f"value='{html.escape(value, quote=True)}' "
        "style='font-family:monospace;width:26em'> "
        f"<button class='{css}-copy jupyter-button mod-primary' "
        f'onclick="{html.escape(script, quote=True)}">copy</button></div>'
    )


class ObsPanel(widgets.VBox):
    """The OBS side of a stream: ``status`` ("waiting for OBS", "OBS connected at ..."),
    ``fields`` (server URL and stream key with copy buttons) and ``settings`` (the table
    :func:`obs_settings`, in a section open unless ``settings_open=False``).
    ``attach(pipeline)`` follows a live pipeline's events."""

    def __init__(
        self,
        pipeline: Pipeline | None = None,
        *,
        stream: Stream | None = None,
        ingest_url: str | None = None,
        settings_open: bool = True,
    ) -> None:
        self.pipeline: Pipeline | None = None
        self.stream = stream
        self.ingest_url = ingest_url
        self.key: str | None = None
        self.state = "no pipeline"
        self._lock = threading.Lock()
        self.status = widgets.HTML()
        self.fields = widgets.HTML()
        self.settings = widgets.HTML()
        self.settings_box = widgets.Accordion(children=[self.settings])
        self.settings_box.set_title(0, "Recommended OBS settings")
        self.settings_box.selected_index = 0 if settings_open else None
        super().__init__([self.status, self.fields, self.settings_box])
        self.add_class("s35-obs-panel")
        self._say("no pipeline yet: " + NOT_STARTED.split(": ", 1)[1], WARN)
        if pipeline is not None:
            self.attach(pipeline)
        self.render()

    def attach(self, pipeline: Pipeline) -> None:
        """Follow ``pipeline``: its server URL and its ingest events."""
        self.pipeline = pipeline
        pipeline.on_event(self.on_event)
        if pipeline.ingest_url is None:
            self.state = "not started"
            self._say(NOT_STARTED, WARN)
        else:
            self.state = "waiting"
            self._say(f"waiting for OBS at {pipeline.ingest_url}", WAITING)
        for event in list(pipeline.events):  # attached late: what happened so far counts
            self.on_event(event)
        self.render()

    def set_stream(self, stream: Stream | None) -> None:
        """Show the settings for ``stream`` (bitrate, resolution, fps)."""
        self.stream = stream
        self.render()

    def set_key(self, key: str | None) -> None:
        """Show ``key`` with a copy button (a key just generated), or forget it."""
        self.key = key
        self.render()

    @property
    def server_url(self) -> str | None:
        """The URL OBS must use as Server: the running pipeline's, when there is one."""
        if self.pipeline is not None:
            return self.pipeline.ingest_url
        return self.ingest_url

    def render(self) -> None:
        """Redraw the server and key fields and the settings table."""
        url = self.server_url
        rows = []
        if url is None:
            rows.append(
                "<div class='s35-obs-server' style='margin:2px 0'>"
                "<span style='display:inline-block;width:7em'>Server</span>"
                "<i>known once the pipeline has started</i></div>"
            )
        else:
            rows.append(copy_field_html("Server", url, css="s35-obs-server"))
        if self.key:
            rows.append(copy_field_html("Stream Key", self.key, css="s35-obs-key", secret=True))
        else:
            name = self.stream.name if self.stream is not None else None
            which = f"of stream {html.escape(name)!r}" if name else ""
            rows.append(
                "<div class='s35-obs-key' style='margin:2px 0'>"
                "<span style='display:inline-block;width:7em'>Stream Key</span>"
                f"<i>the key {which} (shown once when generated: New stream key)</i></div>"
            )
        self.fields.value = "".join(rows)
        self.settings.value = frame_html(obs_settings(self.stream, ingest_url=url))

    def _say(self, text: str, color: str) -> None:
        self.status.value = (
            f"<span class='s35-obs-status' style='color:{color}'><b>OBS:</b> "
            f"{html.escape(text)}</span>"
        )

    def on_event(self, event: LiveEvent) -> None:
        """The pipeline's event callback: OBS connected, gone, back; start and stop."""
        at = wall_time(event.t)
        with self._lock:
            if event.kind == "start":
                self.state = "waiting"
                self._say(f"waiting for OBS at {self.server_url} (since {at})", WAITING)
                self.render()
            elif event.kind == "ingest_connected":
                self.state = "connected"
                self._say(f"OBS connected at {at}", OK)
            elif event.kind in ("ingest_ended", "input_lost"):
                self.state = "lost"
                self._say(f"input lost since {at}: waiting for OBS to come back", ERROR)
            elif event.kind == "ingest_resumed":
                self.state = "connected"
                self._say(f"OBS back at {at}", OK)
            elif event.kind == "stop":
                self.state = "stopped"
                self._say(f"stopped at {at}", "black")

    def __repr__(self) -> str:
        return f"ObsPanel({self.state}, server={self.server_url!r})"


__all__ = ["NOT_STARTED", "ObsPanel", "copy_field_html", "obs_settings"]
