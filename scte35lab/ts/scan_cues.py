"""The probe's SCTE-35 cues: each splice_info_section as found (on a stream_type 0x86 PID, or
inside the PES of a stream_type 0x06 PID, the way FFmpeg remuxes SCTE-35), with its CRC_32
checked; a 0x06 PID that shows no cue in its first PES is read as frames instead."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from scte35lab.cue.crc import crc32_mpeg2
from scte35lab.ts.pes import pes_section
from scte35lab.ts.psi import AUDIO, SCTE35, section_length
from scte35lab.ts.scan_result import ErrorLog, PidRoles, ScanResult

log = logging.getLogger(__name__)

PES_PROBE_LIMIT = 8  # PES on a stream_type 0x06 PID that are not cues before we stop looking
MAX_CUE_PES = 4096


@dataclass
class _Pes:
    """A PES being collected on a PID whose content we look at (0x06: maybe SCTE-35)."""

    packet: int
    offset: int
    data: bytearray


class CueReader:
    """Cues into ``result.cues``; PES in progress on the PIDs looked into."""

    def __init__(self, result: ScanResult, errors: ErrorLog, roles: PidRoles) -> None:
        self.result = result
        self.errors = errors
        self.roles = roles
        self.pes_probe: dict[int, int] = {}  # 0x06 PID -> PES seen that were not cues
        self.pes_open: dict[int, _Pes] = {}

    def pes_content(self, pid: int, payload: bytes, pusi: bool, packet: int, offset: int) -> None:
        """Collect PES on a PID that may carry SCTE-35 the way FFmpeg remuxes it."""
        if pusi:
            done = self.pes_open.pop(pid, None)
            if done is not None:
                self._pes_done(pid, done)
            self.pes_open[pid] = _Pes(packet, offset, bytearray(payload))
        else:
            cur = self.pes_open.get(pid)
            if cur is None:
                return
            cur.data += payload
            cur.packet, cur.offset = packet, offset
            if len(cur.data) > MAX_CUE_PES:
                self.pes_open.pop(pid)
                self._pes_done(pid, cur)
                return
        cur = self.pes_open.get(pid)
        if cur is not None and len(cur.data) >= 6:
            length = (cur.data[4] << 8) | cur.data[5]
            if length and len(cur.data) >= 6 + length:
                self.pes_open.pop(pid)
                self._pes_done(pid, cur)

    def finish(self) -> None:
        """End of stream: the PES still open end here."""
        for pid, pes in list(self.pes_open.items()):
            self._pes_done(pid, pes)
        self.pes_open.clear()

    def _pes_done(self, pid: int, pes: _Pes) -> None:
        info = self.result.pid_info[pid]
        h, section = pes_section(pes.data)
        # a whole, CRC-valid section makes the PID an SCTE-35 one; once it is, a damaged
        # section on it is still a cue (reported with its CRC)
        whole = section is not None and len(section) == section_length(section)
        found = section is not None and (
            (whole and crc32_mpeg2(section) == 0) or info.carriage == "pes"
        )
        if found:
            if info.carriage != "pes":
                log.info("PID %d carries SCTE-35 as PES (FFmpeg remux form)", pid)
                info.role, info.carriage, info.codec = SCTE35, "pes", "scte_35"
                self.roles.pes[pid] = False
            self.cue(pid, section, pes.packet, pes.offset, carriage="pes", pes_pts=h.pts)
        if not found and info.carriage == "probe":
            seen = self.pes_probe.get(pid, 0) + 1
            self.pes_probe[pid] = seen
            es = pes.data[h.header_length : h.header_length + 2] if h is not None else b""
            if len(es) == 2 and es[0] == 0xFF and es[1] & 0xF6 == 0xF0:
                info.role, info.codec = AUDIO, "aac"  # ADTS syncword, as in M2TS from FFmpeg
                seen = PES_PROBE_LIMIT
            if seen >= PES_PROBE_LIMIT:
                info.carriage = None
                self.roles.section[pid] = False
                self.roles.pes[pid] = True
                info.since = pes.packet + 1

    def cue(
        self,
        pid: int,
        section: bytes,
        packet: int,
        offset: int,
        *,
        carriage: str,
        pes_pts: int | None = None,
    ) -> None:
        """One splice_info_section found at ``packet`` (its CRC_32 checked, not parsed)."""
        ok = crc32_mpeg2(section) == 0
        if not ok:
            what = "SCTE-35 section CRC_32 does not match"
            self.errors.add("scte35_crc_error", 2, packet, offset, pid, what)
        self.result.cues.append(
            {
                "packet": packet,
                "offset": offset,
                "pid": pid,
                "carriage": carriage,
                "pes_pts": pes_pts,
                "section": section,
                "crc_ok": ok,
            }
        )
