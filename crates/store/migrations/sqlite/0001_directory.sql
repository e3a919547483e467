-- The source directory. `data` is the object's canonical Graph JSON without id and
-- timestamps; the *_key columns are lower-cased copies of the properties lists seek on.
CREATE TABLE objects (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    data         TEXT NOT NULL,
    manager_id   TEXT,
    created      TEXT NOT NULL,
    deleted      TEXT,
    version      INTEGER NOT NULL,
    unique_key   TEXT,
    nickname_key TEXT,
    display_key  TEXT,
    mail_key     TEXT,
    employee_id  TEXT
);
-- Users' userPrincipalName and service principals' appId are unique among live objects.
CREATE UNIQUE INDEX objects_unique_live ON objects (kind, unique_key)
    WHERE deleted IS NULL AND unique_key IS NOT NULL;
CREATE INDEX objects_by_id ON objects (kind, deleted, id);
CREATE INDEX objects_by_display ON objects (kind, deleted, display_key, id);
CREATE INDEX objects_by_nickname ON objects (kind, nickname_key);
CREATE INDEX objects_by_mail ON objects (kind, mail_key);
CREATE INDEX objects_by_employee ON objects (kind, employee_id);
CREATE INDEX objects_by_manager ON objects (manager_id) WHERE manager_id IS NOT NULL;
CREATE INDEX objects_deleted ON objects (deleted) WHERE deleted IS NOT NULL;

CREATE TABLE members (
    group_id    TEXT NOT NULL,
    member_id   TEXT NOT NULL,
    member_kind TEXT NOT NULL,
    PRIMARY KEY (group_id, member_id)
) WITHOUT ROWID;
CREATE INDEX members_by_member ON members (member_id);

CREATE TABLE assignments (
    id             TEXT PRIMARY KEY,
    principal_id   TEXT NOT NULL,
    principal_kind TEXT NOT NULL,
    resource_id    TEXT NOT NULL,
    app_role_id    TEXT NOT NULL,
    created        TEXT NOT NULL
);
CREATE INDEX assignments_by_resource ON assignments (resource_id, id);
CREATE INDEX assignments_by_principal ON assignments (principal_id, id);

-- The change log: one writer at a time (SQLite), so seq order is commit order.
CREATE TABLE changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    object_id  TEXT NOT NULL,
    op         TEXT NOT NULL,
    related_id TEXT,
    at         TEXT NOT NULL
);

CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
