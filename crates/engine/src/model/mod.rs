//! Graph's `synchronization` wire shapes, property for property as Microsoft's beta reference
//! spells them (`microsoftgraph/microsoft-graph-docs-contrib`,
//! `api-reference/beta/resources/synchronization-*.md`).
//!
//! Conventions, where the pages leave a choice:
//! - Graph returns every property, `null` included, so `None` serialises as `null`; a missing
//!   property reads as `None` (the pages' samples are often shortened).
//! - Enumerations keep values Graph may add later (Graph's own `unknownFutureValue` habit)
//!   in an `Other` variant, so a document read and written back loses nothing. Known values
//!   are read in any letter case (the schema page's sample writes the attribute type
//!   `"string"`) and written as the reference spells them.
//! - Timestamps stay text: Graph's own samples carry `""` and `0001-01-01T00:00:00Z` for
//!   "never", which a date type would reject or rewrite.

mod flags;
mod job;
mod schema;

pub(crate) use flags::split_flags as flags_of;
pub use flags::{FlagsError, FlowTypes};
pub use job::{
    KeyValuePair, QuarantineReason, StringKeyLongValuePair, StringKeyStringValuePair,
    SynchronizationError, SynchronizationJob, SynchronizationJobRestartCriteria,
    SynchronizationProgress, SynchronizationQuarantine, SynchronizationSchedule,
    SynchronizationScheduleState, SynchronizationSecret, SynchronizationSecretKeyStringValuePair,
    SynchronizationStatus, SynchronizationStatusCode, SynchronizationTaskExecution,
    SynchronizationTaskExecutionResult, SynchronizationTemplate,
};
pub use schema::{
    AttributeDefinition, AttributeFlowBehavior, AttributeFlowType, AttributeMapping,
    AttributeMappingParameter, AttributeMappingSource, AttributeMappingSourceType, AttributeType,
    DirectoryDefinition, Filter, FilterClause, FilterGroup, FilterOperand, FilterOperatorSchema,
    Mutability, ObjectDefinition, ObjectMapping, OperatorArity, ReferencedObject,
    ScopeOperatorMultiValuedComparisonType, SynchronizationRule, SynchronizationSchema,
};

/// Declares a Graph enumeration: the known values as Microsoft spells them, plus `Other`
/// for anything else, read and written as a JSON string.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident default $default:ident { $($body:tt)* }) => {
        wire_enum! { $(#[$meta])* $name { $($body)* } }

        impl Default for $name {
            fn default() -> Self {
                $name::$default
            }
        }
    };
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this version does not know, kept as written.
            Other(String),
        }

        impl $name {
            /// The value as Microsoft's reference spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Other(text) => text,
                }
            }

            /// Reads a value in any letter case; unknown values become `Other`.
            pub fn parse(text: &str) -> Self {
                $(if text.eq_ignore_ascii_case($text) {
                    return $name::$variant;
                })+
                $name::Other(text.to_string())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Ok($name::parse(&text))
            }
        }
    };
}

pub(crate) use wire_enum;
