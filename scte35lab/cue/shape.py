"""What the section codec, the validator and the HTML view read of a cue, as a protocol.

They sit below ``cue.py`` (which builds ``Cue`` from them), so they name the shape they
need rather than importing the class back.
"""

from __future__ import annotations

from typing import Any, Protocol

from scte35lab.cue.commands import SpliceCommand
from scte35lab.cue.descriptors import SpliceDescriptor
from scte35lab.cue.problems import Problem


class CueShape(Protocol):
    """The fields of a splice_info_section as ``Cue`` holds them."""

    command: SpliceCommand | None
    descriptors: list[SpliceDescriptor]
    pts_adjustment: int
    section_syntax_indicator: bool
    private_indicator: bool
    sap_type: int
    protocol_version: int
    encrypted_packet: bool
    encryption_algorithm: int
    cw_index: int
    tier: int
    alignment_stuffing: bytes
    command_extra_bytes: bytes
    splice_command_length: int | None
    encrypted_data: bytes | None
    descriptor_loop_length: int | None
    descriptor_loop_rest: bytes
    trailing_bytes: bytes
    problems: tuple[Problem, ...]
    stuffing_dropped: int

    def encode(self) -> bytes:
        """The section's bytes."""
        ...

    def to_base64(self) -> str:
        """The section's bytes in base64."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """The dict form."""
        ...
