"""CueInspector, driven from Python: what it holds and shows after each paste and edit."""

from __future__ import annotations

import json

from scte35lab import Cue
from scte35lab.widgets import CueInspector
from scte35lab.widgets.cue_inspector import path_text

OUT = Cue.splice_insert(7, pts_time=900_000, break_duration=2_700_000)


def test_pasting_base64_shows_the_decoded_tree_and_bytes():
    w = CueInspector()
    w.source.value = OUT.to_base64()
    assert w.cue == Cue.decode(OUT.to_base64())
    assert "splice_event_id" in w.tree.value and ">7<" in w.tree.value
    assert w.base64.value == OUT.to_base64()
    assert w.hex.value == OUT.to_hex()
    assert w.message.value == ""


def test_pasting_hex_decodes_to_the_same_cue_as_base64():
    w = CueInspector(OUT.to_hex())
    assert w.base64.value == OUT.to_base64()
    assert "splice_insert" in w.summary.value


def test_setting_a_field_re_encodes_the_cue_with_a_new_crc():
    w = CueInspector(OUT.to_base64())
    w.field.value = ("splice_command", "splice_event_id")
    assert w.value.value == "7"
    w.value.value = "9"
    w.set_button.click()
    expected = Cue.splice_insert(9, pts_time=900_000, break_duration=2_700_000)
    assert w.base64.value == expected.to_base64()
    assert w.cue.splice_event_id == 9
    assert w.message.value == ""


def test_computed_fields_are_not_offered_for_editing():
    w = CueInspector(OUT)
    names = [path_text(p) for _label, p in w.field.options]
    assert "splice_command.splice_time.pts_time" in names
    assert not any(n.endswith("_seconds") for n in names)
    assert "splice_point" not in names and "splice_command_type" not in names


def test_a_bad_paste_shows_the_error_in_place_and_keeps_the_last_cue():
    w = CueInspector(OUT.to_base64())
    w.source.value = "this is not a cue"
    assert "not a cue" in w.message.value
    assert w.cue == OUT and w.base64.value == OUT.to_base64()


def test_a_value_out_of_range_is_refused_in_place():
    w = CueInspector(OUT)
    ok = w.set_field("splice_command.splice_event_id", str(2**40))
    assert ok is False
    assert "does not fit in 32" in w.message.value
    assert w.cue.splice_event_id == 7


def test_editing_the_json_re_encodes_the_cue():
    w = CueInspector(OUT)
    d = json.loads(w.json.value)
    d["pts_adjustment"] = 450
    w.json.value = json.dumps(d)
    assert w.cue.pts_adjustment == 450
    assert Cue.decode(w.base64.value).splice_point == 900_450


def test_the_standards_warnings_are_shown_next_to_the_cue():
    w = CueInspector(Cue.splice_insert(7, pts_time=900_000).to_hex())
    assert "without break_duration" in w.summary.value


def test_fields_carry_a_human_label_beside_the_standard_name():
    w = CueInspector(OUT)
    labels = dict((path_text(p), label) for label, p in w.field.options)
    assert labels["splice_command.out_of_network_indicator"] == (
        "splice_command.out_of_network_indicator (out of network (start of break))"
    )
    table = w.fields.value
    assert "<td style='font-family:monospace'>splice_command.splice_time.pts_time</td>" in table
    assert "<td>splice time (90 kHz ticks)</td>" in table
    pts = OUT.pts_time
    assert f"{pts} <span style='color:#57606a'>({pts / 90_000:.3f} s)</span>" in table
    assert "<td>pts_adjustment</td>" not in table  # raw names are never the only text
    assert "PTS adjustment" in table
    assert "<td>splice_command_type</td><td>command type</td>" in table.replace(
        "<td style='font-family:monospace'>", "<td>"
    )
