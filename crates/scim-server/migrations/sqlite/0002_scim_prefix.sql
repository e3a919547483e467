-- Tables carry their component's name, as the directory's do: scim_resources, scim_members,
-- scim_emails. RENAME keeps the rows and rewrites the foreign keys that name the tables;
-- SQLite cannot rename an index, so each is built again under its new name.
ALTER TABLE resources RENAME TO scim_resources;
ALTER TABLE emails RENAME TO scim_emails;
ALTER TABLE members RENAME TO scim_members;

DROP INDEX resources_tenant_id;
DROP INDEX resources_tenant_user_name;
DROP INDEX resources_tenant_kind_seq;
DROP INDEX resources_tenant_kind_external_id;
DROP INDEX resources_tenant_kind_display_name;
DROP INDEX emails_tenant_value;
DROP INDEX members_member_id;
CREATE UNIQUE INDEX scim_resources_tenant_id ON scim_resources (tenant, id);
CREATE UNIQUE INDEX scim_resources_tenant_user_name ON scim_resources (tenant, user_name);
CREATE INDEX scim_resources_tenant_kind_seq ON scim_resources (tenant, kind, seq);
CREATE INDEX scim_resources_tenant_kind_external_id ON scim_resources (tenant, kind, external_id);
CREATE INDEX scim_resources_tenant_kind_display_name ON scim_resources (tenant, kind, display_name);
CREATE INDEX scim_emails_tenant_value ON scim_emails (tenant, value, resource_seq);
CREATE INDEX scim_members_member_id ON scim_members (member_id, group_seq);
