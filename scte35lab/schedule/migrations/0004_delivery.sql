-- Schema version 4: what became of each cue, with evidence. A cue log row says the cue's
-- final state (delivered: the SRT receiver acknowledged a copy sent at least the pre-roll
-- before the splice point; late: acknowledged with less; unconfirmed: written, then the
-- connection died before any acknowledgement; written: handed to a sender that cannot see
-- acknowledgements; missed; cancelled), the pre-roll of the copy that counted, and where the
-- splice was asked for when the injector moved it to the next IDR. SRT outages keep the
-- bytes the distributor never got.

ALTER TABLE scte35_logs ADD COLUMN state TEXT
    CHECK (state IN ('delivered', 'late', 'unconfirmed', 'written', 'missed', 'cancelled'));
ALTER TABLE scte35_logs ADD COLUMN preroll_s REAL;
ALTER TABLE scte35_logs ADD COLUMN requested_pts INTEGER;
ALTER TABLE scte35_logs ADD COLUMN shift_s REAL;
UPDATE scte35_logs SET state = CASE WHEN success = 1 THEN 'written' ELSE 'missed' END;

ALTER TABLE ad_markers ADD COLUMN shift_s REAL;

ALTER TABLE stream_analytics ADD COLUMN bytes_lost INTEGER;

CREATE TABLE srt_outages (
    id            INTEGER PRIMARY KEY,
    stream_id     INTEGER NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    started_at    REAL    NOT NULL,
    ended_at      REAL,
    bytes_unacked INTEGER CHECK (bytes_unacked IS NULL OR bytes_unacked >= 0),
    bytes_unsent  INTEGER NOT NULL CHECK (bytes_unsent >= 0)
);
CREATE INDEX srt_outages_stream_time ON srt_outages (stream_id, started_at);
