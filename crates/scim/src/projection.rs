//! Attribute projection (RFC 7644 §3.4.2.5 and §3.9): `attributes`, `excludedAttributes` and the
//! schema's `returned` rules.

use serde_json::{Map, Value};

use crate::error::{Result, ScimError};
use crate::path::{AttrPath, PatchPath, PathError};
use crate::resource::{find_key, resolve_path, KeyTarget};
use crate::schema::{AttributeDef, ResourceType, Returned};

/// What a client asked to see. Empty lists mean the default set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Projection {
    pub attributes: Vec<AttrPath>,
    pub excluded: Vec<AttrPath>,
}

impl Projection {
    /// Parses the comma-separated `attributes` and `excludedAttributes` parameters.
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>) -> Result<Projection> {
        Ok(Projection {
            attributes: parse_list(attributes)?,
            excluded: parse_list(excluded)?,
        })
    }

    /// Whether the projection leaves `name` (a top-level core attribute) out, so the server can
    /// skip computing it (members of a group, groups of a user).
    pub fn omits(&self, rt: &ResourceType, name: &str) -> bool {
        let hits = |list: &[AttrPath]| {
            list.iter().any(|p| {
                p.name.eq_ignore_ascii_case(name)
                    && p.sub.is_none()
                    && p.urn
                        .as_deref()
                        .is_none_or(|u| u.eq_ignore_ascii_case(&rt.schema.id))
            })
        };
        let named = |list: &[AttrPath]| {
            list.iter().any(|p| {
                p.name.eq_ignore_ascii_case(name)
                    && p.urn
                        .as_deref()
                        .is_none_or(|u| u.eq_ignore_ascii_case(&rt.schema.id))
            })
        };
        if !self.attributes.is_empty() {
            return !named(&self.attributes);
        }
        hits(&self.excluded)
    }

    /// Applies the projection to a full resource representation, in place.
    pub fn apply(&self, rt: &ResourceType, resource: &mut Map<String, Value>) {
        let keys: Vec<String> = resource.keys().cloned().collect();
        for key in keys {
            if key == "schemas" {
                continue;
            }
            if let Some(ext) = rt.extension(&key) {
                let urn = ext.id.clone();
                let keep_whole = self.lists_whole_extension(&urn, &self.attributes);
                let drop_whole = self.lists_whole_extension(&urn, &self.excluded);
                if drop_whole && self.attributes.is_empty() {
                    resource.remove(&key);
                    continue;
                }
                if let Some(Value::Object(inner)) = resource.get_mut(&key) {
                    let inner_keys: Vec<String> = inner.keys().cloned().collect();
                    for ik in inner_keys {
                        let Some(attr) = ext.attribute(&ik) else {
                            continue;
                        };
                        let decision = self.decide(attr, Some(&urn), keep_whole);
                        apply_decision(inner, &ik, attr, decision);
                    }
                    if inner.is_empty() {
                        resource.remove(&key);
                    }
                }
                continue;
            }
            let Some(attr) = rt.core_attribute(&key) else {
                continue;
            };
            let decision = self.decide(attr, None, false);
            apply_decision(resource, &key, attr, decision);
        }
        // Keep `schemas` honest: list only the extensions still present.
        let present: Vec<String> = rt
            .extensions
            .iter()
            .filter(|(s, _)| resource.contains_key(&s.id))
            .map(|(s, _)| s.id.clone())
            .collect();
        if let Some(Value::Array(schemas)) = resource.get_mut("schemas") {
            schemas.retain(|s| {
                s.as_str().is_some_and(|s| {
                    s.eq_ignore_ascii_case(&rt.schema.id) || present.iter().any(|p| p == s)
                })
            });
        }
    }

    fn lists_whole_extension(&self, urn: &str, list: &[AttrPath]) -> bool {
        list.iter().any(|p| {
            p.urn
                .as_deref()
                .is_some_and(|u| format!("{u}:{}", p.name).eq_ignore_ascii_case(urn))
        })
    }

    fn decide(&self, attr: &AttributeDef, urn: Option<&str>, whole_extension: bool) -> Decision {
        match attr.returned {
            Returned::Never => return Decision::Drop,
            Returned::Always => return Decision::Keep,
            _ => {}
        }
        let matches = |p: &AttrPath| {
            p.name.eq_ignore_ascii_case(&attr.name)
                && match (urn, p.urn.as_deref()) {
                    (Some(u), Some(pu)) => u.eq_ignore_ascii_case(pu),
                    (Some(_), None) => false,
                    (None, Some(pu)) => !pu.contains("extension"),
                    (None, None) => true,
                }
        };
        if !self.attributes.is_empty() {
            if whole_extension {
                return Decision::Keep;
            }
            let listed: Vec<&AttrPath> = self.attributes.iter().filter(|p| matches(p)).collect();
            if listed.is_empty() {
                return Decision::Drop;
            }
            if listed.iter().any(|p| p.sub.is_none()) {
                return Decision::Keep;
            }
            return Decision::KeepSubs(listed.iter().filter_map(|p| p.sub.clone()).collect());
        }
        if attr.returned == Returned::Request {
            return Decision::Drop;
        }
        let excluded: Vec<&AttrPath> = self.excluded.iter().filter(|p| matches(p)).collect();
        if excluded.iter().any(|p| p.sub.is_none()) {
            return Decision::Drop;
        }
        if !excluded.is_empty() {
            return Decision::DropSubs(excluded.iter().filter_map(|p| p.sub.clone()).collect());
        }
        Decision::Keep
    }
}

enum Decision {
    Keep,
    Drop,
    KeepSubs(Vec<String>),
    DropSubs(Vec<String>),
}

fn apply_decision(obj: &mut Map<String, Value>, key: &str, attr: &AttributeDef, d: Decision) {
    let filter_subs = |v: &mut Value, keep: &dyn Fn(&str) -> bool| match v {
        Value::Object(o) => o.retain(|k, _| keep(k)),
        Value::Array(items) => {
            for item in items.iter_mut() {
                if let Value::Object(o) = item {
                    o.retain(|k, _| keep(k));
                }
            }
            items.retain(|x| !x.as_object().is_some_and(Map::is_empty));
        }
        _ => {}
    };
    match d {
        Decision::Keep => {}
        Decision::Drop => {
            obj.remove(key);
        }
        Decision::KeepSubs(subs) => {
            if let Some(v) = obj.get_mut(key) {
                filter_subs(v, &|k| {
                    subs.iter().any(|s| s.eq_ignore_ascii_case(k))
                        || attr
                            .sub_attribute(k)
                            .is_some_and(|d| d.returned == Returned::Always)
                });
            }
        }
        Decision::DropSubs(subs) => {
            if let Some(v) = obj.get_mut(key) {
                filter_subs(v, &|k| !subs.iter().any(|s| s.eq_ignore_ascii_case(k)));
            }
        }
    }
    if obj.get(key).is_some_and(|v| {
        matches!(v, Value::Object(o) if o.is_empty())
            || matches!(v, Value::Array(a) if a.is_empty())
    }) {
        obj.remove(key);
    }
}

fn parse_list(raw: Option<&str>) -> Result<Vec<AttrPath>> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    split_list(raw)
        .into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            let invalid =
                |e: PathError| ScimError::invalid_value(format!("attribute \"{s}\": {e}"));
            if !s.contains('[') {
                return AttrPath::parse(s).map_err(invalid);
            }
            // RFC 7644 §3.10 names attributes only, but clients (Microsoft's SCIM validator
            // among them) send value paths such as `emails[type eq "work"]`: answer with the
            // attribute the path is on (`emails`, or `emails.value` for `…].value`).
            let path = PatchPath::parse(s).map_err(invalid)?;
            Ok(match path.sub_after_filter {
                Some(sub) if path.attr.sub.is_none() => AttrPath {
                    sub: Some(sub),
                    ..path.attr
                },
                _ => path.attr,
            })
        })
        .collect()
}

/// Splits a comma-separated attribute list at the commas that are outside value filters
/// (`[…]`) and their quoted strings.
fn split_list(raw: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut quoted, mut escaped, mut start) = (0usize, false, false, 0);
    for (i, c) in raw.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth = depth.saturating_sub(1),
            ',' if !quoted && depth == 0 => {
                items.push(&raw[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&raw[start..]);
    items
}

/// Reads the first value of an attribute for sorting (RFC 7644 §3.4.2.3): for a multi-valued
/// attribute the primary value, else the first; for a complex one its `value` sub-attribute.
pub fn sort_value<'a>(
    rt: &ResourceType,
    resource: &'a Map<String, Value>,
    path: &AttrPath,
) -> Option<&'a Value> {
    let (holder, attr_name, sub) = match resolve_path(rt, path)? {
        KeyTarget::Core(a) => (resource, a.name.as_str(), None),
        KeyTarget::CoreSub(a, s) => (resource, a.name.as_str(), Some(s.name.as_str())),
        KeyTarget::ExtensionAttribute(e, a, s) => (
            resource.get(&e.id)?.as_object()?,
            a.name.as_str(),
            s.map(|s| s.name.as_str()),
        ),
        KeyTarget::Schemas | KeyTarget::Extension(_) => return None,
    };
    let v = holder.get(&find_key(holder, attr_name)?)?;
    let v = match v {
        Value::Array(items) => items
            .iter()
            .find(|i| i.get("primary") == Some(&Value::Bool(true)))
            .or_else(|| items.first())?,
        v => v,
    };
    match (v, sub) {
        (Value::Object(o), Some(s)) => o.get(s),
        (Value::Object(o), None) => o.get("value"),
        (v, None) => Some(v),
        (_, Some(_)) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[AttrPath]) -> Vec<String> {
        list.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn attribute_lists() {
        // (attributes parameter, the attribute paths it names)
        let cases: &[(&str, &[&str])] = &[
            ("userName", &["userName"]),
            ("userName, name.givenName", &["userName", "name.givenName"]),
            ("emails[type eq \"work\"]", &["emails"]),
            ("emails[type eq \"work\"].value", &["emails.value"]),
            (
                "userName,emails[type eq \"a,b\" or value co \"]\"],displayName",
                &["userName", "emails", "displayName"],
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                &["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"],
            ),
            (",,userName,", &["userName"]),
        ];
        for (raw, expected) in cases {
            let projection = Projection::parse(Some(raw), None).expect(raw);
            assert_eq!(names(&projection.attributes), *expected, "{raw}");
        }
    }

    #[test]
    fn malformed_attribute_lists_are_refused() {
        for raw in ["emails[type eq \"work\"", "emails[type eq]", "emails[]"] {
            let error = Projection::parse(Some(raw), None).expect_err(raw);
            assert_eq!(error.status, 400, "{raw}");
            assert!(
                error.detail.contains("attribute"),
                "{raw}: {}",
                error.detail
            );
        }
    }
}
