-- scte35lab store, schema version 1: streams, their ad markers, the cues sent, analytics.
-- Wall-clock times are REAL Unix seconds (UTC). Secrets are never stored: a stream key is
-- kept as a salted scrypt hash, an SRT passphrase as the name of an environment variable.

CREATE TABLE streams (
    id                 INTEGER PRIMARY KEY,
    name               TEXT    NOT NULL UNIQUE,
    description        TEXT    NOT NULL DEFAULT '',
    stream_key_hash    TEXT,
    srt_destination    TEXT,
    srt_passphrase_env TEXT,
    status             TEXT    NOT NULL DEFAULT 'idle'
                       CHECK (status IN ('idle', 'starting', 'live', 'stopping', 'stopped', 'error')),
    is_live            INTEGER NOT NULL DEFAULT 0 CHECK (is_live IN (0, 1)),
    bitrate_kbps       REAL,
    width              INTEGER,
    height             INTEGER,
    fps                REAL,
    started_at         REAL,
    ended_at           REAL,
    created_at         REAL    NOT NULL
);

CREATE TABLE ad_markers (
    id                    INTEGER PRIMARY KEY,
    stream_id             INTEGER NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    cue_id                TEXT    NOT NULL,
    start_s               REAL    NOT NULL,
    duration_s            REAL    NOT NULL CHECK (duration_s > 0),
    ad_type               TEXT    NOT NULL DEFAULT 'midroll',
    inserted              INTEGER NOT NULL DEFAULT 0 CHECK (inserted IN (0, 1)),
    inserted_at           REAL,
    splice_event_id       INTEGER,
    segmentation_event_id INTEGER,
    provider_avail_id     INTEGER,
    auto_return           INTEGER NOT NULL DEFAULT 1 CHECK (auto_return IN (0, 1)),
    avail_num             INTEGER,
    avails_expected       INTEGER,
    UNIQUE (stream_id, cue_id)
);

CREATE TABLE scte35_logs (
    id            INTEGER PRIMARY KEY,
    stream_id     INTEGER NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    cue_id        TEXT,
    section_hex   TEXT    NOT NULL,
    inserted_at   REAL    NOT NULL,
    success       INTEGER NOT NULL CHECK (success IN (0, 1)),
    error_message TEXT
);
CREATE INDEX scte35_logs_stream_time ON scte35_logs (stream_id, inserted_at);

CREATE TABLE stream_analytics (
    id                 INTEGER PRIMARY KEY,
    stream_id          INTEGER NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    ts                 REAL    NOT NULL,
    bitrate_kbps       REAL,
    fps                REAL,
    srt_rtt_ms         REAL,
    srt_send_rate_mbps REAL,
    srt_pkt_loss       INTEGER,
    srt_pkt_retrans    INTEGER,
    cpu_percent        REAL,
    memory_mb          REAL
);
CREATE INDEX stream_analytics_stream_time ON stream_analytics (stream_id, ts);
