"""The creator's desk without code: the real ``scte35lab desk`` server (Voilà) on loopback,
opened in Debian's headless Chromium with Playwright. On the page: create a stream, give it
a key, open the live desk, press Start, publish with FFmpeg's test source as OBS would (to
the server URL the page shows), press Cue out, watch the cue go delivered and the countdown
move, press Stop. Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from live_helpers import udp_port

from scte35lab.live import FFmpegTestSource, SrtListener

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
STREAM_TIME = r"\d\d:\d\d:\d\d\.\d{3}"
WALL = r"\d\d:\d\d:\d\d"


@dataclass
class DeskServer:
    proc: subprocess.Popen[str]
    url: str
    port: int
    store: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def desk(tmp_path_factory) -> Iterator[DeskServer]:
    work = tmp_path_factory.mktemp("desk")
    port = _free_port()
    argv = [sys.executable, "-m", "scte35lab", "desk", "--no-browser", "--port", str(port)]
    argv += ["--store", str(work / "lab.db"), "--rtmp-port", "0"]
    proc = subprocess.Popen(
        argv,
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=open(work / "desk.log", "w"),  # noqa: SIM115
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line, f"scte35lab desk printed nothing: {(work / 'desk.log').read_text()[-2000:]}"
        url = json.loads(line)["url"]
        yield DeskServer(proc, url, port, work / "lab.db")
    finally:
        family = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        _gone, alive = psutil.wait_procs(family, timeout=10)
        assert not alive, f"left running after the desk stopped: {alive}"


def test_the_desk_listens_on_loopback_and_wants_its_token(desk):
    assert desk.url.startswith(f"http://127.0.0.1:{desk.port}/?token=")
    token = desk.url.split("token=")[1]
    assert len(token) >= 24
    assert token not in " ".join(psutil.Process(desk.proc.pid).children()[0].cmdline())
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{desk.port}/", timeout=10) as r:
            status, final = r.status, r.url
    except urllib.error.HTTPError as exc:
        status, final = exc.code, exc.url
    assert status in (401, 403) or "login" in final, (status, final)


def _text(page, css: str) -> str:
    return page.locator(f"{css}:visible").first.inner_text()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"desk-{name}.png"), full_page=True)


def _wait_text(page, css: str, pattern: str, timeout: float) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        loc = page.locator(f"{css}:visible")
        if loc.count():
            text = loc.first.inner_text()
            m = re.search(pattern, text)
            if m:
                return m
        time.sleep(0.25)
    raise AssertionError(f"{css}: no {pattern!r} in {text!r}")


def test_a_creator_goes_live_cues_a_break_and_stops_on_the_page(desk, headless_chromium, tmp_path):
    srt = udp_port()
    listener = SrtListener(srt, tmp_path / "received.ts").start()
    context = headless_chromium.new_context(viewport={"width": 1400, "height": 1000})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    source = None
    try:
        page.goto(desk.url)
        page.locator(".s35-desk").wait_for(timeout=90_000)
        # Streams: create "main" with its SRT destination, and a key
        page.get_by_role("tab", name="Streams").click()
        manager = page.locator(".s35-stream-manager")
        manager.get_by_label("name", exact=True).fill("main")
        manager.get_by_label("SRT destination").fill(f"srt://127.0.0.1:{srt}")
        manager.get_by_role("button", name="Create stream").click()
        _wait_text(page, ".s35-stream-manager .s35-msg", "created stream 'main'", 20)
        manager.get_by_role("button", name="New stream key").click()
        key = _wait_text(page, ".s35-stream-key", r"stream key for main: (\S+)", 20)[1]
        # Live: the OBS panel knows no URL before Start, and says so
        page.get_by_role("tab", name="Live").click()
        page.get_by_role("button", name="Open live desk").click()
        _wait_text(page, ".s35-obs-status", "not started: the server URL", 20)
        _wait_text(page, ".s35-latency", r"added latency 5\.12 s", 20)
        _shot(page, "1-ready")
        page.get_by_role("button", name="Start").click()
        _wait_text(page, ".s35-status", "live", 30)
        _wait_text(page, ".s35-obs-status", "waiting for OBS at rtmp://127.0.0.1:", 20)
        server = page.locator("input.s35-obs-server-value:visible").first.input_value()
        assert re.fullmatch(r"rtmp://127\.0\.0\.1:\d+/live", server) and ":1935/" not in server
        page.locator("button.s35-obs-server-copy:visible").first.click()
        assert page.evaluate("navigator.clipboard.readText()") == server
        assert page.locator("input.s35-obs-key-value:visible").first.input_value() == key
        # OBS (FFmpeg's test source) publishes to what the page shows
        source = FFmpegTestSource(f"{server}/{key}", gop=25).start()
        _wait_text(page, ".s35-obs-status", f"OBS connected at {WALL}", 20)
        _wait_text(page, ".s35-numbers", r"frames per second: 2[45]", 20)
        _wait_text(page, ".s35-numbers", "SRT: up", 20)
        time.sleep(6)  # the injector's first pre-roll + look-ahead leaves before a cue
        page.locator(".s35-live-dashboard").get_by_label("break (s)").fill("20")
        page.get_by_role("button", name="Cue out").click()
        _wait_text(
            page,
            ".s35-cue-note",
            f"starts at stream time ({STREAM_TIME}), on air at the distributor at {WALL}",
            15,
        )
        assert "behind OBS" in _text(page, ".s35-cue-note")
        first = _wait_text(
            page, ".s35-countdown", r"next break ondemand-1 .* on air in ([\d.]+) s", 15
        )
        assert "returns at" in first.string
        _wait_text(page, ".s35-cue-log", "delivered", 20)
        log_text = _text(page, ".s35-cue-log")
        row = f"ondemand-1\\s+out\\s+delivered\\s+{STREAM_TIME}\\s+{WALL}\\s"
        assert re.search(row, log_text), log_text
        assert "splice_pts" not in log_text and "hex" not in log_text  # one click away
        time.sleep(1.5)
        second = _wait_text(page, ".s35-countdown", r"on air in ([\d.]+) s|in break", 10)
        # the countdown moves: the break is nearer, or on air already
        assert second[1] is None or float(second[1]) <= float(first[1]) - 1.0, (first, second)
        _shot(page, "2-cue-delivered")
        page.get_by_role("button", name="ticks & hex").click()
        _wait_text(page, ".s35-cue-log", r"splice_pts\s", 10)
        assert re.search(r"\b\d{6,}\b", _text(page, ".s35-cue-log"))
        page.get_by_role("button", name="Stop").click()
        _wait_text(page, ".s35-status", "stopped", 30)
        _wait_text(page, ".s35-numbers", "^stopped$", 10)
        time.sleep(1.5)
        body = page.locator(".s35-live-dashboard").inner_text()
        assert "SRT: up" not in body
        assert _text(page, ".s35-countdown") == "stopped"
        _wait_text(page, ".s35-obs-status", "stopped at", 10)
        _shot(page, "3-stopped")
    finally:
        if source is not None:
            source.stop()
        context.close()
        listener.stop()
