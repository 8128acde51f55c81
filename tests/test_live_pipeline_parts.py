"""The live pipeline's parts on their own, without processes: the stage chain per ingest
session, the events, the stats rows and the store writes (each failure logged, never raised)."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from scte35lab.cue import Cue
from scte35lab.errors import ComponentError
from scte35lab.live import Pipeline
from scte35lab.live.events import EventLog, LiveEvent
from scte35lab.live.livechain import LiveChain
from scte35lab.live.srtout import Outage
from scte35lab.live.storelog import StoreLog
from scte35lab.schedule import Store
from scte35lab.ts.packets import TS_PACKET_SIZE

CHUNK = 7 * TS_PACKET_SIZE


def _feed(pipeline: Pipeline, data: bytes) -> tuple[list[int], int]:
    """Feed ``data`` through the pipeline's chain; the first-PTS hand-outs and bytes out."""
    told, total = [], 0
    for i in range(0, len(data), CHUNK):
        out, start, inj = pipeline.chain.feed(data[i : i + CHUNK])
        assert start + len(out) == inj.bytes_out  # where this output sits in the injector's
        total += len(out)
        if (first := pipeline.chain.first_pts()) is not None:
            told.append(first)
    return told, total


def test_live_chain_hands_out_each_sessions_first_video_pts_once(source_ts):
    p = Pipeline("srt://127.0.0.1:9")
    p.chain.start()
    told, total = _feed(p, source_ts)
    assert told == [p.meter.first_video_pts] and told[0] is not None
    assert total > 0
    first_meter = p.meter
    held = p.chain.flush(keep_waiting=True)  # the input went away: its held output goes out
    assert held is not None and held[1] + len(held[0]) == held[2].bytes_out
    p.chain.start(returning=True)  # a returning publisher: new meter, seam, following injector
    assert p.meter is not first_meter
    told_again, _ = _feed(p, source_ts)
    assert told_again == [p.meter.first_video_pts]


def test_live_chain_refuses_cues_once_the_pipeline_stops():
    stopping = threading.Event()
    chain = LiveChain(Pipeline("srt://127.0.0.1:9").settings, stopping)
    with pytest.raises(ComponentError, match="not running"):
        chain.add(Cue.splice_insert(1))  # no session yet
    chain.start()
    assert chain.cancel(object()) is False
    stopping.set()
    with pytest.raises(ComponentError, match="'main' is not running"):
        chain.add(Cue.splice_insert(1))


def test_events_hide_the_secrets_and_survive_a_failing_listener(caplog):
    secret = "correct-horse-battery"
    say = EventLog("main", [secret])
    seen: list[LiveEvent] = []

    def broken(ev: LiveEvent) -> None:
        raise RuntimeError("listener bug")

    say.listeners += [broken, seen.append]
    with caplog.at_level(logging.ERROR):
        say("warning", f"passphrase {secret} in a message", n=1)
    assert say.events == seen and [(e.kind, e.data) for e in seen] == [("warning", {"n": 1})]
    assert secret not in seen[0].message and "event callback failed" in caplog.text
    with caplog.at_level(logging.WARNING):
        say("warning", "a sender limit", level=logging.WARNING)
    said = [r for r in caplog.records if "a sender limit" in r.getMessage()]
    assert [r.levelno for r in said] == [logging.WARNING]
    p = Pipeline("srt://127.0.0.1:9", passphrase=secret, key="stream-key-1")
    assert p.endpoint_redact(f"{secret} and stream-key-1") == "*** and ***"


def test_stats_row_is_kept_stored_and_told_though_a_listener_fails(tmp_path, caplog):
    store = Store(tmp_path / "lab.db")
    store.add_stream("main")
    rows = []

    def broken(row):
        raise RuntimeError("listener bug")

    p = Pipeline("srt://127.0.0.1:9", store=store, on_stats=broken)
    p.on_stats(rows.append)
    with caplog.at_level(logging.ERROR):
        row = p.livestats.tick()
    assert p.stats_rows == rows == [row] and row["bytes_out"] == 0
    assert row["srt_connected"] is False and row["stream"] == "main"
    assert len(store.analytics("main")) == 1
    assert str(p.stats()["ts"].dt.tz) == "UTC"  # seconds become UTC datetimes
    assert "stats callback failed" in caplog.text


def test_store_log_writes_an_outage_as_the_store_reads_it(tmp_path):
    store = Store(tmp_path / "lab.db")
    store.add_stream("main")
    now = time.time()
    StoreLog(store, "main").outage(
        Outage(started_at=now - 3, bytes_unacked=1316, bytes_unsent=2632, ended_at=now)
    )
    outages = store.outages("main")
    assert len(outages) == 1
    assert outages["bytes_lost"].iloc[0] == 1316 + 2632
    assert outages["ended_at"].iloc[0].timestamp() == pytest.approx(now, abs=1e-3)


def test_store_log_logs_a_failing_store_and_never_raises(tmp_path, caplog):
    store = Store(tmp_path / "lab.db")  # no stream "ghost": every write fails
    log = StoreLog(store, "ghost")
    with caplog.at_level(logging.ERROR):
        log.status("starting")
        log.outage(Outage(started_at=time.time(), bytes_unacked=None))
        log.ended()
    assert caplog.text.count("pipeline ghost: storing") == 3
    StoreLog(None, "main").status("starting")  # no store: nothing to write, nothing said
