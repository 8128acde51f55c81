"""The one life cycle of the live path's process outputs (``ProcessOutput``), and the sender
face every SRT sender keeps (``Sender``).

The base class is run around a real program (``sh``, reading its stdin like the senders'
programs do), so what is checked is what happens to real bytes in a real pipe: what the
program got, what was counted as dropped, what a failure says, and that stop() lets it
finish before it is stopped.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from scte35lab.errors import ComponentError
from scte35lab.live.errors import ProcessExitedError
from scte35lab.live.fallback import RtmpFallbackPush
from scte35lab.live.ffmpeg import FFmpegSrtSender
from scte35lab.live.process import ScratchDir
from scte35lab.live.procoutput import ProcessOutput
from scte35lab.live.sender import Sender
from scte35lab.live.srt import SrtEndpoint, SrtSender
from scte35lab.live.srtsend import LibSrtSender

pytestmark = pytest.mark.usefixtures("no_child_left")

SECRET = "hunter2-not-for-logs"
CHUNK = 1316
NULL = bytes([0x47, 0x1F, 0xFF, 0x10]) + b"\xff" * 184


def _ts(n: int) -> bytes:
    """``n`` TS packets with a counter in the payload, so any loss or reorder shows."""
    return b"".join(bytes([0x47, 0x01, 0x00, 0x10]) + i.to_bytes(4, "big") * 46 for i in range(n))


class ShOutput(ProcessOutput):
    """``sh -c SCRIPT`` fed TS on its stdin; ``$1`` is the file it may write to."""

    tool = "sh"

    def __init__(self, script: str, out: Path) -> None:
        super().__init__("sh-output", str(out.name), secrets=[SECRET])
        self.script = script
        self.out = out

    def argv(self) -> list[str]:
        return ["sh", "-c", self.script, "sh", str(self.out)]

    def state_of(self, line: str) -> str | None:
        return {"ready": "connected", "bye": "disconnected"}.get(line)

    def failure_of(self, lines: list[str], detail: str) -> ComponentError:
        return ComponentError(f"the sh output failed ({detail})")


def _wait(cond, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_every_byte_is_written_or_counted_dropped_and_a_failure_names_the_program(
    tmp_path: Path,
) -> None:
    out = tmp_path / "got.ts"
    script = (
        f'echo ready >&2; head -c {2 * CHUNK} > "$1"; echo bye >&2; '
        f'echo "token {SECRET} and passphrase=abc123" >&2; exit 3'
    )
    p = ShOutput(script, out)
    data = _ts(14)
    assert p.write(data[:CHUNK]) == CHUNK  # before start: dropped, counted, offsets go on
    assert p.delivery(CHUNK) == ("dropped", None) and p.dropped_bytes == CHUNK
    try:
        p.start()
        p.wait_connected(5)
        assert "connected" in repr(p)
        end = p.write(data)
        assert end == CHUNK + len(data)
        _wait(lambda: not p.running)
        _wait(lambda: p.disconnected.is_set())
        assert p.delivery(end) == ("written", None) and p.written_bytes == len(data)
        err = p.failure()
        assert isinstance(err, ComponentError)
        text = str(err)
        assert "sh exited with status 3" in text and "token ***" in text
        assert SECRET not in text and "abc123" not in text
        after = p.write(data[:CHUNK])  # the program is gone: dropped at once, counted
        assert p.delivery(after) == ("dropped", None)
        assert p.dropped_bytes == 2 * CHUNK and p.bytes_in == 2 * CHUNK + len(data)
    finally:
        p.stop()
    assert out.read_bytes() == data
    assert "stopped" in repr(p)
    with pytest.raises(ProcessExitedError, match="already started"):
        p.start()


def test_stop_hands_on_the_tail_and_lets_the_program_finish_on_its_own(tmp_path: Path) -> None:
    out = tmp_path / "got.ts"
    p = ShOutput('echo ready >&2; cat > "$1"', out).start()
    try:
        p.wait_connected(5)
        data = _ts(12) + b"\x47torn"  # 12 packets and a torn one
        p.write(data)
    finally:
        t0 = time.monotonic()
        p.stop()
    assert time.monotonic() - t0 < 2.0
    assert p.process is not None and p.process.returncode == 0  # cat ended at end of input
    assert p.failure() is None  # an orderly stop is no failure
    # the last whole packets, padded with null packets to a whole 1316-byte unit; the torn
    # packet is never sent
    assert out.read_bytes() == data[: 12 * 188] + NULL * 2
    assert p.delivery(12 * 188) == ("written", None)
    assert p.delivery(len(data)) == ("dropped", None)


def test_a_program_that_exits_before_connecting_raises_its_failure(tmp_path: Path) -> None:
    p = ShOutput(f'echo "cannot open srt://h:1?passphrase={SECRET}" >&2; exit 1', tmp_path / "x")
    p.start()
    try:
        with pytest.raises(ComponentError, match="sh exited with status 1") as err:
            p.wait_connected(5)
    finally:
        p.stop()
    assert SECRET not in str(err.value) and "passphrase=***" in str(err.value)
    assert all(SECRET not in line for line in p.process.lines())
    assert SECRET not in p.process.display_argv + repr(p)


def test_waiting_for_a_program_that_never_connects_ends_and_stop_kills_it(
    tmp_path: Path,
) -> None:
    p = ShOutput("exec sleep 30", tmp_path / "x").start()
    try:
        with pytest.raises(ProcessExitedError, match=r"not connected to x after 0\.3 s"):
            p.wait_connected(0.3)
    finally:
        t0 = time.monotonic()
        p.stop(1.0)
    assert time.monotonic() - t0 < 3.0 and not p.running
    assert p.process is not None and p.process.returncode is not None


def test_every_srt_sender_keeps_the_sender_face_and_the_rtmp_push_does_not_claim_it() -> None:
    ep = SrtEndpoint("127.0.0.1", 9000, passphrase="a passphrase of ten+")
    for sender in (SrtSender(ep), FFmpegSrtSender(ep), LibSrtSender(ep)):
        assert isinstance(sender, Sender), type(sender)
        assert sender.acks is isinstance(sender, LibSrtSender)
    push = RtmpFallbackPush(f"rtmp://127.0.0.1:1935/live/{SECRET}")
    assert isinstance(push, ProcessOutput) and not isinstance(push, Sender)
    assert SECRET not in repr(push)


def test_a_scratch_dir_is_made_on_use_and_only_our_own_is_removed(tmp_path: Path) -> None:
    own = ScratchDir("scte35lab-test-")
    made = own.path()
    assert made.is_dir() and made.name.startswith("scte35lab-test-") and own.path() == made
    own.cleanup()
    assert not made.exists()
    given = ScratchDir("unused-", tmp_path)
    assert given.path() == tmp_path
    given.cleanup()
    assert tmp_path.is_dir()
