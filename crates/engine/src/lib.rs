//! provisio's domain: the source directory (users, groups, service principals, app role
//! assignments), its change log, and the ports (`DirectoryStore`) that the `store` crate
//! implements for SQLite and PostgreSQL.
//!
//! This crate does no IO of its own: it validates and shapes directory objects, and it
//! orchestrates reads and writes through the [`directory::DirectoryStore`] port.

pub mod directory;
