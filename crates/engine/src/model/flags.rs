//! `objectMapping.flowTypes`: which target actions a mapping may take, written as .NET flags
//! (`"Add, Update, Delete"`), the admin center's "Target object actions".

use std::fmt;

/// A flags string named a value the enumeration does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {enumeration} flag \"{flag}\" (expected {expected})")]
pub struct FlagsError {
    pub enumeration: &'static str,
    pub flag: String,
    pub expected: &'static str,
}

/// Splits a .NET flags string (`"Add, Update"`) into its trimmed, non-empty names.
pub(crate) fn split_flags(text: &str) -> impl Iterator<Item = &str> {
    text.split(',')
        .map(str::trim)
        .filter(|flag| !flag.is_empty())
}

/// `objectMappingFlowTypes`: `Add`, `Update`, `Delete`. Graph's default is all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowTypes {
    pub add: bool,
    pub update: bool,
    pub delete: bool,
}

impl Default for FlowTypes {
    fn default() -> Self {
        FlowTypes {
            add: true,
            update: true,
            delete: true,
        }
    }
}

impl FlowTypes {
    pub const NONE: FlowTypes = FlowTypes {
        add: false,
        update: false,
        delete: false,
    };

    /// Reads `"Add, Update, Delete"` (names in any letter case, any spacing; `None` or an
    /// empty string for no action).
    pub fn parse(text: &str) -> Result<FlowTypes, FlagsError> {
        let mut flows = FlowTypes::NONE;
        for flag in split_flags(text) {
            match flag.to_ascii_lowercase().as_str() {
                "add" => flows.add = true,
                "update" => flows.update = true,
                "delete" => flows.delete = true,
                "none" => {}
                _ => {
                    return Err(FlagsError {
                        enumeration: "objectFlowTypes",
                        flag: flag.to_string(),
                        expected: "Add, Update, Delete or None",
                    })
                }
            }
        }
        Ok(flows)
    }
}

impl fmt::Display for FlowTypes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = [
            (self.add, "Add"),
            (self.update, "Update"),
            (self.delete, "Delete"),
        ]
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
        .collect();
        if names.is_empty() {
            f.write_str("None")
        } else {
            f.write_str(&names.join(", "))
        }
    }
}

impl serde::Serialize for FlowTypes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for FlowTypes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        FlowTypes::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_types_read_and_write_as_graph_spells_them() {
        let cases: &[(&str, Option<&str>)] = &[
            ("Add, Update, Delete", Some("Add, Update, Delete")),
            ("Add,Update", Some("Add, Update")),
            ("delete, ADD", Some("Add, Delete")),
            ("", Some("None")),
            ("None", Some("None")),
            ("Add, Remove", None),
        ];
        for (input, expected) in cases {
            let parsed = FlowTypes::parse(input).map(|flows| flows.to_string());
            assert_eq!(parsed.ok().as_deref(), *expected, "{input:?}");
        }
        let error = FlowTypes::parse("Add, Remove").unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown objectFlowTypes flag \"Remove\" (expected Add, Update, Delete or None)"
        );
    }
}
