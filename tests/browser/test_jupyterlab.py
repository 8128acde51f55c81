"""The notebooks in a real JupyterLab: started on loopback with a token, opened in Debian's
headless Chromium (driven by Playwright, never its own browser download), every cell run,
and the widgets rendered on the page. Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
# notebook -> CSS classes of the scte35lab widgets it must show
EXPECTED = {
    "01_design_ad_breaks": ["s35-schedule-builder", "s35-cue-inspector"],
    "02_analyse_capture": ["s35-timeline", "s35-cue-inspector"],
    "03_live_push": ["s35-stream-manager", "s35-live-dashboard", "s35-timeline"],
}


def _schedule_builder(w) -> None:
    table = w.locator("table").first.inner_text()
    assert "first" in table and "third" in table  # "third" was added from a cell


def _timeline(w) -> None:
    assert w.locator("img").first.evaluate("i => i.complete && i.naturalWidth") >= 1000


def _stream_manager(w) -> None:
    text = w.inner_text()
    assert "Keyframe Interval" in text and "stream key for main" in text


def _live_dashboard(w) -> None:
    assert "stopped" in w.locator(".s35-status").inner_text()
    # a Pipeline runs once: after stop, start, stop, cue out and cue in are all disabled
    # (the "ticks & hex" toggle of the cue log stays usable)
    actions = w.locator("button:not(.widget-toggle-button)")
    assert actions.evaluate_all("bs => bs.map(b => b.disabled)") == [True] * 4
    assert "stopped" in w.locator(".s35-numbers").inner_text()
    assert w.inner_text().count("delivered") >= 2  # the cue log: the out and the in
    assert w.locator("img").first.evaluate("i => i.complete && i.naturalWidth") >= 600


def _cue_inspector(w) -> None:
    assert "splice_command_type" in w.inner_text()


# what each widget must show once its notebook has run
CHECKS = {
    "s35-schedule-builder": _schedule_builder,
    "s35-timeline": _timeline,
    "s35-stream-manager": _stream_manager,
    "s35-live-dashboard": _live_dashboard,
    "s35-cue-inspector": _cue_inspector,
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """JupyterLab serving a scratch copy of the notebooks (the repo's stay output-free)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for nb in (REPO / "notebooks").glob("*.ipynb"):
            shutil.copy(nb, root / nb.name)
        (root / "sample_streams").symlink_to(REPO / "sample_streams")
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        home = root / ".jupyter-home"
        # the notebooks' "python3" kernel is this interpreter (the venv's), whatever other
        # python3 kernelspec the machine has
        spec = home / "data" / "kernels" / "python3"
        spec.mkdir(parents=True)
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        (spec / "kernel.json").write_text(
            json.dumps({"argv": argv, "display_name": "Python 3", "language": "python"})
        )
        env = {
            **os.environ,
            "JUPYTER_PATH": str(home / "data"),
            "JUPYTER_CONFIG_DIR": str(home / "config"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        }
        # no "get Jupyter news?" prompt over the page
        news = home / "settings" / "@jupyterlab" / "apputils-extension"
        news.mkdir(parents=True)
        (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
        argv = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
        ]
        if os.geteuid() == 0:  # CI containers run as root
            argv.append("--allow-root")
        self.log = open(root / "jupyterlab.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            argv, cwd=root, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        self._wait_ready()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited: {self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"JupyterLab did not answer in {timeout:g} s: {self.tail()}")

    def tail(self) -> str:
        self.log.flush()
        return (self.root / "jupyterlab.log").read_text(errors="replace")[-2000:]

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[Lab]:
    server = Lab(tmp_path_factory.mktemp("lab"))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def lab_browser(headless_chromium):
    """The session's shared Chromium (conftest.py)."""
    return headless_chromium


PANEL = """(path) => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path === path && w.content && w.content.model) return w;
  }
  return null;
}"""

RUN_ALL = (
    """async (path) => {
  const panel = ("""
    + PANEL
    + """)(path);
  window.jupyterapp.shell.activateById(panel.id);
  await panel.sessionContext.ready;
  await window.jupyterapp.commands.execute('notebook:run-all-cells');
}"""
)

STATE = (
    """(path) => {
  const panel = ("""
    + PANEL
    + """)(path);
  if (!panel) return null;
  const cells = panel.content.model.cells;
  let code = 0, done = 0;
  const errors = [];
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') continue;
    code++;
    if (cell.executionCount !== null) done++;
    const outs = cell.outputs;
    for (let j = 0; j < outs.length; j++) {
      const o = outs.get(j).toJSON();
      if (o.output_type === 'error') errors.push(o.ename + ': ' + o.evalue);
    }
  }
  const status = panel.sessionContext.session?.kernel?.status ?? 'none';
  return {code, done, errors, status};
}"""
)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_notebook_runs_in_jupyterlab_and_its_widgets_render(lab, lab_browser, name):
    context = lab_browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        nb = f"{name}.ipynb"
        page.goto(f"{lab.url}/lab/workspaces/{name}/tree/{nb}?reset&token={lab.token}")
        page.wait_for_function(f"() => ({PANEL})({nb!r}) !== null", timeout=60_000)
        page.evaluate(RUN_ALL, nb)
        deadline = time.monotonic() + 180
        state = page.evaluate(STATE, nb)
        while time.monotonic() < deadline:
            state = page.evaluate(STATE, nb)
            if state["errors"] or (state["done"] == state["code"] and state["status"] == "idle"):
                break
            time.sleep(0.5)
        assert state["errors"] == [], state
        assert state["done"] == state["code"] and state["code"] > 0, state
        for css in EXPECTED[name]:
            widget = page.locator(f".{css}").first
            widget.wait_for(state="attached", timeout=30_000)
            # JupyterLab renders only the cells near the viewport: bring this one there
            widget.evaluate("e => e.scrollIntoView({block: 'start'})")
            widget.wait_for(state="visible", timeout=30_000)
            assert widget.bounding_box()["height"] > 50
            CHECKS.get(css, lambda w: None)(widget)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"jupyterlab-{name}-{css}.png"))
        page.screenshot(path=str(ARTIFACTS / f"jupyterlab-{name}.png"))
    finally:
        context.close()
