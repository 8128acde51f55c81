"""The columns of a cues table, declared once below both ``probe()`` (which fills them from a
transport stream) and the playlist and MPD readers (which fill them from manifests)."""

from __future__ import annotations

# The columns of the cues table, in order.
CUE_COLUMNS = [
    "packet",
    "offset",
    "pid",
    "carriage",
    "arrival_pts",
    "arrival_time",
    "pcr",
    "pcr_seconds",
    "pes_pts",
    "splice_command_type",
    "command_name",
    "splice_event_id",
    "out_of_network_indicator",
    "pts_time",
    "pts_adjustment",
    "splice_point",
    "splice_time",
    "preroll",
    "break_duration",
    "break_duration_seconds",
    "segmentation_type_id",
    "segmentation_type_name",
    "segmentation_event_id",
    "segmentation_upid_type",
    "upid",
    "crc_ok",
    "decode_error",
    "base64",
    "key",
]
# Columns of the cues table that may be absent: nullable integers, and seconds as floats.
CUE_INT_COLUMNS = (
    "arrival_pts",
    "pcr",
    "pes_pts",
    "splice_command_type",
    "splice_event_id",
    "pts_time",
    "pts_adjustment",
    "splice_point",
    "break_duration",
    "segmentation_type_id",
    "segmentation_event_id",
    "segmentation_upid_type",
)
CUE_FLOAT_COLUMNS = (
    "arrival_time",
    "pcr_seconds",
    "splice_time",
    "preroll",
    "break_duration_seconds",
)
