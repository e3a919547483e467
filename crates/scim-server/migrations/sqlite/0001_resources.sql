-- Resources of every tenant and kind. `seq` is the stable insertion order
-- (AUTOINCREMENT: never reused, so keyset scans stay monotonic).
-- Index columns are extracted from `data` by the store on every write.
CREATE TABLE resources (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant        TEXT    NOT NULL,
    kind          TEXT    NOT NULL,          -- 'User' | 'Group'
    id            TEXT    NOT NULL,
    data          TEXT    NOT NULL,          -- JSON without id/meta/members/groups
    version       INTEGER NOT NULL,
    created       TEXT    NOT NULL,
    last_modified TEXT    NOT NULL,
    user_name     TEXT,                      -- lower-cased, users only
    external_id   TEXT,                      -- exact
    display_name  TEXT,                      -- lower-cased
    display       TEXT                       -- label shown in members/groups: displayName, else userName
);
CREATE UNIQUE INDEX resources_tenant_id ON resources (tenant, id);
CREATE UNIQUE INDEX resources_tenant_user_name ON resources (tenant, user_name);
CREATE INDEX resources_tenant_kind_seq ON resources (tenant, kind, seq);
CREATE INDEX resources_tenant_kind_external_id ON resources (tenant, kind, external_id);
CREATE INDEX resources_tenant_kind_display_name ON resources (tenant, kind, display_name);

CREATE TABLE emails (
    resource_seq INTEGER NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    tenant       TEXT    NOT NULL,
    value        TEXT    NOT NULL,           -- lower-cased
    PRIMARY KEY (resource_seq, value)
) WITHOUT ROWID;
CREATE INDEX emails_tenant_value ON emails (tenant, value, resource_seq);

-- Group membership by member id. A member need not exist (yet): it is
-- joined to `resources` on (tenant, id) when read. `member_type` is the kind
-- of the member when it was written, or the client's type for an unknown id.
CREATE TABLE members (
    group_seq   INTEGER NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    member_id   TEXT    NOT NULL,
    member_type TEXT    NOT NULL,          -- 'User' | 'Group'
    PRIMARY KEY (group_seq, member_id)
) WITHOUT ROWID;
CREATE INDEX members_member_id ON members (member_id, group_seq);
