"""The pipeline's CPU meter keys each process by the kernel's record of its start."""

from __future__ import annotations

import os
import subprocess
import time

import psutil

from scte35lab.live.cpumeter import CpuMeter, process_key


def test_a_process_key_is_its_pid_and_kernel_start_tick_so_a_clock_step_cannot_move_it():
    me = psutil.Process()
    pid, ticks = process_key(me)
    assert pid == os.getpid()
    hz = os.sysconf("SC_CLK_TCK")
    assert abs(psutil.boot_time() + ticks / hz - me.create_time()) < 1.0
    assert process_key(psutil.Process()) == (pid, ticks)


def test_a_gone_process_has_no_key():
    child = subprocess.Popen(["true"])
    handle = psutil.Process(child.pid)
    child.wait()
    try:
        process_key(handle)
    except psutil.NoSuchProcess:
        return
    raise AssertionError("a reaped process still had a key")


def test_the_meter_counts_a_busy_child_it_was_given():
    child = subprocess.Popen(["sh", "-c", "while :; do :; done"])
    try:
        meter = CpuMeter()
        meter.sample([child.pid])
        time.sleep(0.5)
        cpu, rss = meter.sample([child.pid])
        assert cpu is not None and cpu > 30, cpu
        assert rss is not None and rss > 0
    finally:
        child.kill()
        child.wait()
