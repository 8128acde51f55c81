"""One capture probed as byte ranges and stitched is exactly ``probe()``: same rows, order,
errors, PTS unwrapping and arrival times, wherever the boundaries fall."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scale_helpers import assert_same_probe, generated_capture

from scte35lab.analysis import probe
from scte35lab.analysis.probe import Probe
from scte35lab.scale import probe_ranges
from scte35lab.scale.sources import SourceOpener
from scte35lab.ts import stitch as stitch_mod
from scte35lab.ts.ranges import plan_ranges, scan_range
from scte35lab.ts.stitch import sections_in_progress, stitch

SAMPLES = Path(__file__).resolve().parent.parent / "sample_streams"
STREAMS = sorted(p.name for p in SAMPLES.iterdir() if p.suffix in (".ts", ".m2ts"))


def _split(path: Path, parts: int, chunk: int, *, overlap: int | None = None, packets=True):
    opener = SourceOpener(str(path))
    with opener() as f:
        rs = plan_ranges(f, opener.size(), parts, chunk_bytes=chunk, overlap=overlap)
    outs = [scan_range(opener, r, packets=packets, chunk_bytes=chunk) for r in rs]
    result, stats = stitch(
        outs, lambda r, s: scan_range(opener, r, state=s, packets=packets, chunk_bytes=chunk)
    )
    return result, stats, outs


@pytest.mark.parametrize("name", STREAMS)
@pytest.mark.parametrize(("parts", "chunk"), [(4, 4096), (3, 9024), (6, 20000)])
def test_split_probe_equals_probe_on_every_sample(name, parts, chunk):
    path = SAMPLES / name
    want = probe(path, chunk_bytes=chunk, packets=True)
    result, stats, _ = _split(path, parts, chunk)
    assert stats.ranges >= 2
    assert_same_probe(Probe(result, source=str(path)), want, packets=True)


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(STREAMS),
    parts=st.integers(2, 9),
    chunk=st.integers(1880, 40_000),
    overlap=st.sampled_from([None, 1, 20_000, 100_000]),
)
def test_any_grid_and_overlap_gives_probe(name, parts, chunk, overlap):
    path = SAMPLES / name
    result, stats, _ = _split(path, parts, chunk, overlap=overlap, packets=False)
    assert stats.accepted + stats.rescanned <= stats.ranges - 1
    assert_same_probe(Probe(result, source=str(path)), probe(path, chunk_bytes=chunk))


@pytest.fixture(scope="module")
def damaged(tmp_path_factory) -> Path:
    """cues_ok.ts with 1000 bytes cut out twice (sync lost off the packet grid), a flipped
    continuity counter, a transport_error_indicator, and a last packet cut short."""
    data = bytearray((SAMPLES / "cues_ok.ts").read_bytes())
    del data[200_000:201_000]
    del data[60_000:61_000]
    data[149_967] ^= 0x0F  # byte 3 of a packet (after the first cut)
    data[249_921] |= 0x80  # byte 1 of a packet (after both cuts)
    path = tmp_path_factory.mktemp("damaged") / "damaged.ts"
    path.write_bytes(bytes(data[:-100]))
    return path


@settings(max_examples=25, deadline=None)
@given(parts=st.integers(2, 9), chunk=st.integers(1880, 30_000))
def test_a_capture_that_loses_sync_is_split_and_stitched_like_probe(damaged, parts, chunk):
    result, _, _ = _split(damaged, parts, chunk, packets=False)
    want = probe(damaged, chunk_bytes=chunk)
    assert {"sync_loss", "cc_error", "transport_error", "truncated_packet"} <= set(
        want.errors["type"]
    )
    assert_same_probe(Probe(result, source=str(damaged)), want)


def test_boundaries_inside_a_pes_and_an_access_unit_are_stitched():
    # a boundary inside a PES leaves its size to grow in the next range; one just after an
    # access unit's first packet leaves its picture (here an HEVC IDR) to be read there
    sizes = pictures = 0
    for name, parts, chunk in (("cues_ok.ts", 7, 4096), ("hevc_aac.ts", 12, 1880)):
        path = SAMPLES / name
        result, _, outs = _split(path, parts, chunk, packets=False)
        assert_same_probe(Probe(result, source=str(path)), probe(path, chunk_bytes=chunk))
        sizes += sum(1 for o in outs[1:] for v in o.size_patch.values() if v)
        pictures += sum(1 for o in outs[1:] for kf, _, t in o.picture_patch.values() if kf)
    assert sizes >= 5, sizes
    assert pictures >= 2, pictures


def test_pts_wrap_sample_is_split_across_the_wrap():
    path = SAMPLES / "pts_wrap.ts"
    want = probe(path, chunk_bytes=4096)
    wrap = want.errors[want.errors["type"] == "pts_wrap"]["packet"].min()
    result, _, outs = _split(path, 4, 4096, packets=False)
    starts = [o.range.base for o in outs]
    assert min(starts[1:]) < wrap < max(starts)  # a boundary on each side of the wrap
    assert_same_probe(Probe(result, source=str(path)), want)
    video = want.video
    assert video["dts_seconds"].is_monotonic_increasing  # unwrapped across the wrap


def test_a_speculative_start_that_does_not_hold_is_scanned_again(monkeypatch):
    # With the check disabled the stitched result differs on this sample: the check matters.
    path = SAMPLES / "ffmpeg_remux.ts"
    want = probe(path, chunk_bytes=9024)
    result, _, _ = _split(path, 4, 9024, packets=False)
    assert_same_probe(Probe(result, source=str(path)), want)
    monkeypatch.setattr(stitch_mod, "agrees", lambda *a: True)
    wrong, _, _ = _split(path, 4, 9024, packets=False)
    with pytest.raises(AssertionError):
        assert_same_probe(Probe(wrong, source=str(path)), want)


def test_range_state_survives_pickling_between_processes():
    path = SAMPLES / "cues_ok.ts"
    _, _, outs = _split(path, 3, 4096, packets=False)
    end = pickle.loads(outs[0].end_state)
    assert end.position == outs[1].range.start
    assert end._base == outs[1].range.base


@pytest.fixture(scope="module")
def capture(tmp_path_factory) -> Path:
    return generated_capture(tmp_path_factory.getbasetemp())


@pytest.mark.parametrize("parts", [2, 4, 5])
def test_split_probe_of_minutes_of_capture_equals_probe_and_runs_speculatively(capture, parts):
    chunk = 128 << 10
    want = probe(capture, chunk_bytes=chunk)
    got = probe_ranges(capture, parts=parts, chunk_bytes=chunk)
    assert_same_probe(got, want)
    assert len(want.cues) >= 8 and want.frames["keyframe"].sum() >= 80
    # a clean capture needs no range scanned twice: the work really is parallel
    assert got.stitch_stats.ranges == parts
    assert got.stitch_stats.rescanned == 0
    assert got.stitch_stats.accepted == parts - 1


def test_boundaries_inside_a_seven_packet_cue_section_are_stitched(capture):
    # look for grids that put a boundary inside one of the long time_signal sections
    hits = 0
    for chunk in range(20_000, 60_000, 3_761):
        result, _, outs = _split(capture, 60, chunk, packets=False)
        inside = [o for o in outs[:-1] if sections_in_progress(pickle.loads(o.end_state))]
        if inside:
            hits += len(inside)
            assert_same_probe(Probe(result, source=str(capture)), probe(capture, chunk_bytes=chunk))
        if hits >= 2:
            break
    assert hits >= 2


def test_split_probe_with_default_chunks_is_one_range_below_a_chunk(capture):
    got = probe_ranges(capture, parts=4)
    assert got.stitch_stats.ranges == 1
    assert_same_probe(got, probe(capture))
