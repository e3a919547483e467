//! The SCIM 2.0 protocol (RFC 7643, RFC 7644) with no IO: schemas, resources as schema-driven
//! JSON values, the filter and path grammar, PATCH, projection, list and bulk messages, errors.
//!
//! Attribute names and paths are case-insensitive everywhere; stored resources use the
//! schema's canonical spelling.

pub mod bulk;
pub mod error;
pub mod filter;
pub mod list;
pub mod patch;
pub mod path;
pub mod projection;
pub mod resource;
pub mod schema;
mod schema_types;

pub use error::{ScimError, ScimType};
