"""Damaged input: TR 101 290-style findings in .errors, never an exception (input that is
not a transport stream at all is a named error)."""

from __future__ import annotations

import random
from functools import cache
from pathlib import Path

import pytest

from scte35lab.analysis import probe
from scte35lab.errors import NotTransportStreamError

SAMPLES = Path(__file__).resolve().parent.parent / "sample_streams"


@cache
def _data(name: str = "cues_ok.ts") -> bytes:
    return (SAMPLES / name).read_bytes()


def _types(p) -> list[str]:
    return p.errors["type"].astype(str).tolist()


def test_garbage_in_the_middle_is_a_sync_loss_and_reading_resumes():
    data = _data()
    cut = 188 * 1000 + 50
    p = probe(data[:cut] + bytes(range(7)) * 30 + data[cut:])
    clean = probe(data)
    errs = p.errors[p.errors["type"] == "sync_loss"]
    assert len(errs) == 1
    assert errs.iloc[0]["offset"] == 188 * 1001  # packet 1000 still starts with 0x47
    assert len(p.cues) == len(clean.cues)
    assert len(p.frames) >= len(clean.frames) - 2


def test_a_corrupted_sync_byte_is_a_sync_loss():
    data = bytearray(_data())
    data[188 * 500] = 0x00
    p = probe(bytes(data))
    assert "sync_loss" in _types(p)
    assert p.packet_count == len(data) // 188 - 1


def test_a_truncated_last_packet_is_reported():
    data = _data()
    p = probe(data[:-100])
    assert "truncated_packet" in _types(p)


def test_pat_crc_error_is_reported():
    data = bytearray(_data())
    first_pat = next(
        i for i in range(0, len(data), 188) if data[i + 1] == 0x40 and data[i + 2] == 0
    )
    data[first_pat + 5 + 8] ^= 0xFF  # its program loop
    p = probe(bytes(data))
    errs = p.errors[p.errors["type"] == "crc_error"]
    assert errs["pid"].tolist() == [0]


def test_a_gap_of_a_second_is_a_pcr_discontinuity_and_cc_errors():
    data = _data()
    packets = len(data) // 188
    a, b = packets // 3, packets // 3 + packets // 10  # about one second gone
    p = probe(data[: a * 188] + data[b * 188 :])
    types = _types(p)
    assert "pcr_discontinuity_error" in types
    assert "cc_error" in types
    assert "pts_error" in types


def test_pat_missing_for_more_than_half_a_second_is_a_pat_error():
    data = _data()
    out = bytearray()
    for i in range(0, len(data), 188):
        pk = data[i : i + 188]
        pid = ((pk[1] & 0x1F) << 8) | pk[2]
        if pid == 0 and 800 < i // 188 < 1600:  # about 3 s without a PAT
            continue
        out += pk
    assert "pat_error" in _types(probe(bytes(out)))


def test_transport_error_indicator_is_reported():
    data = bytearray(_data())
    data[188 * 300 + 1] |= 0x80
    errs = probe(bytes(data)).errors
    assert errs[errs["type"] == "transport_error"]["packet"].tolist() == [300]


@pytest.mark.parametrize("seed", range(6))
def test_random_damage_never_raises(seed):
    rng = random.Random(seed)
    data = bytearray(_data("cues_packed.ts"))
    for _ in range(200):
        data[rng.randrange(len(data))] = rng.randrange(256)
    for _ in range(3):
        at = rng.randrange(len(data))
        del data[at : at + rng.randrange(1, 400)]
    p = probe(bytes(data))
    assert len(p.errors) > 0
    assert len(p.frames) > 0


def test_input_that_is_not_a_transport_stream_is_a_named_error():
    rng = random.Random(1)
    data = bytes(rng.randrange(256) for _ in range(100_000)).replace(b"\x47", b"\x00")
    with pytest.raises(NotTransportStreamError, match=r"unknown binary data.*not MPEG-TS"):
        probe(data)


def test_empty_input_is_a_named_error():
    with pytest.raises(NotTransportStreamError, match="empty"):
        probe(b"")
