-- Version 2 gives the SQLite tables their `directory_` prefix; these have had it from the
-- start. Nothing to do, so that a version means one layout on both backends.
SELECT 1;
