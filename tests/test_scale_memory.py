"""What a probe keeps besides its frames and cues stays bounded: PAT/PMT intervals are checked
chunk by chunk (TR 101 290 1.3a / 1.5a) instead of from a list of every PSI arrival, with the
same errors as before, also when the capture is split into ranges."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scale_helpers import assert_same_probe

from scte35lab.analysis import probe
from scte35lab.analysis.probe import Probe
from scte35lab.scale.sources import SourceOpener
from scte35lab.ts.ranges import plan_ranges, scan_range
from scte35lab.ts.scan import MAX_ERRORS_PER_TYPE, Scanner
from scte35lab.ts.stitch import stitch

SAMPLES = Path(__file__).resolve().parent.parent / "sample_streams"


@pytest.fixture(scope="module")
def psi_gaps(tmp_path_factory) -> Path:
    """cues_ok.ts without its PAT and PMT packets in two stretches (3.4 s and ~1.8 s)."""
    data = (SAMPLES / "cues_ok.ts").read_bytes()
    out = bytearray()
    for n in range(len(data) // 188):
        p = data[n * 188 : n * 188 + 188]
        pid = ((p[1] & 0x1F) << 8) | p[2]
        if pid in (0, 4096) and (300 < n < 900 or 1200 < n < 1500):
            continue
        out += p
    path = tmp_path_factory.mktemp("psi") / "psi_gaps.ts"
    path.write_bytes(bytes(out))
    return path


def test_late_pat_and_pmt_are_reported_with_their_intervals(psi_gaps):
    e = probe(psi_gaps).errors
    late = e[e["type"].isin(["pat_error", "pmt_error"])]
    assert list(late["type"]) == ["pat_error", "pmt_error", "pat_error", "pmt_error"]
    assert list(late["detail"])[:2] == [
        "PAT interval 3.400 s > 0.5 s",
        "PMT interval 3.400 s > 0.5 s",
    ]
    assert list(late["packet"]) == [855, 856, 1413, 1414]


def test_no_list_of_psi_arrivals_grows_with_the_capture(psi_gaps):
    sc = Scanner(chunk_bytes=8192)
    with open(psi_gaps, "rb") as f:
        sc.scan_until(f)
    assert sc._psi_arrivals == {}  # only the chunk in hand
    assert {pid: len(v) for pid, v in sc._psi_late.items()} == {0: 2, 4096: 2}
    assert set(sc._psi_clock) == {0, 4096}


def test_late_psi_beyond_the_error_cap_are_counted_not_kept():
    sc = Scanner()
    sc._psi_late[0] = []
    sc._psi_clock[0] = 0
    n = MAX_ERRORS_PER_TYPE + 5
    clock = np.arange(1, n + 1, dtype=np.int64) * 27_000_000  # one a second: all late
    a = np.stack([np.arange(n), np.arange(n) * 188], axis=1)
    sc._psi_gaps(0, a, clock)
    assert len(sc._psi_late[0]) == MAX_ERRORS_PER_TYPE
    assert sc._psi_late_more == {0: 5}
    sc._report_psi_intervals()
    assert sc._error_counts["pat_error"] == n
    assert len(sc.r.errors) == MAX_ERRORS_PER_TYPE


@pytest.mark.parametrize(("parts", "chunk"), [(3, 4096), (5, 9024)])
def test_split_probe_of_late_psi_equals_probe(psi_gaps, parts, chunk):
    opener = SourceOpener(str(psi_gaps))
    with opener() as f:
        rs = plan_ranges(f, opener.size(), parts, chunk_bytes=chunk)
    outs = [scan_range(opener, r, chunk_bytes=chunk) for r in rs]
    result, stats = stitch(outs, lambda r, s: scan_range(opener, r, state=s, chunk_bytes=chunk))
    assert stats.ranges == parts
    assert_same_probe(Probe(result, source=str(psi_gaps)), probe(psi_gaps, chunk_bytes=chunk))
