"""ts/scan.py is split by job, and what callers import from it stays there."""

from __future__ import annotations

import pickle
from pathlib import Path

import scte35lab.ts.scan as scan
from scte35lab.ts.psi import PsiFollower

SAMPLES = Path(__file__).resolve().parent.parent / "sample_streams"


def test_the_scanner_names_callers_import_stay_in_ts_scan():
    for name in scan.__all__:
        assert getattr(scan, name) is not None
    assert {"Scanner", "ScanResult", "PidInfo", "CHUNK_BYTES", "VIDEO"} <= set(scan.__all__)
    assert scan.Scanner.scan and scan.Scanner.scan_until and scan.Scanner.finish


def test_the_scanner_follows_psi_with_the_shared_follower():
    sc = scan.Scanner()
    sc.scan(SAMPLES / "two_programs.ts")
    follower = sc.psi
    assert isinstance(follower, PsiFollower) and sc.sections.follower is follower
    assert sc._pmt_pids == follower.pmt_pids and len(follower.pmt_pids) == 2
    assert sorted(follower.programs) == sorted(sc.r.programs)


def test_a_scanner_pickled_between_chunks_resumes_to_the_same_result():
    path = SAMPLES / "cues_ok.ts"
    chunk = 188 * 200
    whole = scan.Scanner(chunk_bytes=chunk).scan(path)
    assert whole.cues and len(whole.frames["pid"])
    sc = scan.Scanner(chunk_bytes=chunk)
    with open(path, "rb") as f:
        assert not sc.scan_until(f, chunk * 3)
        resumed = pickle.loads(pickle.dumps(sc))
        f.seek(resumed.position)
        assert resumed.scan_until(f)
    r = resumed.finish()
    assert r.errors == whole.errors and r.cues == whole.cues
    assert {k: v.tolist() for k, v in r.frames.items()} == {
        k: v.tolist() for k, v in whole.frames.items()
    }
    assert r.errors is resumed.errors.result.errors  # the parts share one result after it
