"""Store: streams, markers, cue logs, analytics, event ids and migrations, on real SQLite files."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from scte35lab.cue import Cue
from scte35lab.schedule import (
    SCHEMA_VERSION,
    AdBreak,
    EventIdError,
    Schedule,
    ScheduleError,
    ScheduleRules,
    Store,
    StoreError,
    StreamClock,
)
from scte35lab.schedule.store import migration_scripts


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "lab.db") as s:
        yield s


# -- file settings and schema --------------------------------------------------------------


def test_new_store_is_wal_at_the_current_schema(tmp_path):
    path = tmp_path / "lab.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"streams", "ad_markers", "scte35_logs", "stream_analytics", "event_ids"} <= tables
    assert SCHEMA_VERSION == len(migration_scripts()) >= 2


def _make_v1_database(path):
    """A database exactly as schema version 1 made it, with some data in it."""
    (version, name, sql) = migration_scripts()[0]
    assert (version, name) == (1, "0001_initial.sql")
    conn = sqlite3.connect(path)
    conn.executescript(sql)
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO streams (name, status, created_at, width, height, fps) "
        "VALUES ('old', 'stopped', 1700000000, 1920, 1080, 25)"
    )
    conn.execute(
        "INSERT INTO ad_markers (stream_id, cue_id, start_s, duration_s, ad_type, "
        "inserted, inserted_at, splice_event_id, auto_return, avail_num, "
        "avails_expected) VALUES (1, 'b1', 60, 30, 'midroll', 1, 1700000060, 5, 1, 1, 2)"
    )
    conn.execute(
        "INSERT INTO scte35_logs (stream_id, cue_id, section_hex, inserted_at, success)"
        " VALUES (1, 'b1', 'fc30', 1700000056, 1)"
    )
    conn.execute(
        "INSERT INTO stream_analytics (stream_id, ts, bitrate_kbps, srt_rtt_ms) "
        "VALUES (1, 1700000001, 4500, 12.5)"
    )
    conn.commit()
    conn.close()


def test_a_version_1_database_opens_and_upgrades_with_its_data(tmp_path):
    path = tmp_path / "v1.db"
    _make_v1_database(path)
    with Store(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        stream = store.stream("old")
        assert (stream.status, stream.resolution, stream.first_pts) == (
            "stopped",
            "1920x1080",
            None,
        )
        m = store.markers("old")
        assert list(m["cue_id"]) == ["b1"] and bool(m["inserted"][0])
        assert m["splice_event_id"][0] == 5 and m["notes"][0] == ""
        assert m["inserted_at"][0] == pd.Timestamp(1700000060, unit="s", tz="UTC")
        sched = store.schedule("old")
        assert [(b.cue_id, b.start, b.duration, b.splice_event_id) for b in sched] == [
            ("b1", 60.0, 30.0, 5)
        ]
        assert store.logs("old")["section_hex"].tolist() == ["fc30"]
        assert store.analytics("old")["srt_rtt_ms"].tolist() == [12.5]
        # the id written by version 1 stays taken in the version 2 allocator
        ids = store.event_ids("old")
        with pytest.raises(EventIdError, match="event id 5 was already used"):
            ids.claim(5, "someone/else")
        assert all(ids.allocate() != 5 for _ in range(10))
        # and version 2 features work on the upgraded file
        planned = store.plan(
            "old",
            Schedule(
                [AdBreak(60, 30, cue_id="b1", splice_event_id=5), AdBreak(300, 30, cue_id="b2")]
            ),
        )
        assert len(planned) == 4
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_failed_migration_leaves_the_database_at_its_old_version(tmp_path):
    path = tmp_path / "v1.db"
    _make_v1_database(path)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE event_ids (x)")  # makes migration 2 fail half-way
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match=r"migration 0002_schedules\.sql failed"):
        Store(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    columns = [r[1] for r in conn.execute("PRAGMA table_info(ad_markers)")]
    assert "plan" not in columns  # the ALTERs before the failure were rolled back too


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "new.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="made by a newer scte35lab"):
        Store(path)


# -- streams -------------------------------------------------------------------------------


def test_streams_lifecycle(store):
    s = store.add_stream(
        "main",
        description="Main show",
        bitrate_kbps=4500,
        resolution="1280x720",
        fps=29.97,
        srt_destination="srt://cdn.example:9000?latency=200000",
        srt_passphrase_env="MAIN_SRT_PASS",
    )
    assert (s.name, s.status, s.is_live, s.resolution, s.fps) == (
        "main",
        "idle",
        False,
        "1280x720",
        29.97,
    )
    t0 = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
    s = store.start_stream("main", first_pts=123_456, at=t0)
    assert (s.status, s.is_live, s.started_at) == ("live", True, t0)
    assert store.clock("main") == StreamClock(123_456, t0)
    s = store.end_stream("main", at=t0 + timedelta(hours=1))
    assert (s.status, s.is_live, s.ended_at) == ("stopped", False, t0 + timedelta(hours=1))
    s = store.update_stream("main", resolution="1920x1080", description="Bigger")
    assert (s.width, s.height, s.description) == (1920, 1080, "Bigger")
    df = store.streams()
    assert df.loc[0, "name"] == "main" and df.loc[0, "width"] == 1920
    assert str(df["started_at"].dtype).startswith("datetime64") and "UTC" in str(
        df["started_at"].dtype
    )
    with pytest.raises(StoreError, match="already exists"):
        store.add_stream("main")
    with pytest.raises(StoreError, match="no stream named 'nope'"):
        store.stream("nope")
    with pytest.raises(StoreError, match="status 'on-air' is not one of"):
        store.set_status("main", "on-air")


def test_passphrase_in_the_srt_url_is_refused(store):
    with pytest.raises(StoreError, match="must not carry the passphrase"):
        store.add_stream("x", srt_destination="srt://h:9000?passphrase=abcdefghij")
    with pytest.raises(StoreError, match="NAME of an environment variable"):
        store.add_stream("x", srt_passphrase_env="correct horse battery staple")


# -- schedules and markers -----------------------------------------------------------------


def test_schedule_round_trips_through_the_store(store):
    store.add_stream("main")
    sched = Schedule(
        [
            AdBreak(60, 30, cue_id="a", kind="preroll", provider_avail_id=9, notes="first"),
            AdBreak(
                600,
                90,
                cue_id="b",
                upid_type=0x0F,
                upid="https://ads.example/b",
                plan="time_signal:break+provider_po",
                auto_return=False,
            ),
        ],
        plan="splice_insert",
        rules=ScheduleRules(min_duration=10, min_spacing=60),
    )
    store.save_schedule("main", sched)
    assert store.schedule("main") == sched
    m = store.markers("main")
    assert list(m.columns[:7]) == [
        "stream",
        "cue_id",
        "start",
        "duration",
        "end",
        "ad_type",
        "inserted",
    ]
    assert list(m["end"]) == [90.0, 690.0]
    assert str(m["splice_event_id"].dtype) == "Int64"


def test_plan_stores_the_ids_it_allocated_and_keeps_them_on_replan(store):
    store.add_stream("main")
    sched = Schedule(
        [
            AdBreak(60, 30, cue_id="a"),
            AdBreak(600, 60, cue_id="b", plan="time_signal:break+provider_po"),
        ]
    )
    first = store.plan("main", sched)
    m = store.markers("main").set_index("cue_id")
    assert m.loc["a", "splice_event_id"] == first[0].cue.splice_event_id
    b_out = next(p for p in first if p.cue_id == "b" and p.role == "out")
    assert m.loc["b", "segmentation_event_id"] == b_out.event_ids[0]
    # re-planning the stored schedule (even from another Store on the same file) gives the
    # same cues, byte for byte
    with Store(store.path) as other:
        again = other.plan("main", other.schedule("main"))
    assert [p.cue.encode() for p in again] == [p.cue.encode() for p in first]
    # a new break gets an id never used in this stream
    sched2 = store.schedule("main")
    sched2.add(AdBreak(1200, 30, cue_id="c"))
    third = store.plan("main", sched2)
    used_before = {i for p in first for i in p.event_ids}
    c_ids = {i for p in third if p.cue_id == "c" for i in p.event_ids}
    assert c_ids and not c_ids & used_before


def test_plan_uses_the_running_streams_clock(store):
    store.add_stream("main")
    store.start_stream("main", first_pts=2**33 - 90_000)
    out, back_in = store.plan("main", Schedule([AdBreak(10, 20, cue_id="a")]))
    assert out.splice_pts == 9 * 90_000 and back_in.splice_pts == 29 * 90_000


def test_event_ids_of_one_stream_do_not_limit_another(store):
    store.add_stream("one")
    store.add_stream("two")
    assert store.event_ids("one").allocate() == store.event_ids("two").allocate() == 1
    assert store.event_ids("one").allocate() == 2


def test_saving_a_shorter_schedule_keeps_inserted_markers(store):
    store.add_stream("main")
    store.save_schedule(
        "main", Schedule([AdBreak(60, 30, cue_id="a"), AdBreak(600, 30, cue_id="b")])
    )
    store.mark_inserted("main", "a", at=1_800_000_000)
    store.save_schedule("main", Schedule([AdBreak(1200, 30, cue_id="c")]))
    m = store.markers("main")
    assert list(m["cue_id"]) == ["a", "c"]
    assert list(m["inserted"]) == [True, False]
    with pytest.raises(StoreError, match="no marker 'zz'"):
        store.mark_inserted("main", "zz")


# -- cue logs ------------------------------------------------------------------------------


def test_log_cue_records_section_and_marks_the_break_inserted(store):
    store.add_stream("main")
    sched = Schedule([AdBreak(60, 30, cue_id="a")])
    out, back_in = store.plan("main", sched)
    t = datetime(2026, 3, 1, 20, 0, 55, tzinfo=UTC)
    store.log_cue("main", out.cue, cue_id="a", role="out", at=t)
    store.log_cue("main", back_in.cue.encode(), cue_id="a", role="in", at=t + timedelta(seconds=30))
    store.log_cue("main", "0xFC3011", success=False, error="SRT peer gone", at=t)
    logs = store.logs("main")
    assert logs["role"].fillna("-").tolist() == ["out", "-", "in"]
    assert logs["cue_id"].fillna("-").tolist() == ["a", "-", "a"]
    ok = store.logs("main", success=True)
    assert Cue.decode(ok["section_hex"][0]).encode() == out.cue.encode()
    assert ok["splice_pts"][0] == 60 * 90_000
    assert ok["inserted_at"][0] == pd.Timestamp(t)
    failed = store.logs(success=False)
    assert failed["error_message"].tolist() == ["SRT peer gone"]
    m = store.markers("main")
    assert bool(m["inserted"][0]) and m["inserted_at"][0] == pd.Timestamp(t)
    assert len(store.logs("main", since=t + timedelta(seconds=1))) == 1
    with pytest.raises(StoreError, match="hex"):
        store.log_cue("main", "not hex at all")


# -- analytics -----------------------------------------------------------------------------


def test_analytics_round_trip_with_dtypes(store):
    store.add_stream("main")
    t0 = 1_800_000_000.0
    n = 1000
    df = pd.DataFrame(
        {
            "ts": pd.to_datetime(t0 + np.arange(n), unit="s", utc=True),
            "bitrate_kbps": np.linspace(4000, 5000, n),
            "fps": 29.97,
            "srt_rtt_ms": 12.5,
            "srt_send_rate_mbps": 4.6,
            "srt_pkt_loss": np.arange(n) % 3,
            "srt_pkt_retrans": pd.array([None] + [1] * (n - 1), dtype="Int64"),
            "cpu_percent": 35.0,
            "memory_mb": 512.0,
        }
    )
    assert store.add_analytics("main", df) == n
    assert store.add_analytics("main", {"ts": t0 + n, "fps": 30}) == 1  # one sample, others NULL
    back = store.analytics("main")
    assert len(back) == n + 1
    assert str(back["ts"].dtype).startswith("datetime64") and str(back["ts"].dt.tz) == "UTC"
    assert back["ts"].iloc[0] == pd.Timestamp(t0, unit="s", tz="UTC")
    assert str(back["srt_pkt_loss"].dtype) == "Int64"
    assert back["srt_pkt_retrans"].isna().tolist()[:2] == [True, False]
    np.testing.assert_allclose(back["bitrate_kbps"][:n], df["bitrate_kbps"])
    assert np.isnan(back["bitrate_kbps"].iloc[-1])
    last = store.analytics("main", last=10)
    assert len(last) == 10 and last["ts"].is_monotonic_increasing
    assert last["ts"].iloc[-1] == back["ts"].iloc[-1]
    window = store.analytics("main", since=t0 + 100, until=t0 + 200)
    assert len(window) == 100


def test_analytics_rejects_unknown_columns_instead_of_dropping_them(store):
    store.add_stream("main")
    with pytest.raises(StoreError, match=r"unknown analytics column.*bitrate_kbs"):
        store.add_analytics("main", [{"bitrate_kbs": 1}])
    assert len(store.analytics("main")) == 0


def test_a_failed_write_changes_nothing(store):
    store.add_stream("main")
    before = time.time()
    rows = [{"ts": before, "fps": 30.0}, {"ts": before, "fps": "thirty"}]
    with pytest.raises(ValueError):
        store.add_analytics("main", rows)
    assert len(store.analytics("main")) == 0
    # an integrity error half-way through a schedule save rolls back the whole save
    store.save_schedule("main", Schedule([AdBreak(60, 30, cue_id="a")]))
    conn = sqlite3.connect(store.path)
    conn.execute(
        "CREATE TRIGGER boom BEFORE INSERT ON ad_markers WHEN NEW.cue_id = 'bad' "
        "BEGIN SELECT RAISE(ABORT, 'boom'); END"
    )
    conn.commit()
    conn.close()
    with pytest.raises(sqlite3.IntegrityError):
        store.save_schedule(
            "main", Schedule([AdBreak(300, 30, cue_id="b"), AdBreak(900, 30, cue_id="bad")])
        )
    assert list(store.markers("main")["cue_id"]) == ["a"]


def test_a_failed_plan_allocates_and_stores_nothing(store):
    store.add_stream("main")
    store.plan("main", Schedule([AdBreak(60, 30, cue_id="a")]))
    used = store.event_ids("main").used
    # "b" is planned (and gets ids) before "c" fails: its UPID does not fit type 0x0C
    bad = Schedule(
        [
            AdBreak(300, 30, cue_id="b"),
            AdBreak(600, 30, cue_id="c", upid_type=0x0C, upid="MPU?", plan="time_signal"),
        ]
    )
    with pytest.raises(ScheduleError, match="UPID type 0x0C is not text"):
        store.plan("main", bad)
    assert store.event_ids("main").used == used  # the ids "b" was given were rolled back
    assert list(store.markers("main")["cue_id"]) == ["a"]


def test_concurrent_allocators_never_hand_out_the_same_id(tmp_path):
    path = tmp_path / "lab.db"
    with Store(path) as s:
        s.add_stream("main")
    results: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        with Store(path) as mine:  # its own connections, as another process would have
            ids = mine.event_ids("main")
            got = [ids.allocate() for _ in range(40)]
        with lock:
            results.extend(got)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == list(range(1, 161))


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("this is not SQLite " * 100)
    with pytest.raises(StoreError, match=r"cannot open .*notes\.txt as a scte35lab store"):
        Store(path)
    with pytest.raises(StoreError, match="cannot open"):
        Store(tmp_path / "no" / "such" / "dir" / "lab.db")
