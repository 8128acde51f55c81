"""splice_info_section(): the frame around a command and its descriptors, decoded and encoded.

The header is declared like every other structure (:mod:`~scte35lab.cue.section_header`); the
section adds what only it knows: the command dispatch by splice_command_type, the descriptor
loop, alignment stuffing, the encrypted part (kept as bytes) and CRC_32. Reading is
:mod:`~scte35lab.cue.section_read`, writing and value checks :mod:`~scte35lab.cue.section_write`;
this module gives their public names in one place.
"""

from __future__ import annotations

from scte35lab.cue.section_header import (
    HEADER_BYTES,
    HEADER_FIELDS,
    LEGACY_COMMAND_LENGTH,
    MAX_SECTION_BYTES,
    SectionHeader,
)
from scte35lab.cue.section_read import decode_section, plain
from scte35lab.cue.section_write import checked, encode_section
from scte35lab.errors import Scte35Error

__all__ = [
    "HEADER_BYTES",
    "HEADER_FIELDS",
    "LEGACY_COMMAND_LENGTH",
    "MAX_SECTION_BYTES",
    "Scte35Error",
    "SectionHeader",
    "checked",
    "decode_section",
    "encode_section",
    "plain",
]
