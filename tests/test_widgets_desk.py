"""Desk, driven from Python: the tabs it holds, the settings it reads from the environment
the ``scte35lab desk`` page gets, the streams it refuses to go live with, and the stream key
it carries from the Streams tab to the OBS panel."""

from __future__ import annotations

import pytest

from scte35lab.deskenv import desk_env, desk_settings
from scte35lab.errors import ComponentError
from scte35lab.schedule import Store
from scte35lab.widgets.desk import Desk, desk_from_env


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "lab.db")
    yield s
    s.close()


def test_the_desk_has_live_streams_and_schedule_tabs(store):
    d = Desk(store)
    assert [d.tabs.get_title(i) for i in range(3)] == ["Live", "Streams", "Schedule"]
    assert d.live_stream.options == ()
    d.go_live_button.click()
    assert "no stream yet: create one under Streams" in d.message.value
    d.close()


def test_a_stream_without_an_srt_destination_cannot_go_live(store):
    store.add_stream("main")
    d = Desk(store, stream="main")
    assert d.open_live() is None
    assert "has no SRT destination: set it under Streams" in d.message.value
    assert d.dashboard is None
    d.close()


def test_opening_the_live_desk_makes_a_pipeline_for_the_chosen_stream(store):
    d = Desk(store)
    d.streams.name.value = "main"
    d.streams.srt_destination.value = "srt://127.0.0.1:9000?latency=200"
    d.streams.create_button.click()
    assert d.live_stream.value == "main"  # a stream created under Streams is offered
    d.streams.key_button.click()
    key = d.streams.obs.key
    assert key and f"value='{key}'" in d.obs.fields.value  # carried to the Live tab
    d.go_live_button.click()
    dash = d.dashboard
    assert dash is not None and dash.state == "idle"
    assert d.pipeline.stream == "main" and d.pipeline.endpoint.latency_ms == 200
    assert "added latency 5.20 s" in dash.latency.value
    assert "not started" in d.obs.status.value
    assert f"value='{key}'" in d.obs.fields.value
    d.close()


def test_desk_settings_come_from_the_environment_the_command_line_sets(tmp_path):
    env = desk_env(store=tmp_path / "lab.db", stream="main", rtmp_port=0, preroll=6.0)
    assert env["SCTE35LAB_DESK_RTMP_PORT"] == "0"
    assert desk_settings(env) == {
        "store": str(tmp_path / "lab.db"),
        "stream": "main",
        "rtmp_port": 0,
        "preroll": 6.0,
    }
    d = desk_from_env(env)
    assert d.options["preroll"] == 6.0 and d.options["rtmp_port"] == 0
    d.close()
    d.store.close()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "SCTE35LAB_DESK_STORE (the SQLite store of the desk) is not set"),
        (
            {"SCTE35LAB_DESK_STORE": "x.db", "SCTE35LAB_DESK_RTMP_PORT": "http"},
            "SCTE35LAB_DESK_RTMP_PORT='http' is not a int",
        ),
        (
            {"SCTE35LAB_DESK_STORE": "x.db", "SCTE35LAB_DESK_MODE": "turbo"},
            "'turbo' is not one of passthrough, transcode",
        ),
    ],
)
def test_bad_desk_settings_name_the_variable(env, message):
    with pytest.raises(ComponentError, match=message.replace("(", r"\(").replace(")", r"\)")):
        desk_settings(env)
