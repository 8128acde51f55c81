"""The probe's section reading: the sections of the PAT, PMT and SCTE-35 PIDs of a chunk, in
packet order. PAT and PMT are followed through the shared
:class:`~scte35lab.ts.psi.PsiFollower` (as the demux and the injector follow them), whose
refusals become the probe's findings; each PMT gives the PIDs their roles."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scte35lab.ts.packets import NULL_PID, TS_PACKET_SIZE, PacketTable
from scte35lab.ts.psi import (
    AUDIO,
    CRC_ERROR,
    CUEI,
    OTHER,
    PARSE_ERROR,
    PAT_PID,
    SCTE35,
    SCTE35_TABLE_ID,
    VIDEO,
    WRONG_TABLE,
    Pat,
    Pmt,
    PsiFollower,
    classify_stream,
)
from scte35lab.ts.scan_checks import TransportChecks
from scte35lab.ts.scan_cues import CueReader
from scte35lab.ts.scan_result import PSI, ErrorLog, PidInfo, PidRoles, ScanResult
from scte35lab.ts.sections import PidSections


@dataclass(eq=False)
class SectionReader:
    """The sections of each PID assembled, the PSI they give to ``follower``, and the packets
    that repeat the last PAT or PMT packet byte for byte (only their arrival is noted)."""

    result: ScanResult
    errors: ErrorLog
    roles: PidRoles
    checks: TransportChecks
    cues: CueReader
    follower: PsiFollower
    assemblers: PidSections = field(default_factory=PidSections)
    repeat: dict[int, bytes | None] = field(default_factory=dict)  # PID -> last PSI payload
    bad: bool = False  # a section of the packet being read had a wrong CRC_32

    def __post_init__(self) -> None:
        self.roles.section[PAT_PID] = True

    def read(
        self,
        rows: np.ndarray,
        t: PacketTable,
        groups: dict[int, np.ndarray],
        base: int,
        offset0: int,
        ps: int,
    ) -> None:
        """The section packets of a chunk, in order; a new PMT changes the roles of the
        packets after it."""
        n = len(rows)
        skip = self._repeats(rows, t, groups, base, offset0, ps)
        start = 0
        while start < n:
            mask = self.roles.section[t.pid[start:]] & (t.payload_len[start:] > 0)
            if skip is not None:
                mask &= ~skip[start:]
            idx = np.flatnonzero(mask) + start
            changed_at = None
            for i in idx.tolist():
                if self._packet(rows, t, i, base, offset0, ps):
                    changed_at = i + 1
                    break
            if changed_at is None:
                break
            start = changed_at

    def truncated(self, packet: int) -> None:
        """End of stream: a section still being assembled is a finding."""
        for pid, asm in self.assemblers.items():
            if asm.in_progress:
                what = "stream ends inside a section"
                self.errors.add("section_truncated", 2, packet, None, pid, what)

    def _repeats(self, rows, t, groups, base, offset0, ps) -> np.ndarray | None:
        """Packets that repeat the last PAT/PMT packet byte for byte, up to the first that
        does not: they need no parsing, only their arrival is recorded."""
        skip = None
        for pid, last in self.repeat.items():
            g = groups.get(pid)
            if last is None or g is None or len(last) != TS_PACKET_SIZE - 4:
                continue
            same = (t.payload_start[g] == 4) & t.pusi[g]
            same &= (rows[g, 4:TS_PACKET_SIZE] == np.frombuffer(last, dtype=np.uint8)).all(axis=1)
            stop = np.argmin(same) if not same.all() else len(same)
            if not stop:
                continue
            hit = g[:stop]
            if skip is None:
                skip = np.zeros(len(rows), dtype=bool)
            skip[hit] = True
            self.checks.arrived_many(pid, (hit + base).tolist(), (hit * ps + offset0).tolist())
        return skip

    def _packet(self, rows, t, i, base, offset0, ps) -> bool:
        """Handle one payload packet on a section PID; True if PSI roles changed."""
        pid = int(t.pid[i])
        if not self.roles.section[pid]:
            return False  # its role changed earlier in this chunk
        info = self.result.pid_info.get(pid)
        payload = rows[i, int(t.payload_start[i]) : TS_PACKET_SIZE].tobytes()
        pusi = bool(t.pusi[i])
        packet, offset = base + i, offset0 + i * ps
        if info is not None and info.carriage in ("pes", "probe"):
            self.cues.pes_content(pid, payload, pusi, packet, offset)
            return False
        asm = self.assemblers.assembler(pid)
        psi = info is None or info.role == PSI
        if psi and pusi and not asm.in_progress and payload == self.repeat.get(pid):
            # PAT/PMT repeat byte for byte: nothing new but its arrival
            self.checks.arrived(pid, packet, offset)
            return False
        changed = False
        self.bad = False
        for section in asm.push(payload, pusi):
            changed |= self._section(pid, section, packet, offset)
        if psi and pusi:
            ok = not asm.in_progress and not self.bad and payload[0] == 0
            self.repeat[pid] = payload if ok else None
        return changed

    def _section(self, pid: int, section: bytes, packet: int, offset: int) -> bool:
        info = self.result.pid_info.get(pid)
        if info is not None and info.role == SCTE35:
            if section[0] == SCTE35_TABLE_ID:
                self.cues.cue(pid, section, packet, offset, carriage="section")
            return False
        follower = self.follower
        pmt_pids = follower.pmt_pids
        table = follower.section(pid, section)
        refusal = follower.refusal
        if refusal is not None and refusal.reason == CRC_ERROR:
            self.bad = True
            self.errors.add("crc_error", 2, packet, offset, pid, refusal.detail)
            return False
        self.checks.arrived(pid, packet, offset)
        if isinstance(table, Pat):
            self.result.pat = table
            return follower.pmt_pids != pmt_pids and self._pat(follower.pmt_pids, packet)
        if isinstance(table, Pmt):
            return self._pmt(pid, table, packet, offset)
        if refusal is not None and (
            refusal.reason == PARSE_ERROR or (refusal.reason == WRONG_TABLE and pid == PAT_PID)
        ):
            kind = "pat_error" if pid == PAT_PID else "pmt_error"
            self.errors.add(kind, 1, packet, offset, pid, refusal.detail)
        return False

    def _pat(self, pmt_pids: dict[int, int], packet: int) -> bool:
        for pid, number in pmt_pids.items():
            self.roles.section[pid] = True
            self.result.pid_info[pid] = PidInfo(
                pid, PSI, program_number=number, codec="pmt", since=packet
            )
        return True

    def _pmt(self, pid: int, pmt: Pmt, packet: int, offset: int) -> bool:
        r = self.result
        old = r.programs.get(pmt.program_number)
        if old is not None:
            versions = f"{old.version_number} -> {pmt.version_number}"
            what = f"program {pmt.program_number} PMT version {versions}"
            self.errors.add("pmt_change", 0, packet, offset, pid, what)
        r.programs[pmt.program_number] = pmt
        cuei = pmt.registration == CUEI
        roles = self.roles
        for es in pmt.streams:
            epid = es.elementary_pid
            st = es.stream_type
            reg = es.registration
            kind = classify_stream(st, es.descriptors, reg)
            role, codec = kind.role, kind.codec
            carriage = "section" if role == SCTE35 else "probe" if kind.private else None
            prev = r.pid_info.get(epid)
            if prev is not None and prev.carriage == "pes" and st == 0x06:
                role, carriage, codec = SCTE35, "pes", "scte_35"
            since = prev.since if prev is not None and prev.role == role else packet
            r.pid_info[epid] = PidInfo(
                epid,
                role,
                program_number=pmt.program_number,
                stream_type=st,
                codec=codec,
                registration=reg or (None if not cuei or role != SCTE35 else CUEI),
                carriage=carriage,
                since=since,
            )
            roles.section[epid] = role == SCTE35 or carriage == "probe"
            roles.pes[epid] = role in (VIDEO, AUDIO) or (role == OTHER and carriage is None)
            roles.video[epid] = role == VIDEO
        if pmt.pcr_pid != NULL_PID and pmt.pcr_pid not in r.pid_info:
            r.pid_info[pmt.pcr_pid] = PidInfo(
                pmt.pcr_pid, OTHER, program_number=pmt.program_number, codec="pcr", since=packet
            )
        return True
