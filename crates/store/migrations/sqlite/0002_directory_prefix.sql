-- Tables carry their component's name, as on PostgreSQL: directory_objects,
-- directory_members, directory_assignments, directory_changes, directory_settings. RENAME
-- keeps the rows (and AUTOINCREMENT's counter); SQLite cannot rename an index, so each is
-- built again under its new name.
ALTER TABLE objects RENAME TO directory_objects;
ALTER TABLE members RENAME TO directory_members;
ALTER TABLE assignments RENAME TO directory_assignments;
ALTER TABLE changes RENAME TO directory_changes;
ALTER TABLE settings RENAME TO directory_settings;

DROP INDEX objects_unique_live;
DROP INDEX objects_by_id;
DROP INDEX objects_by_display;
DROP INDEX objects_by_nickname;
DROP INDEX objects_by_mail;
DROP INDEX objects_by_employee;
DROP INDEX objects_by_manager;
DROP INDEX objects_deleted;
DROP INDEX members_by_member;
DROP INDEX assignments_by_resource;
DROP INDEX assignments_by_principal;
CREATE UNIQUE INDEX directory_objects_unique_live ON directory_objects (kind, unique_key)
    WHERE deleted IS NULL AND unique_key IS NOT NULL;
CREATE INDEX directory_objects_by_id ON directory_objects (kind, deleted, id);
CREATE INDEX directory_objects_by_display ON directory_objects (kind, deleted, display_key, id);
CREATE INDEX directory_objects_by_nickname ON directory_objects (kind, nickname_key);
CREATE INDEX directory_objects_by_mail ON directory_objects (kind, mail_key);
CREATE INDEX directory_objects_by_employee ON directory_objects (kind, employee_id);
CREATE INDEX directory_objects_by_manager ON directory_objects (manager_id)
    WHERE manager_id IS NOT NULL;
CREATE INDEX directory_objects_deleted ON directory_objects (deleted) WHERE deleted IS NOT NULL;
CREATE INDEX directory_members_by_member ON directory_members (member_id);
CREATE INDEX directory_assignments_by_resource ON directory_assignments (resource_id, id);
CREATE INDEX directory_assignments_by_principal ON directory_assignments (principal_id, id);
