"""Bad input: typed errors that name the structure, the field and the bit; nothing else escapes."""

from __future__ import annotations

import base64
import contextlib
import random

import pytest
from cue_strategies import any_cue
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scte35lab.cue import Cue, SpliceInsert, SpliceTime
from scte35lab.errors import (
    CrcError,
    InputFormatError,
    InvalidFieldError,
    LengthMismatchError,
    Scte35Error,
    TruncatedError,
)

TIME_SIGNAL = "/DA0AAAAAAAA///wBQb+cr0AUAAeAhxDVUVJSAAAjn/PAAGlmbAICAAAAAAsoKGKNAIAmsnRfg=="
RAW = base64.b64decode(TIME_SIGNAL)


def test_bad_crc_names_crc_32_and_its_bit_offset() -> None:
    data = RAW[:-1] + bytes([RAW[-1] ^ 1])
    with pytest.raises(CrcError) as info:
        Cue.decode(data)
    assert info.value.field == "CRC_32" and info.value.bit == 8 * (len(RAW) - 4)
    assert "computed" in str(info.value)


def test_truncated_section_says_how_many_bytes_it_needs() -> None:
    with pytest.raises(TruncatedError, match="section_length 52 needs 55 bytes, got 30"):
        Cue.decode(RAW[:30])


def test_wrong_table_id_names_table_id() -> None:
    with pytest.raises(InputFormatError, match="table_id"):
        Cue.decode(b"\xfd" + RAW[1:])
    with pytest.raises(InvalidFieldError, match="table_id"):
        Cue.from_dict({**Cue.decode(RAW).to_dict(), "table_id": 0xFD})


def test_descriptor_loop_length_past_the_section_is_a_length_mismatch() -> None:
    raw = bytearray(RAW[:-4])
    raw[19] = 0xFF  # descriptor_loop_length low byte
    raw += (0).to_bytes(4, "big")
    from scte35lab.cue import crc32_mpeg2

    raw[-4:] = crc32_mpeg2(bytes(raw[:-4])).to_bytes(4, "big")
    with pytest.raises(LengthMismatchError) as info:
        Cue.decode(bytes(raw))
    assert info.value.field == "descriptor_loop_length"


def test_a_field_too_wide_for_its_bits_is_refused_on_encode() -> None:
    cue = Cue(SpliceInsert(splice_event_id=1, splice_time=SpliceTime(1 << 33)))
    with pytest.raises(InvalidFieldError) as info:
        cue.encode()
    assert info.value.field == "pts_time" and "33" in str(info.value)


def test_text_that_is_no_cue_form_is_an_input_format_error() -> None:
    for text in ("", "   ", "not a cue!", "0xZZ", "{not json", "[1, 2]"):
        with pytest.raises(InputFormatError):
            Cue.decode(text)


def test_unknown_dict_key_is_named() -> None:
    d = Cue.splice_insert(1, pts_time=0).to_dict()
    d["splice_command"]["splice_evnt_id"] = 3
    with pytest.raises(InvalidFieldError, match="splice_evnt_id"):
        Cue.from_dict(d)


def test_dict_flag_that_contradicts_its_fields_is_refused() -> None:
    d = Cue.splice_insert(1, pts_time=0).to_dict()
    d["splice_command"]["duration_flag"] = True
    with pytest.raises(InvalidFieldError, match="duration_flag"):
        Cue.from_dict(d)


FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_scte35_errors(data: bytes) -> None:
    for candidate in (data, b"\xfc" + data, b"\x47" + data):
        with contextlib.suppress(Scte35Error):
            Cue.decode(candidate, check_crc=False)


@FUZZ
@given(any_cue, st.data())
def test_mutated_sections_raise_only_scte35_errors(cue: Cue, data: st.DataObject) -> None:
    raw = bytearray(cue.encode())
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    for candidate in (bytes(raw), bytes(raw[:cut])):
        for check in (True, False):
            with contextlib.suppress(Scte35Error):
                Cue.decode(candidate, check_crc=check)


def test_every_single_byte_mutation_of_real_cues_raises_only_scte35_errors() -> None:
    rng = random.Random(35)
    for _ in range(3000):
        raw = bytearray(RAW)
        raw[rng.randrange(len(raw))] = rng.randrange(256)
        with contextlib.suppress(Scte35Error):
            Cue.decode(bytes(raw), check_crc=False)
