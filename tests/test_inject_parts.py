"""The injector's parts keep their promises to each other: the report's declared columns are
the rows' keys, and a cue describes itself for logs."""

from __future__ import annotations

from scte35lab import Cue
from scte35lab.ts.cuerequests import REPORT_COLUMNS, CueRequest, Placement, placement_table


def test_report_columns_are_the_keys_of_a_placement_row():
    row = Placement(CueRequest(Cue.splice_insert(3), at=1.0)).as_row(None)
    assert tuple(row) == REPORT_COLUMNS


def test_report_of_no_placements_has_every_column_typed():
    table = placement_table([], None)
    assert tuple(table.columns) == REPORT_COLUMNS
    assert str(table["splice_pts"].dtype) == "Int64" and table["sends"].dtype == "int64"


def test_a_cue_request_describes_its_command_event_and_label():
    req = CueRequest(Cue.splice_insert(812), at=2.0, label="break 1/out")
    assert req.describe() == "splice_insert 812 (break 1/out)"
