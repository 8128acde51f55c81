"""No secret (stream key, SRT passphrase) in any table, file, repr, export or log line."""

from __future__ import annotations

import logging
import secrets
import sqlite3

import pytest

from scte35lab.schedule import AdBreak, Schedule, Store, StoreError
from scte35lab.schedule.keys import redact


def test_stream_key_is_verified_against_a_salted_hash(tmp_path):
    with Store(tmp_path / "lab.db") as store:
        store.add_stream("a")
        store.add_stream("b")
        key = store.new_stream_key("a")
        assert len(key) >= 32
        assert store.verify_stream_key("a", key)
        assert not store.verify_stream_key("a", key[:-1] + ("x" if key[-1] != "x" else "y"))
        assert not store.verify_stream_key("b", key)  # b has no key yet
        assert not store.verify_stream_key("no-such-stream", key)
        store.set_stream_key("b", key)  # same key on two streams ...
        assert store.verify_stream_key("b", key)
        assert store.stream("a").has_stream_key
        with pytest.raises(StoreError, match="at least 8 characters"):
            store.set_stream_key("a", "short")
    rows = (
        sqlite3.connect(tmp_path / "lab.db")
        .execute("SELECT stream_key_hash FROM streams ORDER BY id")
        .fetchall()
    )
    (ha,), (hb,) = rows
    assert ha.startswith("scrypt$") and hb.startswith("scrypt$")
    assert ha != hb  # ... gives two different hashes: salted


def test_srt_passphrase_is_read_from_the_environment_when_asked(tmp_path, monkeypatch):
    with Store(tmp_path / "lab.db") as store:
        store.add_stream("main", srt_passphrase_env="LAB_SRT_PASSPHRASE")
        monkeypatch.delenv("LAB_SRT_PASSPHRASE", raising=False)
        with pytest.raises(StoreError, match=r"LAB_SRT_PASSPHRASE .* is not set"):
            store.srt_passphrase("main")
        monkeypatch.setenv("LAB_SRT_PASSPHRASE", "pass-from-env-1234")
        assert store.srt_passphrase("main") == "pass-from-env-1234"
        store.add_stream("plain")
        assert store.srt_passphrase("plain") is None


def test_redact_hides_url_parameters_and_known_values():
    text = "srt://h:9000?mode=caller&passphrase=s3cr3t-value&latency=200 key: k3y pass word"
    out = redact(text, ["word"])
    assert "s3cr3t-value" not in out and "k3y" not in out and "word" not in out
    assert "latency=200" in out and "passphrase=***" in out


def test_no_secret_in_any_table_file_repr_export_or_log(tmp_path, monkeypatch, caplog):
    passphrase = "pp-" + secrets.token_hex(16)
    monkeypatch.setenv("SHOW_SRT_PASSPHRASE", passphrase)
    caplog.set_level(logging.DEBUG)
    path = tmp_path / "lab.db"
    seen: list[str] = []  # every repr and export a user could look at
    with Store(path) as store:
        stream = store.add_stream(
            "show",
            srt_destination="srt://cdn.example:9000?latency=200",
            srt_passphrase_env="SHOW_SRT_PASSPHRASE",
        )
        key = store.new_stream_key("show")
        store.set_stream_key("show", key)
        assert store.verify_stream_key("show", key)
        assert not store.verify_stream_key("show", passphrase)
        assert store.srt_passphrase("show") == passphrase
        store.start_stream("show", first_pts=0)
        planned = store.plan("show", Schedule([AdBreak(60, 30, cue_id="a")]))
        store.log_cue("show", planned[0].cue, cue_id="a", role="out")
        # an FFmpeg/SRT error message that echoes the URL with the passphrase in it
        store.log_cue(
            "show",
            planned[1].cue,
            cue_id="a",
            role="in",
            success=False,
            error=f"srt://cdn.example:9000?passphrase={passphrase}: Connection setup failure; "
            f"passphrase was {passphrase}",
        )
        store.add_analytics("show", [{"bitrate_kbps": 4000.0, "srt_rtt_ms": 20.0}])
        store.end_stream("show")
        stream = store.stream("show")
        seen += [repr(store), repr(stream), str(stream), repr(store.event_ids("show"))]
        for df in (store.streams(), store.markers("show"), store.logs(), store.analytics("show")):
            seen += [df.to_csv(), df.to_json(date_format="iso"), repr(df), df.to_html()]
        seen += [store.schedule("show").to_json(), store.schedule("show").to_csv()]
        seen += [repr(p) for p in planned]
    seen += [r.getMessage() for r in caplog.records]
    assert any("failed" in line for line in seen)  # the failure was logged and exported ...
    assert any("passphrase=***" in line for line in seen)  # ... with the secret redacted

    for text in seen:
        assert key not in text
        assert passphrase not in text
    # every byte SQLite wrote: the database, its WAL and shared memory files
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("lab.db"))
    for secret in (key, passphrase):
        assert secret.encode() not in raw
    # and every cell of every table, as text
    conn = sqlite3.connect(path)
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        for row in conn.execute(f"SELECT * FROM {table}"):
            for cell in row:
                assert key not in str(cell) and passphrase not in str(cell)


def test_redact_hides_a_passphrase_with_spaces_whole():
    from scte35lab.schedule.keys import redact

    secret = "open sesame phrase"
    text = f"srt://h:1?passphrase={secret}&latency=200 failed; passphrase={secret}"
    out = redact(text, [secret])
    assert "sesame" not in out and "phrase&" not in out and secret not in out


def test_redact_hides_the_stream_key_of_an_rtmp_url_and_url_passwords():
    text = "push to rtmp://live.example.com:1935/app/sk_live_1234abcd failed; srt://u:pw9@h:1"
    out = redact(text)
    assert "sk_live_1234abcd" not in out and "pw9" not in out
    assert "rtmp://live.example.com:1935/app/***" in out and "srt://u:***@h:1" in out
    assert redact("rtmp://h/live") == "rtmp://h/live"  # no key in it: nothing to hide


def test_a_stream_key_in_an_rtmp_url_is_not_stored_by_log_cue(tmp_path, caplog):
    from scte35lab import Cue

    with Store(tmp_path / "lab.db") as store:
        store.add_stream("a")
        err = "fallback to rtmp://a.example/live2/sk_9f8e7d6c5b refused"
        with caplog.at_level(logging.DEBUG):
            store.log_cue("a", Cue.splice_null(), state="missed", error=err)
        logs = store.logs("a")
    assert "sk_9f8e7d6c5b" not in logs["error_message"].iloc[0]
    assert all("sk_9f8e7d6c5b" not in r.getMessage() for r in caplog.records)
