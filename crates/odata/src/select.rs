//! `$select`: which properties to return, and [`project`] to keep only those.
//!
//! As in Graph, only the selected properties come back: `id` is not added unless selected,
//! and a selected property the object lacks comes back as `null`. `*` selects everything.

use serde_json::{Map, Value};

use crate::text::get_ci;
use crate::{Clause, ParseError, MAX_OPTION_LEN};

/// A parsed `$select`: property names, trimmed and deduplicated ignoring case (the first
/// spelling wins), in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Select {
    items: Vec<String>,
    all: bool,
}

impl Select {
    /// Parses a `$select` value: comma-separated property names, or `*`.
    pub fn parse(input: &str) -> Result<Select, ParseError> {
        if input.len() > MAX_OPTION_LEN {
            return Err(ParseError::too_long(Clause::Select, input.len()));
        }
        let err = |message: &str, pos: usize| ParseError::new(Clause::Select, message, pos, input);
        let mut select = Select::default();
        let mut start = 0;
        for raw in input.split(',') {
            let lead = raw.len() - raw.trim_start().len();
            let name = raw.trim();
            let at = start + lead;
            if name.is_empty() {
                return Err(err("Property name expected", start + raw.len()));
            }
            if name == "*" {
                select.all = true;
            } else if let Some(bad) = name
                .bytes()
                .position(|b| !(b.is_ascii_alphanumeric() || b == b'_'))
            {
                return Err(err("Syntax error", at + bad));
            } else if name.as_bytes().first().is_some_and(u8::is_ascii_digit) {
                return Err(err("Syntax error", at));
            } else if !select.contains(name) {
                select.items.push(name.to_string());
            }
            start += raw.len() + 1;
        }
        Ok(select)
    }

    /// The selected names (without `*`), for checking against a schema.
    pub fn properties(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(String::as_str)
    }

    /// Whether `*` was selected.
    pub fn is_all(&self) -> bool {
        self.all
    }

    /// Whether `name` is selected (explicitly, ignoring case, or by `*`).
    pub fn contains(&self, name: &str) -> bool {
        self.all || self.items.iter().any(|i| i.eq_ignore_ascii_case(name))
    }
}

/// The selected properties of `obj`, under the object's own key spelling; a selected
/// property the object lacks is `null` under the name as selected (handlers check names
/// against the schema first, so that is the canonical spelling).
pub fn project(obj: &Map<String, Value>, select: &Select) -> Map<String, Value> {
    if select.all {
        return obj.clone();
    }
    let mut out = Map::new();
    for name in &select.items {
        match get_ci(obj, name) {
            Some((key, value)) => out.insert(key.clone(), value.clone()),
            None => out.insert(name.clone(), Value::Null),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[track_caller]
    fn check(input: &str, expected: &[&str]) {
        let got = Select::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(got.properties().collect::<Vec<_>>(), expected, "{input}");
    }

    #[track_caller]
    fn check_error(input: &str, expected: &str) {
        let err = Select::parse(input).expect_err(input);
        assert_eq!(err.to_string(), expected, "{input}");
    }

    #[test]
    fn parse_table() {
        check("id,displayName,manager", &["id", "displayName", "manager"]);
        check(" id , displayName ", &["id", "displayName"]);
        check(
            "displayName,DISPLAYNAME,id,displayname",
            &["displayName", "id"],
        );
        check("extension_8f2c_costCenter", &["extension_8f2c_costCenter"]);
        check("*", &[]);
        assert!(Select::parse("*").unwrap().is_all());
        assert!(Select::parse("id,displayName")
            .unwrap()
            .contains("DISPLAYNAME"));
    }

    #[test]
    fn error_table() {
        check_error(
            "",
            "Invalid $select clause: Property name expected at position 0 in ''.",
        );
        check_error(
            "id,",
            "Invalid $select clause: Property name expected at position 3 in 'id,'.",
        );
        check_error(
            "id, ,mail",
            "Invalid $select clause: Property name expected at position 4 in 'id, ,mail'.",
        );
        check_error(
            "id,manager/id",
            "Invalid $select clause: Syntax error at position 10 in 'id,manager/id'.",
        );
        check_error(
            "id, 1a",
            "Invalid $select clause: Syntax error at position 4 in 'id, 1a'.",
        );
    }

    #[test]
    fn project_keeps_selected_keys_only() {
        let user = json!({"id": "1", "displayName": "A", "mail": null, "otherMails": []});
        let Value::Object(user) = user else {
            unreachable!()
        };
        let select = Select::parse("DISPLAYNAME,mail,jobTitle").unwrap();
        assert_eq!(
            Value::Object(project(&user, &select)),
            json!({"displayName": "A", "mail": null, "jobTitle": null})
        );
        assert_eq!(project(&user, &Select::parse("*").unwrap()), user);
    }
}
