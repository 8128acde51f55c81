"""The passthrough filler's clock: what goes out while the input is lost keeps the PCR
running at most 40 ms a step, however late its thread is woken."""

from __future__ import annotations

import time

import numpy as np

from scte35lab.clock import PCR_HZ
from scte35lab.live.filler import PCR_EVERY_S, InputLossFiller, pcr_packet
from scte35lab.ts.packets import packet_table

PCR_PID = 0x100


def _pcrs(data: bytes) -> np.ndarray:
    rows = np.frombuffer(data, dtype=np.uint8).reshape(-1, 188)
    t = packet_table(rows)
    return t.pcr[t.pid[t.pcr_index] == PCR_PID]


def _filler_after_a_pcr(pcr: int) -> InputLossFiller:
    filler = InputLossFiller()
    filler.observe(pcr_packet(PCR_PID, 0, pcr) * 50, None)
    return filler


def test_a_late_first_fill_sends_the_pcrs_it_missed_at_most_40_ms_apart():
    filler = _filler_after_a_pcr(27_000_000)
    time.sleep(0.15)  # the output went quiet longer than a PCR interval before the fill
    filler.start()
    pcrs = _pcrs(filler.fill(0.02))
    steps = np.diff(np.concatenate([[27_000_000], pcrs])) / PCR_HZ
    assert len(pcrs) >= 3 and (steps > 0).all() and steps.max() <= PCR_EVERY_S + 1e-6
    assert pcrs[-1] / PCR_HZ - 1.0 >= 0.15


def test_a_late_fill_during_the_loss_keeps_the_steps_too():
    filler = _filler_after_a_pcr(0)
    filler.start()
    first = _pcrs(filler.fill(0.02))
    time.sleep(0.2)  # the fill thread was not scheduled for 200 ms
    later = _pcrs(filler.fill(0.02))
    steps = np.diff(np.concatenate([first, later])) / PCR_HZ
    assert len(later) >= 4 and (steps > 0).all() and steps.max() <= PCR_EVERY_S + 1e-6


def test_a_fill_on_time_sends_one_pcr_at_wall_clock_pace():
    filler = _filler_after_a_pcr(0)
    filler.start()
    t0 = time.monotonic()
    pcrs = _pcrs(filler.fill(0.02))
    assert len(pcrs) == 1 and 0 <= pcrs[0] / PCR_HZ <= time.monotonic() - t0 + 0.05
