"""Outputs appear whole or not at all: a temporary name until complete, nothing left after a
failure, Ctrl-C or SIGTERM, and never a cut file under the final name, even after SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scte35lab.cue import Cue
from scte35lab.outfile import atomic_file, atomic_folder, atomic_path

SAMPLES = Path(__file__).resolve().parents[1] / "sample_streams"


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_a_file_appears_under_its_name_only_when_complete(tmp_path):
    out = tmp_path / "out.ts"
    with atomic_file(out) as f:
        f.write(b"x" * 1000)
        assert not out.exists()
        (partial,) = tmp_path.iterdir()
        assert partial.name.startswith(".out.ts.partial-")
    assert out.read_bytes() == b"x" * 1000
    assert _listing(tmp_path) == ["out.ts"]


@pytest.mark.parametrize("exc", [ValueError("boom"), KeyboardInterrupt(), SystemExit(143)])
def test_any_exception_removes_the_temporary_file_and_keeps_the_old_one(tmp_path, exc):
    out = tmp_path / "out.ts"
    out.write_bytes(b"old")
    with pytest.raises(type(exc)), atomic_file(out) as f:
        f.write(b"new, but cut")
        raise exc
    assert out.read_bytes() == b"old"
    assert _listing(tmp_path) == ["out.ts"]


def test_a_named_path_for_a_tool_is_renamed_only_when_written(tmp_path):
    out = tmp_path / "c.ts"
    with pytest.raises(FileNotFoundError), atomic_path(out):
        pass  # the tool wrote nothing
    assert _listing(tmp_path) == []
    with atomic_path(out) as tmp:
        tmp.write_bytes(b"done")
    assert out.read_bytes() == b"done"


def test_a_new_folder_is_renamed_into_place_whole(tmp_path):
    dest = tmp_path / "hls"
    with atomic_folder(dest) as work:
        (work / "seg_1.ts").write_bytes(b"1")
        (work / "index.m3u8").write_text("#EXTM3U\n")
        assert not dest.exists()
    assert _listing(dest) == ["index.m3u8", "seg_1.ts"]
    assert _listing(tmp_path) == ["hls", "hls/index.m3u8", "hls/seg_1.ts"]


def test_a_failed_run_leaves_no_folder_and_no_new_files(tmp_path):
    dest = tmp_path / "hls"
    with pytest.raises(RuntimeError), atomic_folder(dest) as work:
        (work / "seg_1.ts").write_bytes(b"1")
        raise RuntimeError("segmenter failed")
    assert _listing(tmp_path) == []
    dest.mkdir()
    (dest / "mine.txt").write_text("keep")
    with pytest.raises(RuntimeError), atomic_folder(dest) as work:
        (work / "seg_1.ts").write_bytes(b"1")
        raise RuntimeError("segmenter failed")
    assert _listing(tmp_path) == ["hls", "hls/mine.txt"]


def test_into_an_existing_folder_only_this_runs_files_are_replaced(tmp_path):
    dest = tmp_path / "hls"
    dest.mkdir()
    (dest / "index.m3u8").write_text("old")
    (dest / "notes.txt").write_text("keep")
    with atomic_folder(dest) as work:
        (work / "index.m3u8").write_text("new")
        (work / "seg_1.ts").write_bytes(b"1")
    assert (dest / "index.m3u8").read_text() == "new"
    assert _listing(tmp_path) == ["hls", "hls/index.m3u8", "hls/notes.txt", "hls/seg_1.ts"]


def test_a_file_where_the_folder_should_be_is_refused(tmp_path):
    (tmp_path / "hls").write_text("a file")
    with pytest.raises(NotADirectoryError), atomic_folder(tmp_path / "hls"):
        pass


# ------------------------------------------------------------- killing the real command


@pytest.fixture(scope="module")
def big_ts(tmp_path_factory) -> Path:
    """About 190 MB of MPEG-TS: the 5 s sample, 1200 times over."""
    path = tmp_path_factory.mktemp("big") / "big.ts"
    data = (SAMPLES / "h264_aac.ts").read_bytes()
    with path.open("wb") as f:
        for _ in range(1200):
            f.write(data)
    return path


def _inject_and_kill(big: Path, out: Path, sig: int) -> subprocess.Popen:
    """Start ``scte35lab inject`` and send ``sig`` once its partial output is growing."""
    cue = Cue.splice_insert(1, break_duration=90_000).to_base64()
    argv = [sys.executable, "-m", "scte35lab", "inject", str(big), str(out)]
    proc = subprocess.Popen(
        [*argv, "--cue", cue, "--at", "2", "--preroll", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            partial = [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.partial")]
            if partial and partial[0].stat().st_size > 20 << 20:
                break
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.005)
        else:
            pytest.fail("inject never started writing")
        proc.send_signal(sig)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc


def test_inject_killed_with_sigkill_leaves_nothing_under_the_final_name(big_ts, tmp_path):
    out = tmp_path / "out.ts"
    proc = _inject_and_kill(big_ts, out, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    # only the temporary name may stay behind after SIGKILL: never a file that looks complete
    assert all(p.name.startswith(".out.ts.partial-") for p in tmp_path.iterdir())


def test_inject_stopped_with_sigterm_leaves_no_file_at_all(big_ts, tmp_path):
    out = tmp_path / "out.ts"
    proc = _inject_and_kill(big_ts, out, signal.SIGTERM)
    assert proc.returncode == 128 + signal.SIGTERM
    assert proc.stderr.read().decode() == "inject: terminated\n"
    assert _listing(tmp_path) == []


def test_inject_that_runs_to_the_end_renames_its_output(big_ts, tmp_path):
    out = tmp_path / "out.ts"
    argv = [sys.executable, "-m", "scte35lab", "inject", str(big_ts), str(out)]
    cue = Cue.splice_insert(1, break_duration=90_000).to_base64()
    run = subprocess.run(
        [*argv, "--cue", cue, "--at", "2", "--preroll", "1", "--format", "csv"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert _listing(tmp_path) == ["out.ts"]
    assert os.path.getsize(out) > os.path.getsize(big_ts)
