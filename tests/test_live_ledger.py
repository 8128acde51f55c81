"""The cue states: what evidence makes a cue delivered, late, unconfirmed, written, missed or
cancelled. The cues and their copies come from the real injector on a sample stream; the
evidence is what an SRT output stage reports for each copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from scte35lab import Cue
from scte35lab.live.ledger import CueLedger, CueRecord
from scte35lab.ts.inject import Injector

SAMPLE = Path(__file__).parent.parent / "sample_streams" / "h264_aac.ts"


def _ledger(preroll: float = 2.0, repeat: float = 0.5) -> tuple[CueLedger, list, int]:
    """A ledger over one cue (splice at 3 s), its copies found in the injector's output."""
    data = SAMPLE.read_bytes()
    inj = Injector(preroll=preroll, repeat_every=repeat)
    placement = inj.add(Cue.splice_insert(7, pts_time=0), at=3.0)
    settled: list[CueRecord] = []
    ledger = CueLedger(preroll, on_placed=lambda r: None, on_settled=settled.append)
    ledger.add(CueRecord(placement, "brk", "out"))
    out = b"".join(inj.feed(data[i : i + 7 * 188]) for i in range(0, len(data), 7 * 188))
    out += inj.flush()
    ledger.watch(out, 0, inj.pid, lambda end: 1)
    last_pts = inj._last_frame.pts
    return ledger, settled, last_pts


def test_copies_are_found_in_the_output_with_their_preroll() -> None:
    ledger, _, _ = _ledger()
    rec = ledger.records[0]
    assert len(rec.copies) >= 2 and rec.status == "placed"
    pre = [c.preroll for c in rec.copies]
    assert pre[0] >= 2.0 and pre == sorted(pre, reverse=True) and pre[-1] > 0


def test_delivered_needs_an_acknowledged_copy_with_the_full_preroll() -> None:
    ledger, settled, last = _ledger()
    ledger.settle(lambda c: ("pending", None), last)
    assert not settled and ledger.records[0].status == "awaiting_ack"
    ledger.settle(lambda c: ("acked", 1.0), last)
    assert [r.status for r in settled] == ["delivered"]
    assert settled[0].preroll == ledger.records[0].copies[0].preroll


def test_late_when_only_copies_with_less_preroll_were_acknowledged() -> None:
    ledger, settled, last = _ledger()
    first = ledger.records[0].copies[0]
    ledger.settle(lambda c: ("unconfirmed", None) if c is first else ("acked", 2.0), last)
    assert [r.status for r in settled] == ["late"]
    assert settled[0].preroll < 2.0 and "pre-roll" in settled[0].error


def test_a_sender_without_acknowledgements_never_makes_a_cue_delivered() -> None:
    ledger, settled, last = _ledger()
    ledger.settle(lambda c: ("written", None), last)
    assert [r.status for r in settled] == ["written"]


def test_unconfirmed_when_the_connection_died_before_any_acknowledgement() -> None:
    ledger, settled, last = _ledger()
    ledger.settle(lambda c: ("unconfirmed", None), last)
    assert [r.status for r in settled] == ["unconfirmed"]
    assert "may or may not" in settled[0].error


def test_missed_when_no_copy_reached_a_sender_before_the_splice_point() -> None:
    ledger, settled, last = _ledger()
    splice = ledger.records[0].splice_pts
    ledger.settle(lambda c: ("dropped", None), (splice - 90_000) % 2**33)
    assert not settled  # repeats may still come before the splice point
    ledger.settle(lambda c: ("dropped", None), last)
    assert [r.status for r in settled] == ["missed"]


def test_a_cue_not_yet_out_when_the_pipeline_stops_is_cancelled() -> None:
    inj = Injector(preroll=2.0)
    placement = inj.add(Cue.splice_insert(9, pts_time=0), at=60.0)
    settled: list[CueRecord] = []
    ledger = CueLedger(2.0, on_placed=lambda r: None, on_settled=settled.append)
    ledger.add(CueRecord(placement, "later", "out"))
    ledger.settle(lambda c: ("acked", 0.0), None, final=True)
    assert [r.status for r in settled] == ["cancelled"]


@pytest.mark.parametrize("state", ["delivered", "late", "unconfirmed", "written", "missed"])
def test_each_cue_ends_in_exactly_one_state(state: str) -> None:
    ledger, settled, last = _ledger()
    evidence = {
        "delivered": ("acked", 0.0),
        "late": ("acked", 0.0),
        "unconfirmed": ("unconfirmed", None),
        "written": ("written", None),
        "missed": ("dropped", None),
    }[state]
    first = ledger.records[0].copies[0]
    for _ in range(3):
        ledger.settle(
            lambda c: ("dropped", None) if state == "late" and c is first else evidence, last
        )
    assert len(settled) == 1 and settled[0].status == state
