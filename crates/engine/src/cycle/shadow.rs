//! What a link remembers of the last export, and the PATCH operations that bring an account
//! from what it holds to what the mapping wants.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::log::Modified;
use crate::target::PatchOperation;

/// The shadow as stored in a link.
#[derive(Debug, Clone, Default)]
pub(super) struct Shadow {
    pub(super) attributes: Map<String, Value>,
    pub(super) references: BTreeMap<String, Vec<String>>,
}

impl Shadow {
    /// The attributes of a stored shadow, without reading (copying) its references.
    pub(super) fn read_attributes(value: Option<&Value>) -> Option<Map<String, Value>> {
        value?.get("attributes")?.as_object().cloned()
    }

    /// The shadow a link stores, or `None` when it is not one. The ids move out of the
    /// link's JSON, not copied: a large group's shadow holds them by the hundred thousand.
    /// An attribute whose references are not a list reads as no ids.
    pub(super) fn take(value: Option<Value>) -> Option<Shadow> {
        let Value::Object(mut value) = value? else {
            return None;
        };
        let Some(Value::Object(attributes)) = value.remove("attributes") else {
            return None;
        };
        let references = match value.remove("references") {
            Some(Value::Object(refs)) => refs
                .into_iter()
                .map(|(k, v)| {
                    let ids = match v {
                        Value::Array(ids) => ids
                            .into_iter()
                            .filter_map(|id| match id {
                                Value::String(id) => Some(id),
                                _ => None,
                            })
                            .collect(),
                        _ => Vec::new(),
                    };
                    (k, ids)
                })
                .collect(),
            _ => BTreeMap::new(),
        };
        Some(Shadow {
            attributes,
            references,
        })
    }

    /// The shadow as a link stores it; the ids move into the JSON, not copied.
    pub(super) fn into_json(self) -> Value {
        let references: Map<String, Value> = self
            .references
            .into_iter()
            .map(|(k, ids)| {
                (
                    k,
                    Value::Array(ids.into_iter().map(Value::String).collect()),
                )
            })
            .collect();
        let mut json = Map::new();
        json.insert("attributes".to_string(), Value::Object(self.attributes));
        json.insert("references".to_string(), Value::Object(references));
        Value::Object(json)
    }
}

fn case_insensitive<'m>(map: &'m Map<String, Value>, key: &str) -> Option<&'m Value> {
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The operations that make `base` hold `desired`, and what they change.
pub(super) fn diff(
    desired: &Map<String, Value>,
    base: &Map<String, Value>,
) -> (Vec<PatchOperation>, Vec<Modified>) {
    let mut ops = Vec::new();
    let mut modified = Vec::new();
    for (key, value) in desired {
        let current = case_insensitive(base, key);
        match (key.starts_with("urn:"), value) {
            (true, Value::Object(subs)) => {
                let empty = Map::new();
                let current = current.and_then(Value::as_object).unwrap_or(&empty);
                for (sub, value) in subs {
                    let old = case_insensitive(current, sub);
                    if old != Some(value) {
                        let path = format!("{key}:{sub}");
                        ops.push(PatchOperation::replace(path.clone(), value.clone()));
                        modified.push(Modified {
                            name: path,
                            old: old.cloned(),
                            new: Some(value.clone()),
                        });
                    }
                }
            }
            _ => {
                if current != Some(value) {
                    ops.push(PatchOperation::replace(key.clone(), value.clone()));
                    modified.push(Modified {
                        name: key.clone(),
                        old: current.cloned(),
                        new: Some(value.clone()),
                    });
                }
            }
        }
    }
    (ops, modified)
}

/// `desired` written over `base`, extension attributes merged per sub-attribute.
pub(super) fn merge(base: &mut Map<String, Value>, desired: &Map<String, Value>) {
    for (key, value) in desired {
        match (value, base.get_mut(key)) {
            (Value::Object(subs), Some(Value::Object(current))) if key.starts_with("urn:") => {
                for (sub, value) in subs {
                    current.insert(sub.clone(), value.clone());
                }
            }
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn map(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn diffs_replace_what_differs_and_nothing_else() {
        // (desired, base, expected operations as (path, value))
        let rows = [
            (json!({"title": "A"}), json!({"title": "A"}), vec![]),
            (
                json!({"title": "B"}),
                json!({"title": "A"}),
                vec![("title", json!("B"))],
            ),
            // Names compare in any letter case; values exactly.
            (json!({"userName": "a"}), json!({"USERNAME": "a"}), vec![]),
            (
                json!({"userName": "a"}),
                json!({"userName": "A"}),
                vec![("userName", json!("a"))],
            ),
            // Values the mapping no longer yields are left alone (no nulls are exported).
            (json!({}), json!({"title": "A"}), vec![]),
            (
                json!({"name": {"givenName": "Ann", "familyName": "Lee"}}),
                json!({"name": {"givenName": "Ann"}}),
                vec![("name", json!({"givenName": "Ann", "familyName": "Lee"}))],
            ),
            // Extension attributes go per sub-attribute.
            (
                json!({ENTERPRISE: {"department": "Sales", "employeeNumber": "7"}}),
                json!({ENTERPRISE: {"department": "Legal", "employeeNumber": "7"}}),
                vec![(
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                    json!("Sales"),
                )],
            ),
        ];
        for (desired, base, expected) in rows {
            let (ops, modified) = diff(&map(desired.clone()), &map(base.clone()));
            let got: Vec<(String, Value)> = ops
                .iter()
                .map(|op| {
                    (
                        op.path.clone().unwrap_or_default(),
                        op.value.clone().unwrap_or(Value::Null),
                    )
                })
                .collect();
            let expected: Vec<(String, Value)> = expected
                .into_iter()
                .map(|(path, value)| (path.to_string(), value))
                .collect();
            assert_eq!(got, expected, "{desired} over {base}");
            assert_eq!(modified.len(), ops.len());
            let mut merged = map(base.clone());
            merge(&mut merged, &map(desired.clone()));
            assert!(
                diff(&map(desired.clone()), &merged).0.is_empty(),
                "merging {desired} over {base} leaves nothing to send"
            );
        }
    }

    #[test]
    fn shadows_read_back_what_they_wrote() {
        let shadow = Shadow {
            attributes: map(json!({"userName": "ann@x", "active": true})),
            references: BTreeMap::from([("members".to_string(), vec!["1".to_string()])]),
        };
        let json = shadow.clone().into_json();
        assert_eq!(
            json,
            json!({"attributes": {"userName": "ann@x", "active": true}, "references": {"members": ["1"]}})
        );
        assert_eq!(
            Shadow::read_attributes(Some(&json)),
            Some(shadow.attributes.clone())
        );
        let read = Shadow::take(Some(json)).unwrap();
        assert_eq!(read.attributes, shadow.attributes);
        assert_eq!(read.references, shadow.references);
    }

    #[test]
    fn stored_shadows_are_read_leniently_or_not_at_all() {
        // (stored JSON, attributes and references read, or None)
        type Read = Option<(Value, Vec<(&'static str, Vec<&'static str>)>)>;
        let rows: Vec<(Option<Value>, Read)> = vec![
            (None, None),
            (Some(json!("not a shadow")), None),
            (Some(json!({"references": {}})), None),
            (Some(json!({"attributes": [], "references": {}})), None),
            (
                Some(json!({"attributes": {"a": 1}})),
                Some((json!({"a": 1}), vec![])),
            ),
            (
                Some(json!({"attributes": {}, "references": []})),
                Some((json!({}), vec![])),
            ),
            // Ids that are not strings are skipped; references that are not a list are none.
            (
                Some(
                    json!({"attributes": {}, "references": {"members": ["a", 7, "b"], "manager": "x"}}),
                ),
                Some((
                    json!({}),
                    vec![("manager", vec![]), ("members", vec!["a", "b"])],
                )),
            ),
        ];
        for (stored, expected) in rows {
            let expected = expected.map(|(attributes, references)| {
                (
                    map(attributes),
                    references
                        .into_iter()
                        .map(|(k, ids)| {
                            (k.to_string(), ids.into_iter().map(String::from).collect())
                        })
                        .collect::<BTreeMap<String, Vec<String>>>(),
                )
            });
            assert_eq!(
                Shadow::read_attributes(stored.as_ref()),
                expected.as_ref().map(|(attributes, _)| attributes.clone()),
                "{stored:?}"
            );
            let taken = Shadow::take(stored.clone()).map(|s| (s.attributes, s.references));
            assert_eq!(taken, expected, "{stored:?}");
        }
    }
}
