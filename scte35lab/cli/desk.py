"""``scte35lab desk``: the live desk and the schedule builder as a web page, no code.

Voilà serves the package's ``desk.ipynb`` (ipywidgets without notebook cells) on 127.0.0.1
with a random token; the page's kernel builds the :class:`~scte35lab.widgets.desk.Desk` from
``SCTE35LAB_DESK_*`` variables. The token reaches Voilà in a private config file, never in
argv. One JSON line with the URL goes to stdout; Ctrl-C (or SIGTERM) stops the server and
every process its page started (a running pipeline's nginx and FFmpeg included).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.resources
import importlib.util
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import webbrowser
from pathlib import Path

import psutil

from scte35lab.deskenv import ENV_PREFIX, MODES, desk_env
from scte35lab.errors import ComponentError
from scte35lab.schedule import Store

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``desk``."""
    p = sub.add_parser(
        "desk",
        help="serve the live desk and the schedule builder as a web page (Voilà)",
        description=(
            "Serve the creator's desk (streams, schedule, live dashboard with the OBS panel) "
            "as a web page on 127.0.0.1 with a token, and open it in the browser. Prints one "
            "JSON line with the URL; runs until Ctrl-C."
        ),
    )
    p.add_argument("--store", default="lab.db", metavar="DB", help="SQLite store (lab.db)")
    p.add_argument("--stream", help="stream to select first")
    p.add_argument("--host", default="127.0.0.1", help="address of the page (127.0.0.1)")
    p.add_argument("--port", type=int, default=8866, help="port of the page (8866; 0: any)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument(
        "--token-env", metavar="VAR", help="env variable holding the page token (default: random)"
    )
    p.add_argument("--rtmp-host", default="127.0.0.1", help="RTMP address for OBS (127.0.0.1)")
    p.add_argument("--rtmp-port", type=int, default=1935, help="RTMP port for OBS (1935; 0: any)")
    p.add_argument("--mode", choices=MODES, default="passthrough", help="passthrough|transcode")
    p.add_argument("--preroll", type=float, default=4.0, help="seconds before a splice (4)")
    p.add_argument("--sender", choices=("libsrt", "srt-live-transmit", "ffmpeg"), default="libsrt")
    p.set_defaults(func=run_desk)


def desk_notebook() -> Path:
    """The notebook the page renders (package data of ``scte35lab.widgets``)."""
    path = Path(str(importlib.resources.files("scte35lab.widgets") / "desk.ipynb"))
    if not path.is_file():
        raise ComponentError(f"the desk notebook is missing from the package: {path}")
    return path


def _free_port(host: str, port: int) -> int:
    """``port`` when it can be bound on ``host`` (any free one for 0); else an error."""
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError as exc:
            raise ComponentError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        return s.getsockname()[1]


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ComponentError(f"the desk server (Voilà) exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers (403 without the token is still an answer)
        except OSError:
            time.sleep(0.2)
    raise ComponentError(f"the desk server did not answer at {url} within {timeout:g} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop Voilà and everything under it (kernels and what they started)."""
    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    proc.terminate()
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(STOP_TIMEOUT_S)
    for child in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.terminate()
    _gone, alive = psutil.wait_procs(family, timeout=STOP_TIMEOUT_S)
    for child in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()


def run_desk(args: argparse.Namespace) -> int:
    """Serve the desk until Ctrl-C."""
    if importlib.util.find_spec("voila") is None:
        raise ComponentError("voila is not installed: pip install voila")
    token = secrets.token_urlsafe(24)
    if args.token_env:
        token = os.environ.get(args.token_env, "")
        if len(token) < 16:
            raise ComponentError(f"{args.token_env} must hold a token of 16 characters or more")
    if not 0 <= args.port <= 65535 or not 0 <= args.rtmp_port <= 65535:
        raise ComponentError("ports are 0..65535")
    store = Path(args.store).resolve()
    Store(store).close()  # a store that cannot be opened is said now, not on the page
    port = _free_port(args.host, args.port)
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        print(
            f"desk: listening on {args.host}: anyone who can reach it with the token can start "
            "and stop the stream",
            file=sys.stderr,
        )
    notebook = desk_notebook()
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    env.update(
        desk_env(
            store=store,
            stream=args.stream,
            rtmp_host=args.rtmp_host,
            rtmp_port=args.rtmp_port,
            mode=args.mode,
            preroll=args.preroll,
            sender=args.sender,
        )
    )
    with tempfile.TemporaryDirectory(prefix="scte35lab-desk-") as config_dir:
        config = Path(config_dir) / "voila.json"
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"Voila": {"token": token}}, f)
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
            [config_dir, *filter(None, [env.get("JUPYTER_CONFIG_PATH")])]
        )
        # the page's "python3" kernel is this interpreter, whatever other python3 the
        # machine has a kernelspec for
        spec = Path(config_dir) / "data" / "kernels" / "python3"
        spec.mkdir(parents=True)
        kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        (spec / "kernel.json").write_text(
            json.dumps({"argv": kernel, "display_name": "Python 3", "language": "python"})
        )
        env["JUPYTER_PATH"] = os.pathsep.join(
            [str(spec.parents[1]), *filter(None, [env.get("JUPYTER_PATH")])]
        )
        argv = [
            sys.executable,
            "-m",
            "voila",
            str(notebook),
            "--no-browser",
            f"--port={port}",
            f"--Voila.ip={args.host}",
            "--Voila.port_retries=0",
            "--theme=light",
            "--VoilaConfiguration.file_allowlist=[]",
        ]
        log.debug("desk: %s", " ".join(argv))
        proc = subprocess.Popen(argv, env=env, cwd=notebook.parent, stdin=subprocess.DEVNULL)
        try:
            base = f"http://{args.host}:{port}/"
            _wait_ready(base, proc, READY_TIMEOUT_S)
            url = f"{base}?token={token}"
            print(json.dumps({"event": "desk", "url": url, "store": str(store)}), flush=True)
            if not args.no_browser:
                webbrowser.open(url)
            proc.wait()
        finally:
            _stop(proc)
    if proc.returncode not in (0, -15, 143):
        raise ComponentError(f"the desk server (Voilà) exited with code {proc.returncode}")
    return 0


__all__ = ["add_parser", "desk_notebook", "run_desk"]
