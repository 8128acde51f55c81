"""``Desk``: the creator's desk in one widget, the page ``scte35lab desk`` serves: a Live tab
(go live with a stored stream: the OBS panel and the live dashboard), the streams of the
store and the schedule builder. ``desk_from_env()`` builds it from the ``SCTE35LAB_DESK_*``
environment the command line sets for the page's kernel."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from scte35lab.deskenv import MODES, desk_settings
from scte35lab.errors import ComponentError, Scte35Error
from scte35lab.live import Pipeline
from scte35lab.schedule import Store
from scte35lab.widgets.common import show_error, show_ok
from scte35lab.widgets.live_dashboard import LiveDashboard
from scte35lab.widgets.obs_panel import ObsPanel
from scte35lab.widgets.schedule_builder import ScheduleBuilder
from scte35lab.widgets.stream_manager import StreamManager

log = logging.getLogger(__name__)


class Desk(widgets.VBox):
    """Tabs ``Live`` (``live_stream`` to pick, ``go_live_button``, ``obs`` and, once opened,
    ``dashboard``), ``Streams`` (``streams``, a :class:`StreamManager`) and ``Schedule``
    (``schedule``, a :class:`ScheduleBuilder`) over one ``Store``. Each "Open live desk"
    makes a new ``Pipeline`` for the chosen stream (a pipeline runs once)."""

    def __init__(
        self,
        store: Store | str | Path,
        *,
        stream: str | None = None,
        rtmp_host: str = "127.0.0.1",
        rtmp_port: int = 0,
        mode: str = "passthrough",
        preroll: float = 4.0,
        sender: str = "libsrt",
        duration: float = 30.0,
        refresh: float = 1.0,
    ) -> None:
        if mode not in MODES:
            raise ComponentError(f"mode {mode!r} is not one of {', '.join(MODES)}")
        self.store = store if isinstance(store, Store) else Store(store)
        self.options: dict[str, Any] = dict(
            rtmp_host=rtmp_host, rtmp_port=rtmp_port, mode=mode, preroll=preroll, sender=sender
        )
        self.duration = duration
        self.refresh_s = refresh
        self.pipeline: Pipeline | None = None
        self.dashboard: LiveDashboard | None = None
        self.streams = StreamManager(self.store)
        self.schedule = ScheduleBuilder(store=self.store, stream=stream)
        self.live_stream = widgets.Dropdown(description="stream", options=[])
        self.go_live_button = widgets.Button(
            description="Open live desk", icon="video-camera", button_style="primary"
        )
        self.message = widgets.HTML()
        self.obs = ObsPanel(settings_open=False)
        self.live_box = widgets.VBox()
        self.go_live_button.on_click(lambda _b: self.open_live())
        self.streams.key_button.on_click(lambda _b: self.obs.set_key(self.streams.obs.key))
        for button in (self.streams.create_button, self.streams.delete_button):
            button.on_click(lambda _b: self._refresh_streams())
        self.live_stream.observe(lambda _c: self._on_live_stream(), names="value")
        live = widgets.VBox(
            [
                widgets.HBox([self.live_stream, self.go_live_button]),
                self.message,
                widgets.HTML("<b>OBS</b>"),
                self.obs,
                self.live_box,
            ]
        )
        self.tabs = widgets.Tab(children=[live, self.streams, self.schedule])
        for i, title in enumerate(("Live", "Streams", "Schedule")):
            self.tabs.set_title(i, title)
        super().__init__([widgets.HTML("<h2>scte35lab desk</h2>"), self.tabs])
        self.add_class("s35-desk")
        self._refresh_streams(select=stream)

    def _refresh_streams(self, select: str | None = None) -> None:
        names = [str(n) for n in self.store.streams()["name"]]
        current = select if select in names else self.live_stream.value
        self.live_stream.options = names
        self.live_stream.value = current if current in names else (names[0] if names else None)
        self.schedule._refresh_streams()
        self._on_live_stream()

    def _on_live_stream(self) -> None:
        name = self.live_stream.value
        if self.pipeline is None:
            self.obs.set_stream(None if name is None else self.store.stream(name))
        if not self.schedule.stream.value and name:
            self.schedule.stream.value = name

    def open_live(self) -> LiveDashboard | None:
        """A new pipeline and live dashboard for the chosen stream (which needs an SRT
        destination); ``None`` with the reason in ``message`` when it cannot be made."""
        if self.dashboard is not None and self.dashboard.state in ("starting", "live"):
            show_error(self.message, "the live desk is running: stop it first")
            return None
        name = self.live_stream.value
        if name is None:
            show_error(self.message, "no stream yet: create one under Streams")
            return None
        try:
            s = self.store.stream(name)
            if not s.srt_destination:
                raise ComponentError(
                    f"stream {name!r} has no SRT destination: set it under Streams"
                )
            pipeline = Pipeline(
                s.srt_destination,
                store=self.store,
                stream=name,
                passphrase_env=s.srt_passphrase_env,
                **self.options,
            )
        except Scte35Error as exc:
            show_error(self.message, exc)
            return None
        if self.dashboard is not None:
            self.dashboard.close()
        self.pipeline = pipeline
        obs = ObsPanel(pipeline, stream=s, settings_open=False)
        obs.set_key(self.obs.key)
        self.obs = obs
        self.streams.attach(pipeline)
        self.dashboard = LiveDashboard(pipeline, duration=self.duration, refresh=self.refresh_s)
        self.live_box.children = [widgets.HTML("<b>Live</b>"), self.dashboard]
        live = self.tabs.children[0]
        live.children = [*live.children[:3], obs, self.live_box]
        show_ok(
            self.message,
            f"live desk for {name!r}: press Start, then start streaming in OBS "
            f"(pushing to {pipeline.endpoint.display})",
        )
        return self.dashboard

    def close(self) -> None:
        """Close the dashboard's drawing thread and the widget (a running pipeline is
        stopped first: nothing is left pushing without a desk)."""
        if self.dashboard is not None:
            if self.dashboard.state in ("starting", "live"):
                self.dashboard.stop().join(30)
            self.dashboard.close()
        super().close()

    def __repr__(self) -> str:
        return f"Desk({self.store!r}, live={self.live_stream.value!r})"


def desk_from_env(env: Mapping[str, str] | None = None) -> Desk:
    """The desk the ``scte35lab desk`` page shows, from its ``SCTE35LAB_DESK_*`` settings."""
    return Desk(**desk_settings(env))


__all__ = ["Desk", "desk_from_env"]
