-- The engine's state (the `sync` component), in `sync.db`: a file of its own so that a
-- cycle's writes never queue behind a directory import on the directory's writer.
-- JSON columns hold the text the engine wrote (key order kept); ids are text, whose order
-- is the engine's order of the same values (lower-case hyphenated UUIDs sort as bytes).
CREATE TABLE sync_jobs (
    id                   TEXT PRIMARY KEY,
    service_principal_id TEXT NOT NULL,
    template_id          TEXT NOT NULL,
    job                  TEXT NOT NULL,
    schema               TEXT NOT NULL,
    version              INTEGER NOT NULL,
    created              TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX sync_jobs_by_principal ON sync_jobs (service_principal_id, id);

CREATE TABLE sync_secrets (
    service_principal_id TEXT PRIMARY KEY,
    sealed               BLOB NOT NULL
) WITHOUT ROWID;

-- origin, shadow and stale are JSON; stale is NULL for a link the rules would still choose.
CREATE TABLE sync_links (
    job_id       TEXT NOT NULL,
    object_type  TEXT NOT NULL,
    source_id    TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    display_name TEXT,
    origin       TEXT NOT NULL,
    made         TEXT NOT NULL,
    shadow       TEXT,
    stale        TEXT,
    PRIMARY KEY (job_id, object_type, source_id)
);
-- Pages of every type, in source id order.
CREATE INDEX sync_links_by_source ON sync_links (job_id, source_id, object_type);
-- A target is linked to one source object of a job and type; also `link_by_target`.
CREATE UNIQUE INDEX sync_links_by_target ON sync_links (job_id, target_id, object_type);
-- Pages of stale links (few among many).
CREATE INDEX sync_links_stale ON sync_links (job_id, source_id, object_type)
    WHERE stale IS NOT NULL;

CREATE TABLE sync_watermarks (
    job_id    TEXT PRIMARY KEY,
    watermark INTEGER NOT NULL
) WITHOUT ROWID;

-- until is '' once released; fence is 0 until the first acquisition.
CREATE TABLE sync_leases (
    job_id TEXT PRIMARY KEY,
    worker TEXT NOT NULL,
    until  TEXT NOT NULL,
    fence  INTEGER NOT NULL
) WITHOUT ROWID;
-- The last fence handed out, of any job: fences never repeat, not even for a job made
-- again under a deleted job's id.
CREATE TABLE sync_fence (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    last INTEGER NOT NULL
);
INSERT INTO sync_fence (id, last) VALUES (1, 0);

CREATE TABLE sync_logs (
    id        TEXT PRIMARY KEY,
    job_id    TEXT NOT NULL,
    cycle_id  TEXT NOT NULL,
    activity  TEXT NOT NULL,
    action    TEXT NOT NULL,
    status    TEXT NOT NULL,
    source_id TEXT,
    target_id TEXT,
    summary   TEXT NOT NULL
) WITHOUT ROWID;
-- Keyset pages (activity, id), and purges by activity.
CREATE INDEX sync_logs_by_activity ON sync_logs (activity, id);
CREATE INDEX sync_logs_by_job ON sync_logs (job_id, activity, id);
CREATE INDEX sync_logs_by_cycle ON sync_logs (cycle_id, activity, id);
CREATE INDEX sync_logs_by_source ON sync_logs (source_id, activity, id) WHERE source_id IS NOT NULL;
CREATE INDEX sync_logs_by_target ON sync_logs (target_id, activity, id) WHERE target_id IS NOT NULL;
