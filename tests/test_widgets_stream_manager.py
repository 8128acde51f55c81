"""StreamManager, driven from Python: streams it creates in the store, the key it shows once,
the settings it refuses and the OBS settings it gives."""

from __future__ import annotations

import pytest

from scte35lab.live import Pipeline
from scte35lab.schedule import Store
from scte35lab.widgets import StreamManager


@pytest.fixture
def manager(tmp_path):
    store = Store(tmp_path / "lab.db")
    yield StreamManager(store)
    store.close()


def _create(w: StreamManager, name: str = "main") -> None:
    w.name.value = name
    w.srt_destination.value = "srt://127.0.0.1:9000?latency=200"
    w.srt_passphrase_env.value = "MAIN_SRT_PASSPHRASE"
    w.bitrate_kbps.value = "3000"
    w.resolution.value = "1280x720"
    w.fps.value = "25"
    w.create_button.click()


def test_create_puts_the_stream_in_the_store_and_the_table(manager):
    _create(manager)
    s = manager.store.stream("main")
    assert (s.srt_destination, s.srt_passphrase_env, s.resolution, s.fps) == (
        "srt://127.0.0.1:9000?latency=200",
        "MAIN_SRT_PASSPHRASE",
        "1280x720",
        25.0,
    )
    assert manager.select.value == "main"
    assert "MAIN_SRT_PASSPHRASE" in manager.table.value


def test_the_stream_key_is_shown_once_and_only_its_hash_is_kept(manager):
    _create(manager)
    manager.key_button.click()
    key = manager.key_box.value.split("<b>")[1].split("</b>")[0]
    assert manager.store.verify_stream_key("main", key)
    again = manager.new_key()  # from code: the new key is returned and replaces the old
    assert again in manager.key_box.value and key not in manager.key_box.value
    assert manager.store.verify_stream_key("main", again)
    assert not manager.store.verify_stream_key("main", key)
    key = again
    assert key not in manager.table.value and key not in manager.obs.settings.value
    assert f"value='{key}'" in manager.obs.fields.value  # with its copy button, this once
    manager.refresh()
    assert key not in manager.key_box.value and key not in manager.obs.fields.value
    assert manager.store.streams().loc[0, "has_stream_key"]


def test_a_passphrase_in_the_destination_is_refused(manager):
    _create(manager)
    manager.srt_destination.value = "srt://127.0.0.1:9000?passphrase=hunter2hunter2"
    manager.update_button.click()
    assert "must not carry the passphrase" in manager.message.value
    assert manager.store.stream("main").srt_destination == "srt://127.0.0.1:9000?latency=200"


def test_update_saves_the_new_destination(manager):
    _create(manager)
    manager.srt_destination.value = "srt://distributor.example:7001"
    manager.update_button.click()
    assert manager.store.stream("main").srt_destination == "srt://distributor.example:7001"


def test_obs_settings_follow_the_stream(manager):
    _create(manager)
    html = manager.obs.settings.value
    for expected in ("1280x720", "3000 Kbps", "<td>25</td>", "CBR", "zerolatency"):
        assert expected in html
    assert "<td>Keyframe Interval</td>\n      <td>2 s</td>" in html
    assert "<td>Profile</td>\n      <td>main or high</td>" in html


def test_without_a_started_pipeline_no_server_url_is_made_up(manager, tmp_path):
    _create(manager)
    assert "rtmp://" not in manager.obs.fields.value + manager.obs.settings.value
    assert "known once the pipeline has started" in manager.obs.fields.value
    pipeline = Pipeline("srt://127.0.0.1:9", store=manager.store, stream="main", rtmp_port=0)
    manager.attach(pipeline)
    status = manager.obs.status.value
    assert "not started" in status and "start streaming in OBS" in status
    assert manager.obs.server_url is None


def test_a_duplicate_name_is_reported_in_place(manager):
    _create(manager)
    _create(manager)
    assert "already exists" in manager.message.value
    assert len(manager.store.streams()) == 1


def test_delete_removes_the_stream(manager):
    _create(manager, "a")
    _create(manager, "b")
    manager.select.value = "a"
    manager.delete_button.click()
    assert list(manager.store.streams()["name"]) == ["b"]
    assert list(manager.select.options) == ["b"]
