-- Log rows move to a rowid table. Rows are large (the summary) and appended in id order:
-- a WITHOUT ROWID table keeps whole rows in the b-tree of its text key, which suits small
-- rows, and every index entry repeats the 36-character id. With a rowid, rows are appended
-- to the table's b-tree and each index entry points at an 8-byte rowid: about a quarter less
-- work per row written and half the file.
CREATE TABLE sync_logs_by_rowid (
    id        TEXT NOT NULL UNIQUE,
    job_id    TEXT NOT NULL,
    cycle_id  TEXT NOT NULL,
    activity  TEXT NOT NULL,
    action    TEXT NOT NULL,
    status    TEXT NOT NULL,
    source_id TEXT,
    target_id TEXT,
    summary   TEXT NOT NULL
);
INSERT INTO sync_logs_by_rowid (id, job_id, cycle_id, activity, action, status, source_id, target_id, summary)
    SELECT id, job_id, cycle_id, activity, action, status, source_id, target_id, summary
    FROM sync_logs ORDER BY activity, id;
DROP TABLE sync_logs;
ALTER TABLE sync_logs_by_rowid RENAME TO sync_logs;
-- Keyset pages (activity, id), and purges by activity.
CREATE INDEX sync_logs_by_activity ON sync_logs (activity, id);
CREATE INDEX sync_logs_by_job ON sync_logs (job_id, activity, id);
CREATE INDEX sync_logs_by_cycle ON sync_logs (cycle_id, activity, id);
CREATE INDEX sync_logs_by_source ON sync_logs (source_id, activity, id) WHERE source_id IS NOT NULL;
CREATE INDEX sync_logs_by_target ON sync_logs (target_id, activity, id) WHERE target_id IS NOT NULL;
