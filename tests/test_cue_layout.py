"""The declaration engine: a layout's names (and its XML face's) are checked when its class is
defined, and one XML engine writes and reads any declared face."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from scte35lab.cue.commands import InsertComponent
from scte35lab.cue.conditions import condition
from scte35lab.cue.layout import If, Repeat, Struct, Sub, count, flag, structure, u
from scte35lab.cue.timing import SpliceTime
from scte35lab.cue.xmlengine import no_outer, read_element, write_element
from scte35lab.cue.xmlface import Child, Face, When, attr, need
from scte35lab.errors import InvalidFieldError


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
