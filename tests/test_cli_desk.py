"""``scte35lab desk`` refuses what it cannot serve with one line and exit code 2, before any
server starts (the page itself is tested in tests/browser/test_desk.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import nbformat

from scte35lab.cli_desk import desk_notebook


def _desk(*args: str, cwd) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scte35lab", "desk", "--no-browser", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        run = _desk("--port", str(port), "--store", str(tmp_path / "lab.db"), cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        f"error: desk: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]


def test_a_port_out_of_range_is_refused(tmp_path):
    run = _desk("--port", "70000", cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.strip() == "error: desk: ports are 0..65535"


def test_a_store_that_cannot_be_opened_is_named(tmp_path):
    (tmp_path / "lab.db").write_bytes(b"not a database at all" * 100)
    run = _desk("--port", "0", "--store", str(tmp_path / "lab.db"), cwd=tmp_path)
    assert run.returncode == 2
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr
    assert "lab.db" in run.stderr


def test_a_short_token_is_refused(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "scte35lab", "desk", "--no-browser", "--token-env", "T"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        env={**os.environ, "T": "short"},
    )
    assert run.returncode == 2
    assert run.stderr.strip() == "error: desk: T must hold a token of 16 characters or more"


def test_the_desk_notebook_ships_in_the_package_without_outputs():
    nb = nbformat.read(desk_notebook(), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    assert "desk_from_env()" in code[-1].source
