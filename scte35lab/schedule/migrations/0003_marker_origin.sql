-- Schema version 3: a marker says where its break came from. 'schedule' rows are the
-- stream's schedule (read back by Store.schedule, replaced by save_schedule); 'on_demand'
-- rows record breaks called while live (Pipeline.cue_out) and are never re-scheduled.

ALTER TABLE ad_markers ADD COLUMN origin TEXT NOT NULL DEFAULT 'schedule'
    CHECK (origin IN ('schedule', 'on_demand'));
