-- The engine's state (the `sync` component), beside the directory in the same database.
-- Text is `COLLATE "C"` (byte order, as in SQLite and in the engine: lower-case hyphenated
-- UUIDs and RFC 3339 times sort as their values). JSON columns hold the text the engine
-- wrote (key order kept), not jsonb.
CREATE TABLE sync_jobs (
    id                   TEXT COLLATE "C" PRIMARY KEY,
    service_principal_id TEXT COLLATE "C" NOT NULL,
    template_id          TEXT NOT NULL,
    job                  TEXT NOT NULL,
    schema               TEXT NOT NULL,
    version              BIGINT NOT NULL,
    created              TEXT NOT NULL
);
CREATE INDEX sync_jobs_by_principal ON sync_jobs (service_principal_id, id);

CREATE TABLE sync_secrets (
    service_principal_id TEXT COLLATE "C" PRIMARY KEY,
    sealed               BYTEA NOT NULL
);

-- origin, shadow and stale are JSON; stale is NULL for a link the rules would still choose.
CREATE TABLE sync_links (
    job_id       TEXT COLLATE "C" NOT NULL,
    object_type  TEXT COLLATE "C" NOT NULL,
    source_id    TEXT COLLATE "C" NOT NULL,
    target_id    TEXT COLLATE "C" NOT NULL,
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
    job_id    TEXT COLLATE "C" PRIMARY KEY,
    watermark BIGINT NOT NULL
);

-- One row per job, made with the job, so that acquirers lock an existing row (SKIP LOCKED)
-- and never wait on each other's inserts. until is '' once released; fence is 0 until the
-- first acquisition.
CREATE TABLE sync_leases (
    job_id TEXT COLLATE "C" PRIMARY KEY,
    worker TEXT COLLATE "C" NOT NULL,
    until  TEXT COLLATE "C" NOT NULL,
    fence  BIGINT NOT NULL
);
-- Fences of every job: they never repeat, not even for a job made again under a deleted
-- job's id.
CREATE SEQUENCE sync_fence;

CREATE TABLE sync_logs (
    id        TEXT COLLATE "C" PRIMARY KEY,
    job_id    TEXT COLLATE "C" NOT NULL,
    cycle_id  TEXT COLLATE "C" NOT NULL,
    activity  TEXT COLLATE "C" NOT NULL,
    action    TEXT COLLATE "C" NOT NULL,
    status    TEXT COLLATE "C" NOT NULL,
    source_id TEXT COLLATE "C",
    target_id TEXT COLLATE "C",
    summary   TEXT NOT NULL
);
-- Keyset pages (activity, id), and purges by activity.
CREATE INDEX sync_logs_by_activity ON sync_logs (activity, id);
CREATE INDEX sync_logs_by_job ON sync_logs (job_id, activity, id);
CREATE INDEX sync_logs_by_cycle ON sync_logs (cycle_id, activity, id);
CREATE INDEX sync_logs_by_source ON sync_logs (source_id, activity, id) WHERE source_id IS NOT NULL;
CREATE INDEX sync_logs_by_target ON sync_logs (target_id, activity, id) WHERE target_id IS NOT NULL;
