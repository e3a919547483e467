//! The source object a cycle scopes and maps: a Graph user or group, under the attribute
//! names of Entra's provisioning schema, plus the attributes Entra computes.
//!
//! Entra's provisioning schema for its own directory (`Azure Active Directory`) predates
//! Microsoft Graph and names some properties after Azure AD Graph and Active Directory:
//! `objectId` (Graph's `id`), `mobile` (`mobilePhone`), `telephoneNumber` (the first of
//! `businessPhones`), `facsimileTelephoneNumber` (`faxNumber`), `physicalDeliveryOfficeName`
//! (`officeLocation`). A source object carries both spellings, so a mapping written against
//! either reads the same value.
//!
//! `IsSoftDeleted` (MicrosoftDocs/entra-docs, `customize-application-attributes.md`, "What
//! you should know") is true when the object is out of scope (unassigned, or failing a
//! scoping filter), soft deleted in the directory, or a user whose `accountEnabled` is false.

use provisio_directory::ObjectKind;
use provisio_expr::{Source, Value};
use serde_json::{Map, Value as Json};

/// Entra's computed attribute that the default mapping sends, negated, to SCIM `active`.
pub const IS_SOFT_DELETED: &str = "IsSoftDeleted";
/// The anchor of Entra's users and groups: their object id.
pub const OBJECT_ID: &str = "objectId";

/// Graph property → the provisioning schema's name for it, for properties the two name
/// differently. A list-valued Graph property gives its first value.
const PROVISIONING_ALIASES: &[(&str, &str)] = &[
    ("id", OBJECT_ID),
    ("mobilePhone", "mobile"),
    ("businessPhones", "telephoneNumber"),
    ("faxNumber", "facsimileTelephoneNumber"),
    ("officeLocation", "physicalDeliveryOfficeName"),
];

/// Why a Graph object cannot be a source object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("a source object must be a JSON object, not {0}")]
    NotAnObject(&'static str),
    #[error("a source object needs a non-empty string \"id\"")]
    MissingId,
}

/// Which source objects a job considers at all (the `SyncAll` secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScopeMode {
    /// Only users and groups assigned to the application (the default).
    #[default]
    AssignedOnly,
    /// Every user and group (`SyncAll` = `True`).
    SyncAll,
}

/// What decides whether an object is in scope, beyond its attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeFacts {
    pub mode: ScopeMode,
    /// Assigned to the application, directly or through a group.
    pub assigned: bool,
    /// Soft deleted in the directory.
    pub deleted: bool,
    /// Whether the object mapping's scoping filter passes (see [`crate::scoping`]).
    pub passes_scoping_filter: bool,
}

impl ScopeFacts {
    /// Whether the object is entitled to be provisioned: assigned (or every object, with
    /// SyncAll), not deleted, and passing the scoping filter.
    pub fn in_scope(&self) -> bool {
        let entitled = match self.mode {
            ScopeMode::AssignedOnly => self.assigned,
            ScopeMode::SyncAll => true,
        };
        entitled && !self.deleted && self.passes_scoping_filter
    }
}

/// A Graph object ready for scoping and mapping. Attribute names compare case-insensitively,
/// as everywhere in Entra's expressions.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceObject {
    kind: ObjectKind,
    id: String,
    attributes: Map<String, Json>,
}

impl SourceObject {
    /// Takes a Graph user or group (`GET /users/{id}`, with `manager` / `members` as ids or
    /// objects with an `id` when they are to flow) and adds the provisioning schema's names
    /// and `IsSoftDeleted`, true for now only when a user's `accountEnabled` is false; call
    /// [`SourceObject::set_scope`] once scope is known.
    pub fn from_graph(kind: ObjectKind, graph: &Json) -> Result<SourceObject, SourceError> {
        Self::from_graph_owned(kind, graph.clone())
    }

    /// [`SourceObject::from_graph`] without a copy of the object: a group's member list can
    /// hold hundreds of thousands of ids.
    pub fn from_graph_owned(kind: ObjectKind, graph: Json) -> Result<SourceObject, SourceError> {
        let Json::Object(mut attributes) = graph else {
            return Err(SourceError::NotAnObject(json_kind(&graph)));
        };
        let id = match attributes.get("id") {
            Some(Json::String(id)) if !id.is_empty() => id.clone(),
            _ => return Err(SourceError::MissingId),
        };
        for (graph_name, provisioning_name) in PROVISIONING_ALIASES {
            if attributes.contains_key(*provisioning_name) {
                continue;
            }
            let value = match attributes.get(*graph_name) {
                Some(Json::Array(items)) => items.first().cloned(),
                Some(value) => Some(value.clone()),
                None => None,
            };
            if let Some(value) = value.filter(|value| !value.is_null()) {
                attributes.insert((*provisioning_name).to_string(), value);
            }
        }
        let mut object = SourceObject {
            kind,
            id,
            attributes,
        };
        object.set_soft_deleted(false);
        Ok(object)
    }

    pub fn kind(&self) -> ObjectKind {
        self.kind
    }

    /// How many members a group names (0 for a user).
    pub fn member_count(&self) -> usize {
        match self.attributes.get("members") {
            Some(Json::Array(members)) => members.len(),
            _ => 0,
        }
    }

    /// The object id, the anchor links are kept by.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Records scope: `IsSoftDeleted` becomes true when the object is out of scope.
    pub fn set_scope(&mut self, facts: &ScopeFacts) {
        self.set_soft_deleted(!facts.in_scope());
    }

    fn set_soft_deleted(&mut self, out_of_scope: bool) {
        let disabled = self.kind == ObjectKind::User
            && matches!(
                self.attributes.get("accountEnabled"),
                Some(Json::Bool(false))
            );
        self.attributes.insert(
            IS_SOFT_DELETED.to_string(),
            Json::Bool(out_of_scope || disabled),
        );
    }

    /// The attribute called `name`, in any letter case.
    pub fn get(&self, name: &str) -> Option<&Json> {
        self.attributes.get(name).or_else(|| {
            self.attributes
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value)
        })
    }

    /// Every attribute, Graph's names and the provisioning schema's.
    pub fn attributes(&self) -> &Map<String, Json> {
        &self.attributes
    }
}

impl Source for SourceObject {
    fn attribute(&self, name: &str, lower: &str) -> Value<'_> {
        self.attributes.attribute(name, lower)
    }
}

fn json_kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn graph_names_gain_the_provisioning_schemas_names() {
        let user = json!({
            "id": "a1",
            "mobilePhone": "+1 555 0100",
            "businessPhones": ["+1 555 0101", "+1 555 0102"],
            "faxNumber": null,
            "officeLocation": "B/1",
        });
        let source = SourceObject::from_graph(ObjectKind::User, &user).unwrap();
        assert_eq!(source.get("objectId"), Some(&json!("a1")));
        assert_eq!(source.get("mobile"), Some(&json!("+1 555 0100")));
        assert_eq!(source.get("telephoneNumber"), Some(&json!("+1 555 0101")));
        assert_eq!(source.get("facsimileTelephoneNumber"), None);
        assert_eq!(
            source.get("PhysicalDeliveryOfficeName"),
            Some(&json!("B/1"))
        );
    }

    #[test]
    fn is_soft_deleted_follows_scope_deletion_and_account_enabled() {
        let facts = |mode, assigned, deleted, passes_scoping_filter| ScopeFacts {
            mode,
            assigned,
            deleted,
            passes_scoping_filter,
        };
        use ScopeMode::*;
        // (accountEnabled, facts, IsSoftDeleted)
        let rows = [
            (true, facts(AssignedOnly, true, false, true), false),
            (true, facts(AssignedOnly, false, false, true), true),
            (true, facts(SyncAll, false, false, true), false),
            (true, facts(SyncAll, false, false, false), true),
            (true, facts(AssignedOnly, true, true, true), true),
            (false, facts(AssignedOnly, true, false, true), true),
        ];
        for (enabled, facts, expected) in rows {
            let user = json!({"id": "u", "accountEnabled": enabled});
            let mut source = SourceObject::from_graph(ObjectKind::User, &user).unwrap();
            source.set_scope(&facts);
            assert_eq!(
                source.get(IS_SOFT_DELETED),
                Some(&json!(expected)),
                "{enabled} {facts:?}"
            );
        }
    }

    #[test]
    fn objects_without_an_id_are_refused() {
        assert_eq!(
            SourceObject::from_graph(ObjectKind::User, &json!({"displayName": "x"})),
            Err(SourceError::MissingId)
        );
        assert_eq!(
            SourceObject::from_graph(ObjectKind::Group, &json!([])).map(|_| ()),
            Err(SourceError::NotAnObject("an array"))
        );
    }
}
