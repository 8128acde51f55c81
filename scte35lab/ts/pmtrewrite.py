"""The injector's PSI side: it follows PAT and PMT, rewrites its PMT, owns the SCTE-35 PID.

:class:`PmtRewriter` reads the PAT and PMT packets the injector hands it and replaces the
program's PMT packets, where they stand in the held output, with a PMT that declares the
SCTE-35 stream (stream_type 0x86 with a cue_identifier_descriptor, ANSI/SCTE 35 8.2) and
carries a ``CUEI`` registration_descriptor; its version_number is the input's + 1, then goes
up by one only when the rewritten content changes. It chooses the SCTE-35 PID and keeps its
packetizer (the PID's continuity_counter), and says what to do with SCTE-35 packets the
input already carries (``existing``: add, replace, keep).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scte35lab.errors import StreamError
from scte35lab.ts.heldoutput import RECC, Segment
from scte35lab.ts.packetize import SectionPacketizer
from scte35lab.ts.packets import SYNC_BYTE, TS_PACKET_SIZE
from scte35lab.ts.psi import (
    CUEI,
    PAT_PID,
    PMT_TABLE_ID,
    REGISTRATION_DESCRIPTOR_TAG,
    SCTE35_STREAM_TYPE,
    VIDEO_STREAM_TYPES,
    EsInfo,
    Pat,
    Pmt,
    PsiFollower,
    crc_ok,
    registration_descriptor,
    with_crc,
)
from scte35lab.ts.sections import PidSections, SectionAssembler

log = logging.getLogger(__name__)

CUE_IDENTIFIER_TAG = 0x8A
CUE_STREAM_ALL_COMMANDS = 0x01
DEFAULT_PID = 500
EXISTING_MODES = ("add", "replace", "keep")
NULL_PACKET = bytes([SYNC_BYTE, 0x1F, 0xFF, 0x10]) + b"\xff" * 184


@dataclass
class _PmtCollect:
    seg_rows: list[tuple[Segment, int]]
    assembler: SectionAssembler
    first_cc: int
    af: bytes | None


class PmtRewriter:
    """PAT following, PMT rewriting and the SCTE-35 PID (see the module doc).

    ``requested_pid``: the SCTE-35 PID asked for (None: chosen when the PMT comes);
    ``program``: the program_number to inject into (None: the first in the PAT);
    ``on_video(stream_type)``: called when the PMT puts the video on a new PID.
    """

    def __init__(
        self,
        requested_pid: int | None,
        existing: str,
        program: int | None,
        on_video: Callable[[int], None],
    ) -> None:
        self.requested_pid = requested_pid
        self.existing = existing
        self.program = program
        self.pmt_pid: int | None = None
        self.pid: int | None = None  # the SCTE-35 PID, once chosen
        self.video_pid: int | None = None
        self.video_codec: int | None = None
        self.cue_out: SectionPacketizer | None = None  # the SCTE-35 PID's packets
        self._on_video = on_video
        self._existing_pids: set[int] = set()
        self._seen_pids = np.zeros(8192, dtype=bool)
        self._chunk_pid = np.zeros(0, dtype=np.uint16)
        self._chunk_row = 0
        self._psi = PsiFollower()  # PAT and PMT, followed as every stage follows them
        self._pat_sections = PidSections()
        self._pat_last: bytes | None = None
        self._pmt_cache: dict[bytes, bytes] = {}
        self._pmt_collect: _PmtCollect | None = None
        self._pmt_cc: int | None = None
        self._pmt_last: bytes | None = None
        self._pmt_last_section = b""
        self._pmt_version: int | None = None  # version_number of the last PMT sent
        self._pmt_content: bytes | None = None  # that PMT without version and CRC_32
        self._cue_cc = 0  # the SCTE-35 PID's first continuity_counter

    def continue_from(self, prev: PmtRewriter) -> None:
        """Go on from ``prev``'s output: its SCTE-35 PID (unless one was asked for) and
        that PID's counter, and its PMT version line."""
        if self.requested_pid is None:
            self.requested_pid = prev.pid if prev.pid is not None else prev.requested_pid
        if prev.cue_out is not None and prev.cue_out.pid == self.requested_pid:
            self._cue_cc = prev.cue_out.cc
        self._pmt_version = prev._pmt_version
        self._pmt_content = prev._pmt_content

    # ------------------------------------------------------------------- per chunk

    def start_chunk(self, pid: np.ndarray) -> None:
        """A chunk's packets are coming, whose PIDs are ``pid``."""
        self._chunk_pid = pid

    def end_chunk(self) -> None:
        """The chunk's packets have all been read."""
        self._seen_pids[self._chunk_pid] = True

    def psi_rows(self, pid: np.ndarray) -> np.ndarray:
        """Which of the packets with PIDs ``pid`` are the PAT or our PMT."""
        psi = pid == PAT_PID
        if self.pmt_pid is not None:
            psi |= pid == self.pmt_pid
        return psi

    def claim(self, seg: Segment, pids: np.ndarray, a: int) -> None:
        """The SCTE-35 packets among ``pids`` (the PIDs of ``seg``'s rows from ``a``): a
        clash with our PID is refused; the input's own cues on it take our counter
        (``add``) or become null packets (``replace``)."""
        if self.pid is None:
            return
        mine = np.flatnonzero(pids == self.pid)
        if len(mine) and self.pid not in self._existing_pids:
            raise StreamError(
                f"PID {self.pid} chosen for SCTE-35 is used by the input: give another pid"
            )
        if self.existing not in ("add", "replace"):
            return
        for xp in self._existing_pids:
            if self.existing == "add" and xp != self.pid:
                continue  # another SCTE-35 PID: not ours to touch
            content = RECC if self.existing == "add" else NULL_PACKET
            for r in (np.flatnonzero(pids == xp) + a).tolist():
                seg.set_content(r, content)

    def packet(self, seg: Segment, rows: np.ndarray, head: np.ndarray, i: int) -> bool:
        """Handle the PAT or PMT packet at row ``i``; True when what follows it must be read
        differently (a new PMT PID, video PID or SCTE-35 PID)."""
        self._chunk_row = i
        pid = int(self._chunk_pid[i])
        h = int(head[i])
        afc = (h >> 4) & 3
        if not afc & 1:
            return False
        start = 4 if afc == 1 else 5 + int(rows[i, 4])
        payload = rows[i, start:TS_PACKET_SIZE].tobytes()
        pusi = bool((h >> 22) & 1)
        if pid == PAT_PID:
            if pusi and payload == self._pat_last:
                return False
            changed = False
            for section in self._pat_sections.push(PAT_PID, payload, pusi):
                pat = self._psi.section(PAT_PID, section)
                if isinstance(pat, Pat):
                    changed |= self._pat(pat)
            if pusi:
                self._pat_last = payload
            return changed
        af = rows[i, 5:start].tobytes() if afc == 3 and start > 5 else None
        return self._pmt_packet(seg, i, payload, pusi, h & 0x0F, af)

    # ------------------------------------------------------------------------ PSI

    def _pat(self, pat: Pat) -> bool:
        programs = pat.pmt_pids
        if not programs:
            return False
        number = self.program if self.program is not None else min(programs)
        if number not in programs:
            raise StreamError(f"program {number} is not in the PAT (has {sorted(programs)})")
        pmt_pid = programs[number]
        if pmt_pid != self.pmt_pid:
            log.debug("program %d: PMT on PID %d", number, pmt_pid)
            self.pmt_pid = pmt_pid
            self.program = number
            self._pmt_cc = None  # a new PID: its own continuity
            self._pmt_last = None
            self._pmt_collect = None
            return True
        return False

    def _pmt_packet(
        self, seg: Segment, i: int, payload: bytes, pusi: bool, cc: int, af: bytes | None
    ) -> bool:
        """Replace the PMT packets of our program with the rewritten PMT, where they stand."""
        if pusi:
            if self._pmt_collect is not None:
                log.debug("PMT section cut short: its packets pass unchanged")
            self._pmt_collect = None
            if payload and payload[0] == 0 and payload == self._pmt_last:
                new = self._pmt_cache[self._pmt_last_section]  # same PMT, same packet
                self._pmt_emit([(seg, i)], new, cc, af)
                return False
            if not payload or payload[0] != 0:
                return False  # a section ending here first: leave these packets as they are
            self._pmt_collect = _PmtCollect([], SectionAssembler(), cc, af)
        if self._pmt_collect is None:
            return False
        col = self._pmt_collect
        col.seg_rows.append((seg, i))
        sections = col.assembler.push(payload, pusi)
        if not sections:
            if len(col.seg_rows) > 8:
                self._pmt_collect = None
            return False
        self._pmt_collect = None
        section = sections[0]
        if section[0] != PMT_TABLE_ID or not crc_ok(section):
            return False
        changed = False
        new = self._pmt_cache.get(section)
        if new is None:
            number = (section[3] << 8) | section[4]
            if number == self.program:
                new, changed = self._rewrite_pmt(self._followed_pmt(number, section))
            else:
                new = section  # another program's PMT on the same PID: as it was
            self._pmt_cache[section] = new
        if len(col.seg_rows) == 1:
            self._pmt_last = payload
            self._pmt_last_section = section
        else:
            self._pmt_last = None
        self._pmt_emit(col.seg_rows, new, col.first_cc, col.af)
        return changed

    def _pmt_emit(
        self, seg_rows: list[tuple[Segment, int]], section: bytes, cc: int, af: bytes | None
    ) -> None:
        """The section's packets in place of the original's, with this stage's counter
        (starting where the input's was). An adaptation field the original first packet
        carried (a PCR on the PMT PID) goes out first, in an adaptation-only packet."""
        if self._pmt_cc is None:
            self._pmt_cc = cc
        pmt_pid = self.pmt_pid
        packer = SectionPacketizer(pmt_pid, self._pmt_cc)
        packets = packer.packets(section)
        if af and af[0]:  # flags set (a PCR, a discontinuity), not mere stuffing
            cc_before = (self._pmt_cc - 1) & 0x0F  # no payload: the counter stays
            head = bytes([SYNC_BYTE, pmt_pid >> 8, pmt_pid & 0xFF, 0x20 | cc_before])
            packets.insert(0, head + bytes([183]) + af + b"\xff" * (183 - len(af)))
        self._pmt_cc = packer.cc
        first_seg, first_row = seg_rows[0]
        first_seg.set_content(first_row, b"".join(packets))
        for s, r in seg_rows[1:]:
            s.set_content(r, None)

    def _followed_pmt(self, number: int, section: bytes) -> Pmt:
        """Program ``number``'s PMT from ``section``, as the shared follower took it (the
        injector follows PAT and PMT as every stage does); one that does not parse stops
        the injection, naming why."""
        pmt = self._psi.section(self.pmt_pid, section)
        if isinstance(pmt, Pmt):
            return pmt
        known = self._psi.programs.get(number)
        if known is not None and self._psi.last_sections.get(self.pmt_pid) == section:
            return known  # the same PMT again (its rewrite was made for an older version)
        why = self._psi.refusal.detail if self._psi.refusal is not None else "not followed"
        raise StreamError(f"program {number}'s PMT on PID {self.pmt_pid} cannot be read: {why}")

    def _rewrite_pmt(self, pmt: Pmt) -> tuple[bytes, bool]:
        """The PMT with the SCTE-35 stream and CUEI; True if the video or SCTE-35 PIDs
        changed (what follows must be read with the new layout)."""
        old = (self.video_pid, self.pid, frozenset(self._existing_pids))
        video = next((es for es in pmt.streams if es.stream_type in VIDEO_STREAM_TYPES), None)
        if video is not None and video.elementary_pid != self.video_pid:
            self.video_pid = video.elementary_pid
            self.video_codec = video.stream_type
            self._on_video(self.video_codec)
            log.debug("video on PID %d (stream_type 0x%02x)", self.video_pid, self.video_codec)
        existing = {es.elementary_pid for es in pmt.streams if es.stream_type == SCTE35_STREAM_TYPE}
        if self.pid is None:
            self._choose_pid(pmt, existing)
        elif self.existing == "keep" and self.pid in existing:
            raise StreamError(
                f"the input's PMT now declares SCTE-35 on PID {self.pid}, which this injector "
                "uses (existing='keep'): give another pid"
            )
        self._existing_pids = existing if self.existing != "keep" else set()
        used = {es.elementary_pid for es in pmt.streams} | {pmt.pcr_pid}
        if self.pid in used and self.pid not in existing:
            raise StreamError(
                f"PID {self.pid} is already used by the input's PMT: give another pid"
            )
        streams = list(pmt.streams)
        if self.existing == "replace":
            streams = [
                es
                for es in streams
                if es.stream_type != SCTE35_STREAM_TYPE or es.elementary_pid == self.pid
            ]
        if not any(es.elementary_pid == self.pid for es in streams):
            cue_identifier = (CUE_IDENTIFIER_TAG, bytes([CUE_STREAM_ALL_COMMANDS]))
            streams.append(EsInfo(SCTE35_STREAM_TYPE, self.pid, [cue_identifier]))
        descriptors = list(pmt.program_descriptors)
        if not any(
            tag == REGISTRATION_DESCRIPTOR_TAG and body[:4] == CUEI.encode()
            for tag, body in descriptors
        ):
            descriptors.append(registration_descriptor(CUEI))
        new = Pmt(
            program_number=pmt.program_number,
            pcr_pid=pmt.pcr_pid,
            streams=streams,
            program_descriptors=descriptors,
            version_number=(pmt.version_number + 1) & 0x1F,
            current_next_indicator=pmt.current_next_indicator,
        ).build()
        now = (self.video_pid, self.pid, frozenset(self._existing_pids))
        return self._versioned(new), now != old

    def _versioned(self, section: bytes) -> bytes:
        """``section`` with this stage's own PMT version_number: the last one sent if the
        content is the same, else one more (the first: the input's + 1, as built)."""
        content = section[:5] + bytes([section[5] & 0xC1]) + section[6:-4]
        if self._pmt_content is None:
            version = (section[5] >> 1) & 0x1F
        elif content == self._pmt_content:
            version = self._pmt_version
        else:
            version = (self._pmt_version + 1) & 0x1F
        if content != self._pmt_content:
            log.debug("PMT content changed: version_number %d", version)
            self._pmt_cache.clear()  # earlier rewrites carry an older version
        self._pmt_content = content
        self._pmt_version = version
        head = section[:5] + bytes([(section[5] & 0xC1) | (version << 1)])
        return with_crc(head + section[6:-4])

    def _choose_pid(self, pmt: Pmt, existing: set[int]) -> None:
        if self.requested_pid is not None:
            pid = self.requested_pid
        elif existing and self.existing in ("add", "replace"):
            pid = min(existing)
        else:
            # PIDs declared or seen so far (not later in this chunk: the choice must not
            # depend on how the input is cut into feeds)
            used = {es.elementary_pid for es in pmt.streams} | {pmt.pcr_pid, self.pmt_pid}
            used |= set(np.unique(self._chunk_pid[: self._chunk_row]).tolist())
            pid = DEFAULT_PID
            while pid in used or self._seen_pids[pid]:
                pid += 1
        self.pid = pid
        self.cue_out = SectionPacketizer(pid, self._cue_cc if pid == self.requested_pid else 0)
        log.debug("SCTE-35 on PID %d", pid)


__all__ = [
    "CUE_IDENTIFIER_TAG",
    "CUE_STREAM_ALL_COMMANDS",
    "DEFAULT_PID",
    "EXISTING_MODES",
    "NULL_PACKET",
    "PmtRewriter",
]
