-- The source directory in PostgreSQL: the SQLite schema (migrations/sqlite/0001_directory.sql)
-- with `directory_` table names, so that it can share a database (and schema) with the SCIM
-- server's tables (which have their own `members`).
--
-- `data` is the object's canonical Graph JSON without id and timestamps, as TEXT: JSONB would
-- reorder its keys. The *_key columns are lower-cased copies of the properties lists seek on.
-- Ids and keys are `COLLATE "C"`: byte order (UTF-8 byte order is code point order), as in
-- SQLite, for ORDER BY, keyset cursors and prefix ranges `[low, low || U+10FFFF)`.
CREATE TABLE directory_objects (
    id           TEXT COLLATE "C" PRIMARY KEY,
    kind         TEXT NOT NULL,
    data         TEXT NOT NULL,
    manager_id   TEXT COLLATE "C",
    created      TEXT NOT NULL,
    deleted      TEXT,
    version      BIGINT NOT NULL,
    unique_key   TEXT COLLATE "C",
    nickname_key TEXT COLLATE "C",
    display_key  TEXT COLLATE "C",
    mail_key     TEXT COLLATE "C",
    employee_id  TEXT COLLATE "C"
);
-- Users' userPrincipalName and service principals' appId are unique among live objects.
CREATE UNIQUE INDEX directory_objects_unique_live ON directory_objects (kind, unique_key)
    WHERE deleted IS NULL AND unique_key IS NOT NULL;
CREATE INDEX directory_objects_by_id ON directory_objects (kind, deleted, id);
CREATE INDEX directory_objects_by_unique ON directory_objects (kind, unique_key, id);
CREATE INDEX directory_objects_by_display ON directory_objects (kind, display_key, id);
CREATE INDEX directory_objects_by_nickname ON directory_objects (kind, nickname_key);
CREATE INDEX directory_objects_by_mail ON directory_objects (kind, mail_key);
CREATE INDEX directory_objects_by_employee ON directory_objects (kind, employee_id);
CREATE INDEX directory_objects_by_manager ON directory_objects (manager_id)
    WHERE manager_id IS NOT NULL;
CREATE INDEX directory_objects_deleted ON directory_objects (deleted) WHERE deleted IS NOT NULL;

CREATE TABLE directory_members (
    group_id    TEXT COLLATE "C" NOT NULL,
    member_id   TEXT COLLATE "C" NOT NULL,
    member_kind TEXT NOT NULL,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX directory_members_by_member ON directory_members (member_id);

CREATE TABLE directory_assignments (
    id             TEXT COLLATE "C" PRIMARY KEY,
    principal_id   TEXT COLLATE "C" NOT NULL,
    principal_kind TEXT NOT NULL,
    resource_id    TEXT COLLATE "C" NOT NULL,
    app_role_id    TEXT NOT NULL,
    created        TEXT NOT NULL
);
CREATE INDEX directory_assignments_by_resource ON directory_assignments (resource_id, id);
CREATE INDEX directory_assignments_by_principal ON directory_assignments (principal_id, id);

-- The change log. Sequence values are handed out in the order transactions ask for them, not
-- the order they commit: every write transaction therefore appends its records last, under a
-- transaction-scoped advisory lock held until it commits (see `Tx::commit` in postgres.rs), so
-- that seq order is commit order.
CREATE TABLE directory_changes (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       TEXT NOT NULL,
    object_id  TEXT NOT NULL,
    op         TEXT NOT NULL,
    related_id TEXT,
    at         TEXT NOT NULL
);

CREATE TABLE directory_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
