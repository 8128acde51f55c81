"""Codec speed beside threefive, on the same sections, in one run.

Decodes and encodes a splice_insert and a time_signal with two segmentation descriptors with
scte35lab and with threefive (a bench dependency), and prints cues/s and the ratio.
threefive's ``Cue(data)`` already decodes, so its decode is timed as construction alone; its
encode is ``Cue.encode()`` on an already decoded cue, as ours is.
"""

from __future__ import annotations

import base64
import sys
import time
import warnings
from collections.abc import Callable

from scte35lab.cue import Cue

CASES = {
    "splice_insert + avail": (
        "/DAvAAAAAAAA///wFAVIAACPf+/+c2nALv4AUsz1AAAAAAAKAAhDVUVJAAABNWLbowo="
    ),
    "time_signal + 2 seg (TI, TI)": (
        "/DBIAAAAAAAAAP/wBQb/tB67hgAyAhdDVUVJQAABEn+fCAgAAAAALzE8BTUAAAIXQ1VFSUAAAEV/nwgIAAAAAC8x"
        "PN4jAAAfiOPE"
    ),
    "time_signal + 2 seg (TI, MPU)": (
        "/DBfAAHsGNoe///wBQb+F08gCQBJAhxDVUVJxHIBUX//AAEgwfgICAAFH4HEcgFRNAIDAilDVUVJAAAAAH+/D"
        "BpWTU5VAV/G7ALs/RHgrKYAJrlBTzABAAAAAAEAAH2eFFg="
    ),
}


def rates(mine: Callable[[], object], peer: Callable[[], object], rounds: int = 9) -> tuple:
    """Calls per second of ``mine`` and ``peer``: the best of ``rounds`` rounds, the two timed
    alternately in each round so that load on the machine falls on both alike."""

    def calls_for(fn: Callable[[], object]) -> int:
        n = 1
        while True:
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            if time.perf_counter() - t0 > 0.02:
                return max(1, int(n * 0.1 / (time.perf_counter() - t0)))
            n *= 4

    def timed(fn: Callable[[], object], n: int) -> float:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - t0) / n

    n_mine, n_peer = calls_for(mine), calls_for(peer)
    best_mine = best_peer = float("inf")
    for _ in range(rounds):
        best_mine = min(best_mine, timed(mine, n_mine))
        best_peer = min(best_peer, timed(peer, n_peer))
    return 1.0 / best_mine, 1.0 / best_peer


def main() -> int:
    try:
        import threefive
    except ImportError:
        print("threefive is not installed: pip install -e .[dev]", file=sys.stderr)
        return 2
    warnings.simplefilter("ignore")
    print(f"{'case':32} {'op':7} {'scte35lab cues/s':>17} {'threefive cues/s':>17} {'ratio':>7}")
    worst = float("inf")
    for name, b64 in CASES.items():
        raw = base64.b64decode(b64)
        ours = Cue.decode(raw)
        theirs = threefive.Cue(raw)
        assert ours.encode() == raw, "scte35lab must re-encode bit-exactly"
        ops = {
            "decode": (lambda raw=raw: Cue.decode(raw), lambda raw=raw: threefive.Cue(raw)),
            "encode": (ours.encode, theirs.encode),
        }
        for op, (mine, peer) in ops.items():
            a, b = rates(mine, peer)
            worst = min(worst, a / b)
            print(f"{name:32} {op:7} {a:17,.0f} {b:17,.0f} {a / b:6.2f}x")
    print(f"slowest ratio: {worst:.2f}x threefive {threefive.version}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
