//! The provisioning engine's domain: Graph's `synchronization` model, the `scim` template,
//! scoping filters, attribute mapping into SCIM resources, and what a restart resets. No IO:
//! the cycle that reads the directory and writes the target builds on these.
//!
//! - [`model`]: Graph's wire shapes (jobs, status, schema, mappings, filters, secrets).
//! - [`template`]: the `scim` template, the default schema of a custom SCIM application.
//! - [`source`]: the source object a cycle evaluates (a Graph object plus the attributes
//!   Entra computes, such as `IsSoftDeleted`).
//! - [`scoping`]: scoping filters evaluated over a source object, and the operator list of
//!   `schema/filterOperators`.
//! - [`mapping`]: an object mapping compiled once, evaluated into the desired SCIM resource,
//!   its references and its matching values.
//! - [`restart`]: the `resetScope` flags of a restart and what each clears.
//! - [`cycle`]: one provisioning cycle of a job (full or incremental), run against the
//!   directory, the state store and a target, and `MemoryTarget` to run it in tests.
//! - [`synchronization`]: the `synchronization` API's operations over the state store (jobs,
//!   schema, secrets sealed by [`secrets`], object connections), timed by a [`clock`].

pub mod clock;
pub mod cycle;
pub mod mapping;
pub mod model;
pub mod restart;
pub mod scoping;
pub mod secrets;
pub mod source;
pub mod state;
pub mod synchronization;
pub mod target;
pub mod template;
pub mod worker;
