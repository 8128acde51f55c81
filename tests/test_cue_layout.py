"""The declaration engine: a layout's names (and its XML face's) are checked when its class is
defined, and one XML engine writes and reads any declared face."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from scte35lab.cue.commands import InsertComponent
from scte35lab.cue.conditions import condition
from scte35lab.cue.layout import (
    Cursor,
    If,
    Repeat,
    Struct,
    Sub,
    Writer,
    count,
    flag,
    read_struct,
    reserved,
    structure,
    u,
    write_struct,
)
from scte35lab.cue.timing import SpliceTime
from scte35lab.cue.xmlengine import no_outer, read_element, write_element
from scte35lab.cue.xmlface import Child, Face, When, attr, need
from scte35lab.errors import InvalidFieldError, TruncatedError


def test_a_misspelt_name_in_a_condition_fails_when_the_class_is_defined() -> None:
    with pytest.raises(NameError, match="'splice_evnt_cancel_indicator'"):

        @structure
        class Broken(Struct):
            LAYOUT = (
                flag("splice_event_cancel_indicator"),
                If("not splice_evnt_cancel_indicator", (u("x", 7),)),
            )

            splice_event_cancel_indicator: bool = False
            x: int = 0


def test_a_condition_on_a_field_declared_after_it_fails_when_the_class_is_defined() -> None:
    with pytest.raises(NameError, match="'late'"):

        class Broken(Struct):
            LAYOUT = (If("late", (u("x", 8),)), flag("late"), u("pad", 7))


def test_a_count_that_is_not_declared_fails_when_the_class_is_defined() -> None:
    with pytest.raises(NameError, match="'component_cnt'"):

        class Broken(Struct):
            LAYOUT = (
                count("component_count", 8),
                Repeat("items", InsertComponent, "component_cnt"),
            )


def test_a_nested_structure_needs_the_outer_names_it_reads() -> None:
    # InsertComponent reads splice_immediate_flag from the structure holding it.
    assert InsertComponent.OUTER_NAMES == ("splice_immediate_flag",)
    with pytest.raises(NameError, match="'splice_immediate_flag'"):

        class Broken(Struct):
            LAYOUT = (Sub("component", InsertComponent),)


def test_a_condition_that_is_not_python_fails_when_the_class_is_defined() -> None:
    with pytest.raises(SyntaxError):

        class Broken(Struct):
            LAYOUT = (flag("a"), u("b", 7), If("a ==", (u("x", 8),)))


def test_a_misspelt_name_in_an_xml_face_fails_when_the_class_is_defined() -> None:
    with pytest.raises(NameError, match="'avail_nm'"):

        @structure
        class Broken(Struct):
            LAYOUT = (u("avail_num", 8),)
            XML = Face("Broken", (attr("avail_nm"),))

            avail_num: int = 0


def test_a_misspelt_name_in_an_xml_face_condition_fails_when_the_class_is_defined() -> None:
    with pytest.raises(NameError, match="'cancel'"):

        @structure
        class Broken(Struct):
            LAYOUT = (flag("cancelled"), u("x", 7))
            XML = Face("Broken", (When("not cancel", (attr("x"),)),))

            cancelled: bool = False
            x: int = 0


@structure
class _Tally(Struct):
    """A structure the cue modules do not know: the engine writes and reads it by its face."""

    LAYOUT = (
        flag("cancelled"),
        u("tally_count", 7),
        If("not cancelled", (Sub("splice_time", SpliceTime),)),
    )
    XML = Face(
        "Tally",
        (
            need("tally_count"),
            attr("cancelled"),
            When("not cancelled", (Child("splice_time", SpliceTime),)),
        ),
    )

    cancelled: bool = False
    tally_count: int = 0
    splice_time: SpliceTime | None = None


def test_the_xml_engine_writes_and_reads_any_declared_face() -> None:
    root = ET.Element("root")
    write_element(root, _Tally(False, 5, SpliceTime(90_000)), no_outer)
    (el,) = root
    assert el.get("tallyCount") == "5" and el.get("cancelled") == "false"
    assert [c.get("ptsTime") for c in el] == ["90000"]
    assert read_element(el, _Tally, no_outer) == _Tally(False, 5, SpliceTime(90_000))
    el.set("tallyCount", "128")  # 7 bits
    with pytest.raises(InvalidFieldError, match=r"Tally\.tallyCount"):
        read_element(el, _Tally, no_outer)


def test_conditions_compile_once_to_functions_of_a_getter() -> None:
    test = condition("not splice_event_cancel_indicator and avail_num > 2")
    assert test is condition("not splice_event_cancel_indicator and avail_num > 2")
    values = {"splice_event_cancel_indicator": False, "avail_num": 3}
    assert test(values.__getitem__) is True
    values["avail_num"] = 1
    assert test(values.__getitem__) is False


@structure
class _Packed(Struct):
    """Bit-packed fields on both sides of a condition: one fetched chain on the likely path."""

    LAYOUT = (
        flag("a"),
        u("b", 3),
        reserved(4),
        u("c", 33),
        If("a", (u("d", 7), flag("e")), (reserved(8),)),
        u("z", 13),
    )

    a: bool = False
    b: int = 0
    c: int = 0
    d: int | None = None
    e: bool | None = None
    z: int = 0


def _at_offset(obj: Struct, lead: int) -> tuple[bytes, int]:
    """``obj`` written after ``lead`` bits of 1-0 pattern, padded with ones to a byte."""
    w = Writer()
    w.bits(0b1010101 >> (7 - lead), lead)
    write_struct(obj, w)
    n = w.nbits
    w.bits((1 << (-n % 8)) - 1, -n % 8)
    return w.to_bytes(), n


@pytest.mark.parametrize("lead", range(8))
@pytest.mark.parametrize(
    "obj",
    [_Packed(True, 5, 2**33 - 1, 0x55, False, 0x1ABC), _Packed(False, 0, 1, None, None, 1)],
)
def test_a_generated_reader_gives_the_same_values_at_every_bit_offset(
    obj: _Packed, lead: int
) -> None:
    data, end = _at_offset(obj, lead)
    cur = Cursor(data)
    cur.pos = lead
    got = read_struct(_Packed, cur, end)
    assert got == obj and cur.pos == end and got.reserved_bits() == {}
    assert type(got.a) is bool and (got.e is None or type(got.e) is bool)


@structure
class _Bytes(Struct):
    """Whole-byte integers only: a chain kept as bytes and indexed."""

    LAYOUT = (u("a", 8), u("b", 16), u("c", 32), u("d", 24), u("e", 8))

    a: int = 0
    b: int = 0
    c: int = 0
    d: int = 0
    e: int = 0


@pytest.mark.parametrize("lead", range(8))
def test_a_reader_of_whole_byte_fields_gives_the_same_values_at_every_bit_offset(
    lead: int,
) -> None:
    obj = _Bytes(0xA5, 0xBEEF, 0xDEADBEEF, 0x123456, 0x7F)
    data, end = _at_offset(obj, lead)
    cur = Cursor(data)
    cur.pos = lead
    assert read_struct(_Bytes, cur, end) == obj and cur.pos == end


@pytest.mark.parametrize("lead", [0, 3])
def test_a_generated_reader_refuses_a_structure_one_bit_short(lead: int) -> None:
    data, end = _at_offset(_Packed(True, 5, 7, 1, True, 9), lead)
    cur = Cursor(data)
    cur.pos = lead
    with pytest.raises(TruncatedError):
        read_struct(_Packed, cur, end - 1)


def test_a_generated_reader_keeps_reserved_bits_that_are_not_all_ones() -> None:
    data = bytes([0b0000_0000]) + bytes(4) + bytes([0b0000_0000, 0, 0])
    got = read_struct(_Packed, Cursor(data), 8 * 8 - 2)
    assert got.a is False and got.reserved_bits() == {"reserved_0": 0, "reserved_1": 0}
