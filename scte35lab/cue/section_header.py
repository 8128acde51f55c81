"""The fixed head of splice_info_section(): its declaration and the numbers that frame a section
(header length, the legacy command length, the largest section), shared by the reader
(:mod:`~scte35lab.cue.section_read`) and the writer (:mod:`~scte35lab.cue.section_write`)."""

from __future__ import annotations

from scte35lab.cue.layout import Struct, flag, structure, u

LEGACY_COMMAND_LENGTH = 0xFFF
HEADER_BYTES = 14  # table_id .. splice_command_type
MAX_SECTION_BYTES = 4096


# §9.6, Table 5 - splice_info_section(), up to splice_command_length (sap_type: Table 6)
@structure
class SectionHeader(Struct):
    """The fixed fields of splice_info_section() up to splice_command_length."""

    NAME = "splice_info_section"
    LAYOUT = (
        u("table_id", 8),
        flag("section_syntax_indicator"),
        flag("private_indicator"),
        u("sap_type", 2),
        u("section_length", 12),
        u("protocol_version", 8),
        flag("encrypted_packet"),
        u("encryption_algorithm", 6),
        u("pts_adjustment", 33),
        u("cw_index", 8),
        u("tier", 12),
        u("splice_command_length", 12),
    )

    table_id: int = 0xFC
    section_syntax_indicator: bool = False
    private_indicator: bool = False
    sap_type: int = 3
    section_length: int = 0
    protocol_version: int = 0
    encrypted_packet: bool = False
    encryption_algorithm: int = 0
    pts_adjustment: int = 0
    cw_index: int = 0xFF
    tier: int = 0xFFF
    splice_command_length: int = 0


HEADER_FIELDS = (
    "section_syntax_indicator",
    "private_indicator",
    "sap_type",
    "protocol_version",
    "encrypted_packet",
    "encryption_algorithm",
    "pts_adjustment",
    "cw_index",
    "tier",
)


__all__ = [
    "HEADER_BYTES",
    "HEADER_FIELDS",
    "LEGACY_COMMAND_LENGTH",
    "MAX_SECTION_BYTES",
    "SectionHeader",
]
