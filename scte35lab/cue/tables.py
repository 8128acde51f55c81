"""Names and code points from the standard's tables (ANSI/SCTE 35 2023r1 splice_command_type,
splice_descriptor_tag, segmentation_upid_type and segmentation_type_id).

Section and table numbers cited above each declaration are those of ANSI/SCTE 35 2023r1."""

from __future__ import annotations

CUEI = 0x43554549  # "CUEI": the identifier of every descriptor the standard defines

# §9.6.1, Table 7 - splice_command_type values (0x01-0x03 and 0x08-0xFE reserved).
SPLICE_COMMAND_TYPES: dict[int, str] = {
    0x00: "splice_null",
    0x04: "splice_schedule",
    0x05: "splice_insert",
    0x06: "time_signal",
    0x07: "bandwidth_reservation",
    0xFF: "private_command",
}

# §10.1, Table 17 - splice_descriptor_tag values (0x05-0xEF reserved, 0xF0-0xFF private).
SPLICE_DESCRIPTOR_TAGS: dict[int, str] = {
    0x00: "avail_descriptor",
    0x01: "dtmf_descriptor",
    0x02: "segmentation_descriptor",
    0x03: "time_descriptor",
    0x04: "audio_descriptor",
}

# §10.3.3.1, Table 22 - segmentation_upid_type values (0x12-0xFF reserved). 0x08, once
# "Turner Identifier" (TI), is now AiringID; 0x06 is the versioned ISAN (once V-ISAN).
SEGMENTATION_UPID_TYPES: dict[int, str] = {
    0x00: "Not Used",
    0x01: "User Defined (deprecated)",
    0x02: "ISCI (deprecated)",
    0x03: "Ad-ID",
    0x04: "UMID",
    0x05: "ISAN (deprecated)",
    0x06: "ISAN",
    0x07: "TID",
    0x08: "AiringID",
    0x09: "ADI",
    0x0A: "EIDR",
    0x0B: "ATSC Content Identifier",
    0x0C: "MPU",
    0x0D: "MID",
    0x0E: "ADS Information",
    0x0F: "URI",
    0x10: "UUID",
    0x11: "SCR",
}

# §10.3.3.1, Table 23 - segmentation_type_id values (codes not listed are reserved).
SEGMENTATION_TYPES: dict[int, str] = {
    0x00: "Not Indicated",
    0x01: "Content Identification",
    0x02: "Private",
    0x10: "Program Start",
    0x11: "Program End",
    0x12: "Program Early Termination",
    0x13: "Program Breakaway",
    0x14: "Program Resumption",
    0x15: "Program Runover Planned",
    0x16: "Program Runover Unplanned",
    0x17: "Program Overlap Start",
    0x18: "Program Blackout Override",
    0x19: "Program Start - In Progress",
    0x20: "Chapter Start",
    0x21: "Chapter End",
    0x22: "Break Start",
    0x23: "Break End",
    0x24: "Opening Credit Start",
    0x25: "Opening Credit End",
    0x26: "Closing Credit Start",
    0x27: "Closing Credit End",
    0x30: "Provider Advertisement Start",
    0x31: "Provider Advertisement End",
    0x32: "Distributor Advertisement Start",
    0x33: "Distributor Advertisement End",
    0x34: "Provider Placement Opportunity Start",
    0x35: "Provider Placement Opportunity End",
    0x36: "Distributor Placement Opportunity Start",
    0x37: "Distributor Placement Opportunity End",
    0x38: "Provider Overlay Placement Opportunity Start",
    0x39: "Provider Overlay Placement Opportunity End",
    0x3A: "Distributor Overlay Placement Opportunity Start",
    0x3B: "Distributor Overlay Placement Opportunity End",
    0x3C: "Provider Promo Start",
    0x3D: "Provider Promo End",
    0x3E: "Distributor Promo Start",
    0x3F: "Distributor Promo End",
    0x40: "Unscheduled Event Start",
    0x41: "Unscheduled Event End",
    0x42: "Alternate Content Opportunity Start",
    0x43: "Alternate Content Opportunity End",
    0x44: "Provider Ad Block Start",
    0x45: "Provider Ad Block End",
    0x46: "Distributor Ad Block Start",
    0x47: "Distributor Ad Block End",
    0x50: "Network Start",
    0x51: "Network End",
}

# UPID types whose value is text.
TEXT_UPID_TYPES = frozenset({0x02, 0x03, 0x07, 0x09, 0x0E, 0x0F, 0x11})

# Table 20's condition on sub_segment_num and sub_segments_expected: since 2022 the
# advertisement, placement opportunity and ad block starts. Older encoders leave them out, so a
# reader takes them only when the descriptor has room.
SUB_SEGMENT_TYPES = frozenset({0x30, 0x32, 0x34, 0x36, 0x38, 0x3A, 0x44, 0x46})

# Start types whose end is signalled by a duration or a matching end type; a receiver planning
# the break needs segmentation_duration on these.
DURATION_EXPECTED_TYPES = frozenset({0x22, 0x30, 0x32, 0x34, 0x36, 0x38, 0x3A, 0x44, 0x46})

# Start type -> its end type, used to pair events.
END_OF = {
    t: t + 1
    for t in SEGMENTATION_TYPES
    if SEGMENTATION_TYPES[t].endswith("Start") and t + 1 in SEGMENTATION_TYPES
}


def segmentation_type_name(type_id: int) -> str:
    """The standard's name for a segmentation_type_id, or ``Reserved (0x..)``."""
    return SEGMENTATION_TYPES.get(type_id, f"Reserved (0x{type_id:02X})")


def upid_type_name(upid_type: int) -> str:
    """The standard's name for a segmentation_upid_type, or ``Reserved (0x..)``."""
    return SEGMENTATION_UPID_TYPES.get(upid_type, f"Reserved (0x{upid_type:02X})")


def command_name(command_type: int) -> str:
    """The standard's name for a splice_command_type, or ``reserved_0x..``."""
    return SPLICE_COMMAND_TYPES.get(command_type, f"reserved_0x{command_type:02x}")
