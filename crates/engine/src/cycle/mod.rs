//! The provisioning cycle: import from the directory, scope, match, map, diff, export,
//! resolve references, and record links, shadows, log rows and the watermark.

// The target port answers `TargetError` by value; helpers that pass it on keep its shape.
#![allow(clippy::result_large_err)]

pub mod fake_target;

pub use fake_target::MemoryTarget;
