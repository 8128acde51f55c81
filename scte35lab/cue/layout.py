"""The one declaration engine, as one import: the vocabulary (:mod:`~scte35lab.cue.declare`),
the generated readers (:mod:`~scte35lab.cue.layout_read`) and writers
(:mod:`~scte35lab.cue.layout_write`), the partial reader lenient decoding uses
(:mod:`~scte35lab.cue.layout_partial`), and value checks (:mod:`~scte35lab.cue.layout_check`).

Every binary structure of the project is declared with it: the SCTE-35 section, commands,
descriptors and UPIDs, the DVB SDT (``scte35lab.ts.sdt``) and the ISO BMFF boxes
(``scte35lab.mp4.boxes``).
"""

from __future__ import annotations

from scte35lab.cue.conditions import Getter
from scte35lab.cue.declare import (
    Chars,
    Custom,
    Field,
    If,
    IfRoom,
    Repeat,
    Rest,
    Struct,
    Sub,
    count,
    declared_names,
    derived_flag,
    flag,
    reserved,
    structure,
    u,
)
from scte35lab.cue.layout_check import check_values
from scte35lab.cue.layout_partial import read_partial
from scte35lab.cue.layout_read import (
    Cursor,
    ReadError,
    no_parent,
    read_struct,
    reader_of,
)
from scte35lab.cue.layout_write import Writer, encode_struct, write_struct, writer_of
from scte35lab.errors import Scte35Error

__all__ = [
    "Chars",
    "Cursor",
    "Custom",
    "Field",
    "Getter",
    "If",
    "IfRoom",
    "ReadError",
    "Repeat",
    "Rest",
    "Scte35Error",
    "Struct",
    "Sub",
    "Writer",
    "check_values",
    "count",
    "declared_names",
    "derived_flag",
    "encode_struct",
    "flag",
    "no_parent",
    "read_partial",
    "read_struct",
    "reader_of",
    "reserved",
    "structure",
    "u",
    "write_struct",
    "writer_of",
]
