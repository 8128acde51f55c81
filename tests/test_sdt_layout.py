"""The SDT is declared with the codec's one declaration engine: its sections read and write
bit-exactly, and a malformed one is refused with an error naming the syntax element."""

from __future__ import annotations

import pytest

from scte35lab.errors import TruncatedError
from scte35lab.ts.packetize import SectionPacketizer
from scte35lab.ts.psi import with_crc
from scte35lab.ts.sdt import SDT_PID, Sdt, SdtService, ServiceDescriptor, ServiceNamer


def _section() -> bytes:
    return Sdt(0x0102, 0xFF01, [SdtService(1), SdtService(2)]).named("Lab", "ACME").build()


def test_the_sdt_layout_writes_the_en_300_468_bit_positions() -> None:
    section = Sdt(0x0102, 0xFF01, [SdtService(0x0304, running_status=4, free_ca_mode=True)]).build()
    assert section[0] == 0x42
    assert section[1] >> 4 == 0b1111  # section_syntax_indicator, reserved_future_use, reserved
    assert ((section[1] & 0x0F) << 8 | section[2]) == len(section) - 3
    assert section[3:5] == b"\x01\x02" and section[5] == 0b11_00000_1
    assert section[8:11] == b"\xff\x01\xff"  # original_network_id, reserved_future_use
    # service_id, reserved_future_use (6 ones), EIT flags 0 0, running_status 4, free_CA 1
    assert section[11:14] == b"\x03\x04\xfc" and section[14] >> 4 == 0b1001


def test_reserved_bits_read_as_other_than_ones_are_kept_so_a_section_rebuilds_exactly() -> None:
    section = bytearray(_section()[:-4])
    section[10] = 0x00  # reserved_future_use after original_network_id
    section[13] &= 0x03  # a service's reserved_future_use
    section = with_crc(bytes(section))
    sdt = Sdt.parse(section)
    assert sdt.reserved_bits() and sdt.services[0].reserved_bits()
    assert sdt.build() == section


def test_a_descriptor_loop_overrunning_the_section_is_refused_naming_its_length() -> None:
    section = bytearray(_section()[:-4])
    section[14] |= 0x0F  # descriptors_loop_length of the first service: far too long
    with pytest.raises(TruncatedError, match="descriptors_loop_length"):
        Sdt.parse(with_crc(bytes(section)))


def test_a_service_name_cut_short_is_refused_naming_the_name() -> None:
    body = ServiceDescriptor(1, "ACME", "Lab").build()[1]
    with pytest.raises(TruncatedError, match="service_name"):
        ServiceDescriptor.parse(body[:-1])


def test_the_namer_passes_a_crc_valid_but_malformed_sdt_on_unchanged() -> None:
    section = bytearray(_section()[:-4])
    section[14] |= 0x0F
    section = with_crc(bytes(section))
    data = b"".join(SectionPacketizer(SDT_PID).packets(section))
    namer = ServiceNamer("Other")
    assert namer.feed(data) + namer.flush() == data
    assert namer.sections_rewritten == 0
