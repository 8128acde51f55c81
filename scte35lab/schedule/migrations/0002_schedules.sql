-- Schema version 2: schedules live in the store. Markers keep the whole AdBreak (plan, UPID,
-- notes), a stream keeps its clock (first video PTS), logs say which cue of a break they
-- carried, and event ids are allocated per stream so they never repeat.

ALTER TABLE ad_markers ADD COLUMN plan TEXT;
ALTER TABLE ad_markers ADD COLUMN upid_type INTEGER;
ALTER TABLE ad_markers ADD COLUMN upid TEXT;
ALTER TABLE ad_markers ADD COLUMN notes TEXT NOT NULL DEFAULT '';

ALTER TABLE streams ADD COLUMN first_pts INTEGER;

ALTER TABLE scte35_logs ADD COLUMN role TEXT;
ALTER TABLE scte35_logs ADD COLUMN splice_pts INTEGER;

CREATE TABLE event_ids (
    stream_id  INTEGER NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    event_id   INTEGER NOT NULL CHECK (event_id BETWEEN 0 AND 4294967295),
    owner      TEXT,
    created_at REAL    NOT NULL,
    PRIMARY KEY (stream_id, event_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX event_ids_owner ON event_ids (stream_id, owner) WHERE owner IS NOT NULL;

-- Event ids already written on markers by version 1 stay taken, owned by their break
-- (owner keys as scte35lab.schedule.plans writes them: '<cue_id>/splice', '<cue_id>/seg').
INSERT OR IGNORE INTO event_ids (stream_id, event_id, owner, created_at)
    SELECT stream_id, splice_event_id, cue_id || '/splice', CAST(strftime('%s', 'now') AS REAL) FROM ad_markers
    WHERE splice_event_id IS NOT NULL;
INSERT OR IGNORE INTO event_ids (stream_id, event_id, owner, created_at)
    SELECT stream_id, segmentation_event_id, cue_id || '/seg', CAST(strftime('%s', 'now') AS REAL) FROM ad_markers
    WHERE segmentation_event_id IS NOT NULL;

-- The schedule-wide settings of each stream's schedule (breaks are the ad_markers rows).
CREATE TABLE stream_schedules (
    stream_id  INTEGER PRIMARY KEY REFERENCES streams (id) ON DELETE CASCADE,
    plan       TEXT NOT NULL DEFAULT 'splice_insert',
    rules_json TEXT NOT NULL DEFAULT '{}'
);
