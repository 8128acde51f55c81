"""The declaration engine: a layout's names are checked when its class is defined."""

from __future__ import annotations

import pytest

from scte35lab.cue.commands import InsertComponent
from scte35lab.cue.layout import If, Repeat, Struct, Sub, count, flag, structure, u


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
