-- A member's type is the kind of the resource its id names, read by a join; a member whose
-- id names no resource (yet) has none. The type recorded at write time is no longer read.
ALTER TABLE scim_members DROP COLUMN member_type;
