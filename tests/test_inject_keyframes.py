"""The injector says where each IDR frame starts in its output: where a receiver that joins
the stream (an SRT reconnect) can start decoding."""

from __future__ import annotations

from pathlib import Path

from scte35lab import Cue, probe
from scte35lab.ts.inject import Injector

SAMPLES = Path(__file__).parent.parent / "sample_streams"


def _run(data: bytes, inj: Injector, step: int) -> bytes:
    out = b"".join(inj.feed(data[i : i + step]) for i in range(0, len(data), step))
    return out + inj.flush()


def test_key_offsets_are_the_first_packets_of_the_output_idr_frames() -> None:
    data = (SAMPLES / "h264_aac.ts").read_bytes()
    inj = Injector([(2.0, Cue.splice_insert(1, pts_time=0, break_duration=90_000))])
    out = _run(data, inj, 7 * 188)
    p = probe(out)
    keys = p.keyframes
    assert len(inj.key_offsets) == len(keys) > 1
    assert list(inj.key_offsets) == keys["offset"].tolist()


def test_key_offsets_hold_when_cues_are_inserted_before_the_idr() -> None:
    data = (SAMPLES / "h264_aac.ts").read_bytes()
    cues = [(t, Cue.splice_insert(t, pts_time=0)) for t in (1, 2, 3)]
    inj = Injector(cues, repeat_every=0.2)
    out = _run(data, inj, 100 * 188)
    p = probe(out)
    assert len(p.cues) > 3  # sections went in, moving the packets after them
    assert list(inj.key_offsets) == p.keyframes["offset"].tolist()
