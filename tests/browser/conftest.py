"""Real players for the manifest tests: hls.js and dash.js (npm, pinned in package.json) in
Debian's headless Chromium driven by Playwright, over a loopback HTTP server.

Setup that is broken fails loudly: no skip. ``npm ci`` runs here when node_modules is
missing (the Makefile runs it too); Chromium comes from Debian (``apt-get install chromium``).
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"
PLAYER_FILES = {
    "hls.js": HERE / "node_modules" / "hls.js" / "dist" / "hls.js",
    "dash.js": HERE / "node_modules" / "dashjs" / "dist" / "modern" / "umd" / "dash.all.debug.js",
}
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


def _ensure_players() -> None:
    if all(p.exists() for p in PLAYER_FILES.values()):
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed: the browser tests need it (apt-get install npm)")
    run = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, capture_output=True, text=True
    )
    missing = [str(p) for p in PLAYER_FILES.values() if not p.exists()]
    if run.returncode != 0 or missing:
        raise RuntimeError(f"npm ci in {HERE} failed ({run.returncode}): {run.stderr[-800:]}")


@pytest.fixture(scope="session")
def headless_chromium() -> Iterator:
    """One headless Debian Chromium for every browser test of the session (never
    Playwright's own download): Playwright's sync API runs one instance per thread."""
    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install -y chromium (make system)")
    from live_helpers import register_shared, snapshot
    from playwright.sync_api import sync_playwright

    before = snapshot()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        register_shared(before)  # the driver and the browser live for the whole session
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def chromium(headless_chromium):
    """The shared Chromium, with the pinned players (hls.js, dash.js) installed."""
    _ensure_players()
    return headless_chromium


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class Site:
    """A directory served on 127.0.0.1 with the player pages and scripts in it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for name, src in PLAYER_FILES.items():
            shutil.copyfile(src, root / name)
        for page in ("hls.html", "dash.html"):
            shutil.copyfile(HERE / page, root / page)
        handler = functools.partial(_Quiet, directory=str(root))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def play(chromium, root: Path, page_name: str, url: str, *, seconds: float = 25.0) -> dict:
    """Serve ``root``, open the player page, start ``url`` and poll ``window.out`` until the
    video ends (or ``seconds`` pass, or the player reports a fatal error). Returns what the
    page recorded, plus the console lines and a screenshot path."""
    site = Site(root)
    context = chromium.new_context(viewport={"width": 480, "height": 320})
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    try:
        page.goto(f"{site.url}/{page_name}")
        page.evaluate("u => start(u)", url)
        deadline = time.monotonic() + seconds
        shot_taken = False
        while time.monotonic() < deadline:
            out = page.evaluate("window.out")
            if out.get("error") or out.get("ended"):
                break
            if not shot_taken and page.evaluate("document.getElementById('v').currentTime") > 7:
                screenshot(page, page_name.split(".")[0] + "-in-break")
                shot_taken = True
            time.sleep(0.25)
        out = page.evaluate("window.out")
        out["video"] = page.evaluate(
            "(() => { const v = document.getElementById('v');"
            " return {currentTime: v.currentTime, readyState: v.readyState,"
            " error: v.error && v.error.message}; })()"
        )
        out["screenshot"] = str(screenshot(page, page_name.split(".")[0] + "-end"))
        out["console"] = console
        return out
    finally:
        context.close()
        site.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
