"""CPU and memory of one pipeline: its own process and the children it started, no others.

psutil's ``cpu_percent()`` compares with the previous call *on the same Process object*, so a
new object each second always reads 0 %: the handles are kept between samples.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path

import psutil


def process_key(p: psutil.Process) -> tuple[int, int]:
    """A process's pid and its start in clock ticks since boot, as the kernel keeps it: a
    reused pid is another key. Not ``create_time()``: that adds the boot time, which moves
    when the wall clock is stepped, so the same process would read as a new one."""
    try:
        stat = Path(f"/proc/{p.pid}/stat").read_text()
    except OSError as exc:
        raise psutil.NoSuchProcess(p.pid) from exc
    return p.pid, int(stat.rpartition(")")[2].split()[19])


class CpuMeter:
    """``sample(pids)``: CPU % (of one core) and RSS bytes of this process plus ``pids`` and
    their descendants, since the previous sample."""

    def __init__(self) -> None:
        self._own = psutil.Process()
        self._own.cpu_percent()
        self._handles: dict[tuple[int, int], psutil.Process] = {}

    def _handle(self, pid: int) -> psutil.Process | None:
        try:
            p = psutil.Process(pid)
            key = process_key(p)
        except psutil.Error:
            return None
        h = self._handles.get(key)
        if h is None:
            h = self._handles[key] = p
            with contextlib.suppress(psutil.Error):
                h.cpu_percent()  # the baseline: counts from now on
        return h

    def sample(self, pids: Iterable[int]) -> tuple[float | None, int | None]:
        """(CPU percent, RSS bytes) over the pipeline's process and children."""
        try:
            cpu = self._own.cpu_percent()
            mem = self._own.memory_info().rss
        except psutil.Error:
            return None, None
        seen: dict[tuple[int, int], psutil.Process] = {}
        for pid in set(pids):
            top = self._handle(pid)
            if top is None:
                continue
            with contextlib.suppress(psutil.Error):
                family = [top, *top.children(recursive=True)]
                for child in family:
                    h = child if child is top else self._handle(child.pid)
                    if h is None:
                        continue
                    key = process_key(h)
                    if key in seen:
                        continue
                    seen[key] = h
                    with contextlib.suppress(psutil.Error):
                        cpu += h.cpu_percent()
                        mem += h.memory_info().rss
        self._handles = {k: v for k, v in self._handles.items() if k in seen}
        return cpu, mem
