"""The injector as a stage of a Chain: the file path and the live path run it the same way.

``inject()`` runs its Injector as the one stage of a :class:`Chain`, taking its output as
pieces (views of the input where nothing changed); the live pipeline takes bytes from the
same chain. Both must give the same stream. Input: six seconds of FFmpeg H.264/AAC
(conftest's ``source_ts``).
"""

from __future__ import annotations

import inspect
import io

import pytest

from scte35lab import Cue, inject
from scte35lab.ts.chain import Chain, Tap
from scte35lab.ts.inject import Injector, InjectorOptions
from scte35lab.ts.packets import TS_PACKET_SIZE

CHUNK = TS_PACKET_SIZE * 700


def cues() -> list[tuple[float, Cue]]:
    return [
        (3.0, Cue.splice_insert(41, break_duration=90_000)),
        (4.0, Cue.splice_insert(41, out_of_network=False)),
    ]


def chunks(data: bytes) -> list[bytes]:
    return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]


def test_chain_pieces_give_the_same_stream_as_chain_bytes(source_ts):
    seen: list[int] = []
    by_bytes = Chain([Tap(lambda d: seen.append(len(d))), Injector(cues(), preroll=1.0)])
    expected = b"".join(by_bytes.feed(c) for c in chunks(source_ts)) + by_bytes.flush()
    assert sum(seen) == len(source_ts)

    out = io.BytesIO()
    inj = Injector(cues(), preroll=1.0)
    Chain([Tap(lambda d: None), inj]).pump(chunks(source_ts), out.writelines)

    assert out.getvalue() == expected
    assert len(expected) > len(source_ts)  # the cues' packets went in
    assert [p.status for p in inj.placements] == ["placed", "placed"]


def test_chain_hands_on_views_of_the_input_where_nothing_changed(source_ts):
    data = source_ts[: CHUNK * 4]
    chain = Chain([Injector(preroll=0.0, margin=0.0)])
    pieces = chain.feed_pieces(data) + chain.flush_pieces()
    views = [p for p in pieces if isinstance(p, memoryview)]
    assert views and all(v.obj is data for v in views)  # no copy of untouched packets
    assert sum(len(v) for v in views) > len(data) // 2


def test_inject_file_path_writes_what_the_stage_gives(source_ts, tmp_path):
    src = tmp_path / "in.ts"
    src.write_bytes(source_ts)
    inj = Injector(cues(), preroll=1.0)
    expected = b"".join(inj.feed(c) for c in chunks(source_ts)) + inj.flush()

    dst = tmp_path / "out.ts"
    report = inject(src, dst, cues(), preroll=1.0)

    assert dst.read_bytes() == expected
    assert list(report["status"]) == ["placed", "placed"]


def test_chain_flush_last_ends_the_last_stage_its_own_way(source_ts):
    inj = Injector([(60.0, Cue.splice_insert(9))])
    chain = Chain([inj])
    chain.feed_pieces(source_ts)
    chain.flush_pieces(last=lambda stage: inj.flush_pieces(keep_waiting=True))
    assert inj.placements[0].status == "pending"  # kept for an input that may come back

    again = Injector([(60.0, Cue.splice_insert(9))])
    bytes_chain = Chain([again])
    bytes_chain.feed(source_ts)
    bytes_chain.flush(last=lambda stage: again.flush(keep_waiting=True))
    assert again.placements[0].status == "pending"

    ended = Injector([(60.0, Cue.splice_insert(9))])
    Chain([ended]).pump([source_ts], io.BytesIO().writelines)
    assert ended.placements[0].status == "missed"


def test_chain_of_bytes_stages_gives_their_bytes_as_one_piece():
    chain = Chain([Tap(lambda d: None), None, Tap(lambda d: None)])
    assert chain.feed_pieces(b"abc") == [b"abc"]
    assert chain.flush_pieces() == [b""]
    assert chain.feed(b"abc") == b"abc" and chain.flush() == b""
    assert Chain([]).feed(b"x") == b"x" and Chain([]).flush() == b""


def test_inject_options_are_the_injector_keywords():
    params = inspect.signature(Injector).parameters
    for name in InjectorOptions.__annotations__:
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY, name
    with pytest.raises(TypeError, match="prerol"):
        inject(b"", io.BytesIO(), [], prerol=2.0)
