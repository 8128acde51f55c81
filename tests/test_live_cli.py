"""``scte35lab push`` and ``scte35lab demo`` as a user runs them: real processes, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from live_helpers import live_children, udp_port

pytestmark = pytest.mark.slow


def _run(*args: str, env: dict[str, str] | None = None, timeout: float = 150):
    return subprocess.run(
        [sys.executable, "-m", "scte35lab", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def test_demo_runs_the_whole_loop_and_every_cue_verifies(tmp_path) -> None:
    r = _run("demo", "--seconds", "24", "--out", str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 cues, 3 ok, 0 failed" in r.stdout
    assert "store: 3 cues in scte35_logs: 3 delivered" in r.stdout
    assert (tmp_path / "capture.ts").stat().st_size > 500_000
    assert live_children() == []


def test_push_with_a_non_srt_url_is_a_one_line_error() -> None:
    r = _run("push", "--key", "some-stream-key", "--srt", "udp://127.0.0.1:9000")
    assert r.returncode == 2
    assert r.stderr.startswith("error: push: not an SRT URL")
    assert "Traceback" not in r.stderr


def test_push_names_a_wrong_passphrase(tmp_path) -> None:
    from scte35lab.live import SrtListener

    port = udp_port()
    with SrtListener(port, tmp_path / "cap.ts", passphrase="the real passphrase"):
        r = _run(
            "push",
            "--key",
            "some-stream-key",
            "--srt",
            f"srt://127.0.0.1:{port}",
            "--passphrase-env",
            "PUSH_TEST_PASS",
            "--rtmp-port",
            "0",
            env={"PUSH_TEST_PASS": "a wrong passphrase"},
        )
    assert r.returncode == 2, r.stderr
    assert "rejected the passphrase" in r.stderr
    assert "a wrong passphrase" not in r.stderr + r.stdout


def test_push_transcode_with_a_bad_setting_is_a_one_line_error_naming_it() -> None:
    r = _run(
        "push", "--key", "k" * 12, "--srt", "srt://127.0.0.1:9000", "--transcode", "preset=quick"
    )
    assert r.returncode == 2
    assert r.stderr.startswith("error: push: transcode settings: preset 'quick'")
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_demo_in_transcode_mode_verifies_every_cue(tmp_path) -> None:
    r = _run("demo", "--seconds", "24", "--out", str(tmp_path), "--transcode")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "transcode: libx264" in r.stdout
    assert "3 cues, 3 ok, 0 failed" in r.stdout
    assert live_children() == []


def test_push_with_a_malformed_fec_filter_is_a_one_line_error_naming_it() -> None:
    r = _run(
        "push", "--key", "k" * 12, "--srt", "srt://127.0.0.1:9000", "--packet-filter", "fec,cols:1"
    )
    assert r.returncode == 2
    assert r.stderr.strip() == "error: push: SRT packet filter 'fec,cols:1': cols must be 2 or more"
