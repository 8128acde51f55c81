"""``StreamManager``: create and configure streams in the store, and what to type into OBS
(the live pipeline's real server URL, the key just generated, the settings)."""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from scte35lab.errors import Scte35Error
from scte35lab.schedule import Store, Stream
from scte35lab.widgets.common import WARN, frame_html, message_html, show_error, show_ok
from scte35lab.widgets.obs_panel import ObsPanel, obs_settings

if TYPE_CHECKING:
    from scte35lab.live.pipeline import Pipeline

log = logging.getLogger(__name__)

_TABLE_COLUMNS = [
    "id",
    "name",
    "status",
    "has_stream_key",
    "srt_destination",
    "srt_passphrase_env",
    "bitrate_kbps",
    "width",
    "height",
    "fps",
]


def _opt_float(text: str, name: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise Scte35Error(f"{text!r} is not a number", field=name) from None


class StreamManager(widgets.VBox):
    """Streams of a ``Store``: create one, change its destination and SRT options, generate
    its stream key (shown once, in ``key_box``, until the next action), see the OBS settings.

    Form: ``name``, ``description``, ``srt_destination`` (``srt://host:port[?options]``),
    ``srt_passphrase_env`` (the *name* of the variable that holds the passphrase),
    ``bitrate_kbps``, ``resolution``, ``fps``. Buttons: ``create_button``,
    ``update_button``, ``key_button``, ``delete_button``. ``obs`` is an :class:`ObsPanel`:
    give ``pipeline`` (or call ``attach``) and it shows that pipeline's real server URL
    (``Pipeline.ingest_url``, known once it started) and whether OBS is connected.
    """

    def __init__(
        self,
        store: Store | str | Path,
        *,
        pipeline: Pipeline | None = None,
        ingest_url: str | None = None,
    ) -> None:
        self.store = store if isinstance(store, Store) else Store(store)
        style = {"description_width": "9em"}
        wide = widgets.Layout(width="32em")
        self.name = widgets.Text(description="name", style=style, layout=wide)
        self.description = widgets.Text(description="description", style=style, layout=wide)
        self.srt_destination = widgets.Text(
            description="SRT destination",
            placeholder="srt://distributor.example:9000?latency=200000",
            style=style,
            layout=wide,
        )
        self.srt_passphrase_env = widgets.Text(
            description="passphrase env",
            placeholder="NAME of the variable, e.g. MAIN_SRT_PASSPHRASE",
            style=style,
            layout=wide,
        )
        self.bitrate_kbps = widgets.Text(description="bitrate kbps", style=style, layout=wide)
        self.resolution = widgets.Text(
            description="resolution", placeholder="1280x720", style=style, layout=wide
        )
        self.fps = widgets.Text(description="fps", style=style, layout=wide)
        self.create_button = widgets.Button(
            description="Create stream", icon="plus", button_style="success"
        )
        self.update_button = widgets.Button(description="Save settings", icon="save")
        self.key_button = widgets.Button(
            description="New stream key", icon="key", button_style="warning"
        )
        self.delete_button = widgets.Button(
            description="Delete stream", icon="trash", button_style="danger"
        )
        self.select = widgets.Dropdown(description="stream", options=[])
        self.message = widgets.HTML()
        self.key_box = widgets.HTML()
        self.table = widgets.HTML()
        self.obs = ObsPanel(pipeline, ingest_url=ingest_url)

        self.create_button.on_click(lambda _b: self.create())
        self.update_button.on_click(lambda _b: self.update())
        self.key_button.on_click(lambda _b: self.new_key())
        self.delete_button.on_click(lambda _b: self.delete())
        self.select.observe(self._on_select, names="value")
        super().__init__(
            [
                widgets.HTML("<b>Streams</b>"),
                self.table,
                self.select,
                self.name,
                self.description,
                self.srt_destination,
                self.srt_passphrase_env,
                self.bitrate_kbps,
                self.resolution,
                self.fps,
                widgets.HBox(
                    [self.create_button, self.update_button, self.key_button, self.delete_button]
                ),
                self.message,
                self.key_box,
                widgets.HTML("<b>OBS settings</b>"),
                self.obs,
            ]
        )
        self.add_class("s35-stream-manager")
        self.refresh()

    # -- form ------------------------------------------------------------------------------
    def _settings(self) -> dict[str, Any]:
        return {
            "description": self.description.value,
            "srt_destination": self.srt_destination.value.strip() or None,
            "srt_passphrase_env": self.srt_passphrase_env.value.strip() or None,
            "bitrate_kbps": _opt_float(self.bitrate_kbps.value, "bitrate_kbps"),
            "resolution": self.resolution.value.strip() or None,
            "fps": _opt_float(self.fps.value, "fps"),
        }

    def _on_select(self, change: dict[str, Any]) -> None:
        self.key_box.value = ""
        self.obs.set_key(None)
        name = change["new"]
        if name is None:
            self.obs.set_stream(None)
            return
        s = self.store.stream(name)
        self.name.value = s.name
        self.description.value = s.description
        self.srt_destination.value = s.srt_destination or ""
        self.srt_passphrase_env.value = s.srt_passphrase_env or ""
        self.bitrate_kbps.value = "" if s.bitrate_kbps is None else f"{s.bitrate_kbps:g}"
        self.resolution.value = s.resolution or ""
        self.fps.value = "" if s.fps is None else f"{s.fps:g}"
        self.obs.set_stream(s)

    def attach(self, pipeline: Pipeline) -> None:
        """Show ``pipeline``'s server URL and OBS connection in the OBS panel."""
        self.obs.attach(pipeline)

    # -- actions ---------------------------------------------------------------------------
    def create(self) -> Stream | None:
        """Create the stream the form describes."""
        self.key_box.value = ""
        try:
            s = self.store.add_stream(self.name.value.strip(), **self._settings())
        except Scte35Error as exc:
            show_error(self.message, exc)
            return None
        show_ok(self.message, f"created stream {s.name!r}")
        self.refresh(select=s.name)
        return s

    def update(self) -> Stream | None:
        """Save the form's settings to the selected stream."""
        self.key_box.value = ""
        if self.select.value is None:
            show_error(self.message, "select a stream first")
            return None
        try:
            changes = self._settings()
            if changes["resolution"] is None:
                changes.pop("resolution")
            s = self.store.update_stream(self.select.value, **changes)
        except Scte35Error as exc:
            show_error(self.message, exc)
            return None
        show_ok(self.message, f"saved settings of {s.name!r}")
        self.refresh(select=s.name)
        return s

    def new_key(self) -> str | None:
        """Generate the selected stream's key, show it this once and return it (the store
        keeps only a salted hash); ``None`` if no stream is selected."""
        name = self.select.value
        if name is None:
            show_error(self.message, "select a stream first")
            return None
        key = self.store.new_stream_key(name)
        self.refresh(select=name)
        self.obs.set_key(key)
        self.key_box.value = (
            "<div class='s35-stream-key' style='font-family:monospace'>"
            f"stream key for {html.escape(name)}: <b>{html.escape(key)}</b></div>"
            + message_html(
                [
                    "Copy it now: it is shown once, and only its salted hash is stored.",
                    "In OBS: Settings > Stream > Stream Key.",
                ],
                WARN,
            )
        )
        show_ok(self.message, f"new stream key for {name!r}")
        return key

    def delete(self) -> bool:
        """Delete the selected stream and everything stored for it."""
        self.key_box.value = ""
        name = self.select.value
        if name is None:
            show_error(self.message, "select a stream first")
            return False
        self.store.delete_stream(name)
        show_ok(self.message, f"deleted stream {name!r}")
        self.refresh()
        return True

    def refresh(self, select: str | None = None) -> None:
        """Re-read the streams table from the store."""
        df = self.store.streams()
        self.table.value = frame_html(df[_TABLE_COLUMNS])
        names = [str(n) for n in df["name"]]
        current = self.select.value
        self.select.options = names
        target = select if select in names else (current if current in names else None)
        if target is None and names:
            target = names[0]
        self.select.value = target
        self._on_select({"new": target})

    def __repr__(self) -> str:
        return f"StreamManager({self.store!r})"


__all__ = ["StreamManager", "obs_settings"]
