-- Tables carry their component's name, as the directory's do: scim_resources, scim_members,
-- scim_emails, with their indexes, keys and identity sequence renamed alike. RENAME keeps
-- the rows; foreign keys follow the tables by oid.
ALTER TABLE resources RENAME TO scim_resources;
ALTER TABLE emails RENAME TO scim_emails;
ALTER TABLE members RENAME TO scim_members;

ALTER INDEX resources_tenant_id RENAME TO scim_resources_tenant_id;
ALTER INDEX resources_tenant_user_name RENAME TO scim_resources_tenant_user_name;
ALTER INDEX resources_tenant_kind_seq RENAME TO scim_resources_tenant_kind_seq;
ALTER INDEX resources_tenant_kind_external_id RENAME TO scim_resources_tenant_kind_external_id;
ALTER INDEX resources_tenant_kind_display_name RENAME TO scim_resources_tenant_kind_display_name;
ALTER INDEX emails_tenant_value RENAME TO scim_emails_tenant_value;
ALTER INDEX members_member_id RENAME TO scim_members_member_id;

ALTER TABLE scim_resources RENAME CONSTRAINT resources_pkey TO scim_resources_pkey;
ALTER TABLE scim_emails RENAME CONSTRAINT emails_pkey TO scim_emails_pkey;
ALTER TABLE scim_members RENAME CONSTRAINT members_pkey TO scim_members_pkey;
ALTER TABLE scim_emails RENAME CONSTRAINT emails_resource_seq_fkey TO scim_emails_resource_seq_fkey;
ALTER TABLE scim_members RENAME CONSTRAINT members_group_seq_fkey TO scim_members_group_seq_fkey;
ALTER SEQUENCE resources_seq_seq RENAME TO scim_resources_seq_seq;
