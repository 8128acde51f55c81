"""A plain capture file is scanned through a memory map, to the very tables a read gives,
whether the file stays put, grows or is cut while it is probed, and without leaving a
descriptor open."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scte35lab.analysis.probe import Probe, probe
from scte35lab.ts.filemap import FileMap, plain_file_fd
from scte35lab.ts.scan import CHUNK_BYTES, Scanner

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_streams"
STREAMS = sorted(p.name for p in SAMPLES.iterdir() if p.suffix in (".ts", ".m2ts"))
CHUNKS = [188 * 7 + 100, 188 * 200, 65536, CHUNK_BYTES]


class SeeingScanner(Scanner):
    """A scanner that notes, for each run of packets it processes, whether they were a view
    of a map (read-only) or bytes read into its buffer."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.mapped: list[bool] = []

    def _process(self, rows: np.ndarray, offset0: int, head: np.ndarray) -> None:
        self.mapped.append(not rows.flags.writeable)
        super()._process(rows, offset0, head)


def assert_same_tables(a: Probe, b: Probe) -> None:
    assert (a.packet_size, a.packet_count, a.size) == (b.packet_size, b.packet_count, b.size)
    for name in ("pids", "frames", "cues", "errors", "packets"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), obj=name)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_only_a_plain_regular_file_is_mapped(tmp_path):
    path = SAMPLES / "cues_ok.ts"
    with open(path, "rb") as f, open(path, "rb", buffering=0) as raw:
        assert plain_file_fd(f) == f.fileno() and plain_file_fd(raw) == raw.fileno()
    empty = tmp_path / "empty.ts"
    empty.write_bytes(b"")
    packed = tmp_path / "cues_ok.ts.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    r, w = os.pipe()
    with (
        open(empty, "rb") as e,
        gzip.open(packed, "rb") as z,
        os.fdopen(r, "rb") as pipe,
        os.fdopen(w, "wb") as writer,
    ):
        # the gzip reader's fileno() is the compressed file's: mapping it would read that
        assert plain_file_fd(e) is None and plain_file_fd(z) is None
        assert plain_file_fd(pipe) is None and plain_file_fd(writer) is None
        assert plain_file_fd(io.BytesIO(b"\x47" * 188)) is None
        assert FileMap.of(z) is None
        sc = SeeingScanner()
        assert sc.scan(z).cues == Scanner().scan(path).cues and not any(sc.mapped)


def test_a_path_is_scanned_through_the_map_and_bytes_through_the_buffer():
    path = SAMPLES / "cues_ok.ts"
    by_path = SeeingScanner(chunk_bytes=188 * 200)
    by_path.scan(path)
    by_bytes = SeeingScanner(chunk_bytes=188 * 200)
    by_bytes.scan(path.read_bytes())
    assert len(by_path.mapped) > 3 and all(by_path.mapped)
    assert len(by_bytes.mapped) > 3 and not any(by_bytes.mapped)


@pytest.mark.parametrize("chunk", CHUNKS)
@pytest.mark.parametrize("name", STREAMS)
def test_the_map_gives_the_tables_a_read_gives(name, chunk):
    path = SAMPLES / name
    mapped = probe(path, packets=True, chunk_bytes=chunk)
    read = probe(io.BytesIO(path.read_bytes()), packets=True, chunk_bytes=chunk)
    assert_same_tables(mapped, read)


@pytest.mark.parametrize(
    ("name", "cut", "padded"),
    [
        ("h264_204.ts", 10, True),  # the last packet lost part of its 16 check bytes
        ("h264_204.ts", 16, True),
        ("h264_192.m2ts", 3, False),  # its rows start at the sync byte: an m2ts always pads
        ("cues_ok.ts", 100, False),
        ("h264_aac.ts", 187, False),
    ],
)
@pytest.mark.parametrize("chunk", [188 * 200, CHUNK_BYTES])
def test_a_capture_ending_mid_packet_reads_the_same_through_the_map(
    tmp_path, name, cut, padded, chunk
):
    data = (SAMPLES / name).read_bytes()[:-cut]
    path = tmp_path / name
    path.write_bytes(data)
    mapped = probe(path, packets=True, chunk_bytes=chunk)
    read = probe(io.BytesIO(data), packets=True, chunk_bytes=chunk)
    assert_same_tables(mapped, read)
    whole = probe(SAMPLES / name)
    assert mapped.size == len(data)
    assert mapped.packet_count == whole.packet_count - (not padded)
    assert ("truncated_packet" in set(mapped.errors["type"])) == (not padded)


def test_a_capture_exactly_whole_chunks_long_reads_the_same_through_the_map(tmp_path):
    chunk = 188 * 200
    data = (SAMPLES / "h264_aac.ts").read_bytes()[: 2 * (chunk + 4096)]
    path = tmp_path / "two_chunks.ts"
    path.write_bytes(data)
    mapped = probe(path, packets=True, chunk_bytes=chunk)
    assert_same_tables(mapped, probe(io.BytesIO(data), packets=True, chunk_bytes=chunk))


def test_a_file_object_opened_past_leading_bytes_is_read_from_where_it_stands(tmp_path):
    data = (SAMPLES / "cues_ok.ts").read_bytes()
    path = tmp_path / "prefixed.ts"
    path.write_bytes(b"header bytes" + data)
    with open(path, "rb") as f:
        f.seek(12)
        sc = SeeingScanner(chunk_bytes=188 * 200, packets=True)
        mapped = sc.scan(f)
        assert f.tell() == len(data) + 12  # where reading to the end leaves it
    assert all(sc.mapped) and mapped.bytes == len(data)
    read = Scanner(chunk_bytes=188 * 200, packets=True).scan(data)
    assert_same_tables(Probe(mapped), Probe(read))


def test_a_range_scan_through_the_map_pickles_and_resumes_to_the_single_pass():
    path = SAMPLES / "cues_ok.ts"
    chunk = 188 * 200
    whole = Scanner(chunk_bytes=chunk).scan(io.BytesIO(path.read_bytes()))
    sc = SeeingScanner(chunk_bytes=chunk)
    with open(path, "rb") as f:
        assert not sc.scan_until(f, 3 * chunk)
        assert all(sc.mapped)
        resumed = pickle.loads(pickle.dumps(sc))  # no map in the state
        f.seek(resumed.position)
        assert resumed.scan_until(f)
    r = resumed.finish()
    assert r.errors == whole.errors and r.cues == whole.cues and r.bytes == whole.bytes
    assert {k: v.tolist() for k, v in r.frames.items()} == {
        k: v.tolist() for k, v in whole.frames.items()
    }


def test_a_capture_growing_while_probed_is_read_to_its_new_end(tmp_path):
    data = (SAMPLES / "cues_ok.ts").read_bytes()
    chunk = 188 * 200
    first = 4 * (chunk + 4096) + 1000  # what the recorder had written when the probe began
    path = tmp_path / "recording.ts"
    path.write_bytes(data[:first])

    def record_the_rest(done: int) -> None:
        if os.path.getsize(path) < len(data):
            with open(path, "ab") as w:
                w.write(data[first:])

    sc = SeeingScanner(chunk_bytes=chunk, progress=record_the_rest, packets=True)
    grown = sc.scan(path)
    assert sc.mapped[0] and not sc.mapped[-1]  # mapped first, the rest read
    assert grown.bytes == len(data)
    read = Scanner(chunk_bytes=chunk, packets=True).scan(data)
    assert_same_tables(Probe(grown), Probe(read))


CUT_SCRIPT = """
import os, sys
from scte35lab.ts.scan import Scanner
path, cut, chunk = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def cut_it(done):
    if os.path.getsize(path) > cut:
        os.truncate(path, cut)

got = Scanner(chunk_bytes=chunk, progress=cut_it).scan(path)
want = Scanner(chunk_bytes=chunk).scan(open(path, "rb").read())
same = (got.bytes, got.errors, got.cues, {k: v.tolist() for k, v in got.frames.items()}) == (
    want.bytes, want.errors, want.cues, {k: v.tolist() for k, v in want.frames.items()})
print(got.bytes, same)
"""


def test_a_capture_cut_while_probed_is_read_to_its_new_end_without_a_bus_error(tmp_path):
    # in a process of its own: a view past the cut end would kill it with SIGBUS
    data = (SAMPLES / "cues_ok.ts").read_bytes()
    path = tmp_path / "cut.ts"
    path.write_bytes(data)
    cut = 200_000  # a page-aligned map of 327684 bytes loses its last pages
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CUT_SCRIPT), str(path), str(cut), "8192"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert done.stdout.split() == [str(cut), "True"]


def test_no_descriptor_or_map_is_left_open_after_scans():
    path = SAMPLES / "cues_ok.ts"
    before = open_fds()
    kept = [Scanner(chunk_bytes=188 * 200) for _ in range(40)]
    for sc in kept:
        sc.scan(path)
        assert open_fds() == before
    with open(path, "rb") as f:
        for _ in range(20):
            f.seek(0)
            Scanner(chunk_bytes=188 * 200).scan_until(f, 188 * 400)
        assert open_fds() == before + 1


def test_a_scan_stopped_by_an_error_leaves_no_descriptor_open():
    path = SAMPLES / "cues_ok.ts"

    def fail(done: int) -> None:
        raise RuntimeError("stop here")

    before = open_fds()
    for _ in range(20):
        try:
            Scanner(chunk_bytes=188 * 200, progress=fail).scan(path)
        except RuntimeError as e:
            assert str(e) == "stop here"
    assert open_fds() == before


def test_a_file_map_is_unmapped_when_its_block_ends():
    path = SAMPLES / "cues_ok.ts"
    with open(path, "rb") as f:
        before = open_fds()
        with FileMap.of(f) as m:
            assert open_fds() == before + 1  # the map's own descriptor
            assert m.length == os.path.getsize(path) and m.view(0, 1)[0] == 0x47
        assert open_fds() == before  # closed at once, though ``m`` is still referenced
        with pytest.raises(ValueError, match="closed"):
            m.view(0, 1)


def rss_file_kb() -> int:
    """The file-backed pages resident in this process (a map's pages count here)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssFile:"):
            return int(line.split()[1])
    raise AssertionError("no RssFile in /proc/self/status")


def test_the_pages_read_through_the_map_leave_the_resident_set_as_it_goes(tmp_path):
    path = tmp_path / "long.ts"
    path.write_bytes((SAMPLES / "cues_ok.ts").read_bytes() * 120)  # 39 MB
    chunk = (1 << 20) - 4096
    Scanner(chunk_bytes=chunk).scan(SAMPLES / "cues_ok.ts")  # what a first scan loads
    before = rss_file_kb()
    seen: list[int] = []
    sc = SeeingScanner(chunk_bytes=chunk, progress=lambda done: seen.append(rss_file_kb()))
    r = sc.scan(path)
    assert r.bytes == os.path.getsize(path) and len(seen) >= 37 and all(sc.mapped)
    # about a chunk stays (mapped in folios of up to 2 MB); without letting go of the pages
    # behind, this grows by the whole file (39 MB)
    assert max(seen) - before < 8 * 1024
