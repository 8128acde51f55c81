"""Benchmark the SRT senders: in-process libsrt against ``srt-live-transmit``, same input.

Makes (once, in bench/out/, git-ignored; the same file bench/live.py makes) a 720p25
H.264/AAC MPEG-TS at about 8 Mbit/s, then plays it in real time (13160-byte writes paced at
its average rate, from a thread of this process) twice into an ``srt-live-transmit``
listener on loopback that writes to a file:

- ``LibSrtSender``: libsrt in this process, polling its statistics for acknowledgements;
- ``SrtSender``: the ``srt-live-transmit`` child fed through a pipe.

Prints each sender's CPU share of one core (this process's CPU minus the pacing thread's
own, plus the sender's child, if any; the listener is not counted; libsrt's own threads
shown apart, measured per thread with 10 ms clock ticks), their ratio, and
whether the listener's file holds exactly the bytes written (null packets at the end
aside: both senders pad their last message with them).

Usage: ``.venv/bin/python bench/srt_send.py [--seconds N]``
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from live import make_input  # noqa: E402

from scte35lab.live.rtmp import free_port  # noqa: E402
from scte35lab.live.srt import SrtEndpoint, SrtListener, SrtSender  # noqa: E402
from scte35lab.live.srtsend import LibSrtSender  # noqa: E402

NULL = bytes([0x47, 0x1F, 0xFF, 0x10]) + b"\xff" * 184
CHUNK = 1316 * 10
PASSPHRASE = "bench passphrase 0123"


def strip_nulls_at_end(data: bytes) -> bytes:
    end = len(data)
    while end >= 188 and data[end - 188 : end] == NULL:
        end -= 188
    return data[:end]


def cpu_seconds(p: psutil.Process) -> float:
    t = p.cpu_times()
    return t.user + t.system


def thread_cpu(p: psutil.Process) -> dict[int, float]:
    """CPU seconds of each thread of ``p`` by native thread id."""
    return {t.id: t.user_time + t.system_time for t in p.threads()}


def pace(sender: object, data: bytes, rate_bps: float, out: dict[str, float]) -> None:
    """Write ``data`` at ``rate_bps``; records this thread's own CPU seconds."""
    c0 = time.thread_time()
    t0 = time.monotonic()
    for i in range(0, len(data), CHUNK):
        sender.write(data[i : i + CHUNK])  # type: ignore[attr-defined]
        delay = t0 + (i + CHUNK) * 8 / rate_bps - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    out["feeder_cpu"] = time.thread_time() - c0


def run(kind: str, data: bytes, seconds: float) -> dict[str, float | bool | str]:
    port = free_port(socket.SOCK_DGRAM)
    me = psutil.Process()
    with tempfile.TemporaryDirectory(prefix="bench-srt-") as tmp:
        out = Path(tmp) / "rx.ts"
        with SrtListener(port, out, passphrase=PASSPHRASE, latency_ms=120):
            endpoint = SrtEndpoint("127.0.0.1", port, passphrase=PASSPHRASE, latency_ms=120)
            sender = LibSrtSender(endpoint) if kind == "libsrt" else SrtSender(endpoint)
            sender.start()
            sender.wait_connected(5)
            child = None
            if kind != "libsrt":
                assert isinstance(sender, SrtSender) and sender.process is not None
                child = psutil.Process(sender.process.pid)
            fed: dict[str, float] = {}
            own0 = cpu_seconds(me)
            threads0 = thread_cpu(me)
            child0 = cpu_seconds(child) if child else 0.0
            t0 = time.monotonic()
            feeder = threading.Thread(
                target=pace, args=(sender, data, len(data) * 8 / seconds, fed)
            )
            feeder.start()
            feeder.join()
            wall = time.monotonic() - t0
            own = cpu_seconds(me) - own0 - fed["feeder_cpu"]
            python_threads = {t.native_id for t in threading.enumerate()}
            native = sum(
                v - threads0.get(tid, 0.0)
                for tid, v in thread_cpu(me).items()
                if tid not in python_threads
            )
            kid = cpu_seconds(child) - child0 if child else 0.0
            s0 = time.monotonic()
            sender.stop()
            stop_s = time.monotonic() - s0
            time.sleep(0.5)
        received = out.read_bytes()
    res: dict[str, float | bool | str] = {
        "python_cpu": 100 * own / wall,
        "native_cpu": 100 * native / wall,
        "child_cpu": 100 * kid / wall,
        "cpu": 100 * (own + kid) / wall,
        "feeder_cpu": 100 * fed["feeder_cpu"] / wall,
        "wall": wall,
        "stop_s": stop_s,
        "exact": strip_nulls_at_end(received) == strip_nulls_at_end(data),
        "received": len(received),
        "load": os.getloadavg()[0],
    }
    if isinstance(sender, LibSrtSender):
        res["acked"] = f"{sender.acked_bytes}/{sender.written_bytes}"
        res["all_acked"] = sender.acked_bytes == sender.written_bytes == len(data)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=30)
    args = ap.parse_args()
    src = make_input(args.seconds)
    data = src.read_bytes()
    mbps = len(data) * 8 / args.seconds / 1e6
    print(f"input: {src.name}, {mbps:.1f} Mbit/s, {len(data)} bytes, paced over {args.seconds} s")
    lib = run("libsrt", data, args.seconds)
    slt = run("srt-live-transmit", data, args.seconds)
    print()
    print(f"{'':38} {'LibSrtSender':>16} {'SrtSender':>18}")
    print(
        f"{'CPU, sender in this process':38} {lib['python_cpu']:15.1f}% {slt['python_cpu']:17.1f}%"
    )
    native = "  of which libsrt's own threads"
    print(f"{native:38} {lib['native_cpu']:15.1f}% {'-':>18}")
    print(f"{'CPU, srt-live-transmit child':38} {'-':>16} {slt['child_cpu']:17.1f}%")
    print(f"{'CPU, sender total (% of one core)':38} {lib['cpu']:15.1f}% {slt['cpu']:17.1f}%")
    pacing = "CPU, pacing thread (left out)"
    print(f"{pacing:38} {lib['feeder_cpu']:15.1f}% {slt['feeder_cpu']:17.1f}%")
    print(f"{'stop() took (s)':38} {lib['stop_s']:16.2f} {slt['stop_s']:18.2f}")
    print(f"{'received == written':38} {lib['exact']!s:>16} {slt['exact']!s:>18}")
    print(f"{'bytes acked / written (libsrt)':38} {lib['acked']!s:>16} {'(cannot tell)':>18}")
    print(f"{'load average after the run':38} {lib['load']:16.2f} {slt['load']:18.2f}")
    ratio = lib["cpu"] / slt["cpu"] if slt["cpu"] else float("nan")
    print(f"\nCPU ratio LibSrtSender / SrtSender: {ratio:.2f}")


if __name__ == "__main__":
    main()
