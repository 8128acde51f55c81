"""The injector's parts keep their promises to each other: the report's declared columns are
the rows' keys, a cue describes itself for logs, and the PSI side follows PAT and PMT as
every stage does."""

from __future__ import annotations

import pytest

from scte35lab import Cue
from scte35lab.errors import StreamError
from scte35lab.ts.cuerequests import REPORT_COLUMNS, CueRequest, Placement, placement_table
from scte35lab.ts.inject import Injector
from scte35lab.ts.packetize import SectionPacketizer
from scte35lab.ts.psi import EsInfo, Pat, Pmt, with_crc


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


def _pmt_that_does_not_parse() -> bytes:
    """A PMT with a good CRC_32 whose program_info_length overruns the section."""
    pmt = Pmt(1, 0x101, [EsInfo(0x1B, 0x101)]).build()
    body = bytearray(pmt[:-4])
    body[10], body[11] = 0xF3, 0xFF
    return with_crc(bytes(body))


def test_a_pmt_that_does_not_parse_stops_the_injector_naming_program_pid_and_field():
    pat = SectionPacketizer(0).packets(Pat(programs={1: 0x100}).build())
    pmt = SectionPacketizer(0x100).packets(_pmt_that_does_not_parse())
    inj = Injector([CueRequest(Cue.splice_insert(1), at=1.0)])
    with pytest.raises(StreamError, match=r"program 1's PMT on PID 256 .*program_info_length"):
        inj.feed(b"".join(pat + pmt))
