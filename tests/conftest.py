"""Shared test set-up. Its presence puts tests/ on sys.path, so helpers such as
live_helpers import from every test directory (tests/browser too)."""

from __future__ import annotations

import time

import pytest
from live_helpers import live_children

from scte35lab.live.ffmpeg import FFmpegTestSource


@pytest.fixture
def no_child_left():
    """The test must stop every process it started (live tests use it for each test)."""
    yield
    deadline = time.monotonic() + 3
    while live_children() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert live_children() == []


@pytest.fixture(scope="session")
def source_ts(tmp_path_factory) -> bytes:
    """Six seconds of H.264/AAC test picture as MPEG-TS, made by FFmpeg once."""
    path = tmp_path_factory.mktemp("src") / "source.ts"
    src = FFmpegTestSource(str(path), fmt="mpegts", realtime=False, duration=6).start()
    assert src.wait(30) == 0, src.tail()
    return path.read_bytes()
