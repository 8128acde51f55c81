"""Property-based proof of the codec: every generated cue survives every face unchanged."""

from __future__ import annotations

import json

from cue_strategies import any_cue
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scte35lab.cue import Cue

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(any_cue)
def test_decode_of_encode_is_the_same_cue(cue: Cue) -> None:
    assert Cue.decode(cue.encode()) == cue


@SETTINGS
@given(any_cue)
def test_from_dict_of_to_dict_is_the_same_cue(cue: Cue) -> None:
    assert Cue.from_dict(cue.to_dict()) == cue


@SETTINGS
@given(any_cue)
def test_json_text_round_trips(cue: Cue) -> None:
    assert Cue.from_json(cue.to_json()) == cue
    assert json.loads(cue.to_json())["table_id"] == 0xFC


@SETTINGS
@given(any_cue)
def test_valid_bytes_reencode_bit_exactly(cue: Cue) -> None:
    data = cue.encode()
    assert Cue.decode(data).encode() == data


@SETTINGS
@given(any_cue, st.sampled_from(["base64", "hex", "hex0x", "bytearray"]))
def test_every_input_form_decodes_to_the_same_cue(cue: Cue, form: str) -> None:
    data = cue.encode()
    given_form = {
        "base64": cue.to_base64(),
        "hex": data.hex(),
        "hex0x": cue.to_hex(),
        "bytearray": bytearray(data),
    }[form]
    assert Cue.decode(given_form) == cue
