//! The target port: what a provisioning cycle asks of the application it provisions into.
//!
//! The engine speaks SCIM resources as JSON and PATCH operations it builds itself; how they
//! travel (URLs, PATCH dialect, retries, authentication) is the adapter's business
//! (`provisio-scim-client` for a SCIM endpoint, an in-memory target in tests). The calls are
//! the ones Microsoft Entra's provisioning service makes: a matching query by one attribute
//! (`userName eq "ann@x"`), reads by id, create, PATCH, delete, reading the target in pages,
//! and the credential check of `validateCredentials` (a query for a random GUID that must
//! answer an empty list).
//!
//! Failures carry what was sent, what came back and an [`ErrorClass`] that the cycle's
//! escrow and quarantine decisions use, so that no caller has to look at status codes.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

/// The two object types a SCIM target holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetKind {
    User,
    Group,
}

impl TargetKind {
    /// The SCIM endpoint name, as RFC 7644 spells it.
    pub fn endpoint(self) -> &'static str {
        match self {
            TargetKind::User => "Users",
            TargetKind::Group => "Groups",
        }
    }
}

/// An object as the target holds it: its id (the target's, not the source's) and the
/// resource the target answered with.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetObject {
    pub id: String,
    pub resource: Value,
}

/// A PATCH operation's verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOp {
    Add,
    Replace,
    Remove,
}

/// One PATCH operation as the engine means it; the adapter renders it in the dialect the
/// target understands (letter case of `op`, booleans as strings, how members are removed).
///
/// Member changes are written `{op: Add|Remove, path: "members", value: [{"value": id}, …]}`
/// or, for one removal, `{op: Remove, path: "members[value eq \"id\"]"}`; both forms are
/// rendered in either dialect.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    pub op: PatchOp,
    /// A SCIM attribute path (`name.givenName`, `emails[type eq "work"].value`); `None`
    /// makes `value` an object of attributes.
    pub path: Option<String>,
    pub value: Option<Value>,
}

impl PatchOperation {
    pub fn add(path: impl Into<String>, value: Value) -> Self {
        PatchOperation {
            op: PatchOp::Add,
            path: Some(path.into()),
            value: Some(value),
        }
    }

    pub fn replace(path: impl Into<String>, value: Value) -> Self {
        PatchOperation {
            op: PatchOp::Replace,
            path: Some(path.into()),
            value: Some(value),
        }
    }

    pub fn remove(path: impl Into<String>) -> Self {
        PatchOperation {
            op: PatchOp::Remove,
            path: Some(path.into()),
            value: None,
        }
    }

    /// Removes the listed members from a group.
    pub fn remove_members<I, S>(ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        PatchOperation {
            op: PatchOp::Remove,
            path: Some("members".into()),
            value: Some(member_values(ids)),
        }
    }

    /// Adds the listed members to a group.
    pub fn add_members<I, S>(ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        PatchOperation {
            op: PatchOp::Add,
            path: Some("members".into()),
            value: Some(member_values(ids)),
        }
    }
}

fn member_values<I, S>(ids: I) -> Value
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Value::Array(
        ids.into_iter()
            .map(|id| serde_json::json!({ "value": id.into() }))
            .collect(),
    )
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub objects: Vec<TargetObject>,
    /// `totalResults`: how many objects the whole listing has.
    pub total: u64,
}

/// The text of an `eq` filter on one attribute, with the value quoted as a SCIM string
/// (RFC 7644 §3.4.2.2: a JSON string, so `"` and `\` are escaped).
pub fn eq_filter(attribute: &str, value: &str) -> String {
    let mut out = String::with_capacity(attribute.len() + value.len() + 6);
    out.push_str(attribute);
    out.push_str(" eq \"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// How the cycle should treat a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Try again later: 429, 5xx, timeouts, connections refused or dropped.
    Transient,
    /// 409: the target already holds an object with that unique value.
    Conflict,
    /// 404: the object is not (or no longer) there.
    NotFound,
    /// 401 or 403: the credentials are wrong or expired; the job should quarantine.
    Unauthorized,
    /// Any other 4xx: the target refuses this request; retrying it unchanged will not help.
    Rejected,
    /// The answer is not SCIM: unparseable JSON, a list without `Resources`, a resource
    /// without `id`, several matches where one was expected.
    Incompatible,
}

impl ErrorClass {
    /// The class of an HTTP error status.
    pub fn of_status(status: u16) -> ErrorClass {
        match status {
            401 | 403 => ErrorClass::Unauthorized,
            404 => ErrorClass::NotFound,
            409 => ErrorClass::Conflict,
            408 | 429 => ErrorClass::Transient,
            400..=499 => ErrorClass::Rejected,
            500..=599 => ErrorClass::Transient,
            // A success or redirect where the call wanted something else.
            _ => ErrorClass::Incompatible,
        }
    }

    pub fn is_transient(self) -> bool {
        self == ErrorClass::Transient
    }
}

/// A failed call: what was sent, what the target answered (if anything), and its class.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct TargetError {
    pub class: ErrorClass,
    /// The HTTP method sent (`GET`, `PATCH`…).
    pub method: &'static str,
    /// The request relative to the target's base URL, readable: `/Users/42`,
    /// `/Users?filter=userName eq "ann@x"`.
    pub path: String,
    /// The answer's status; `None` when none came (timeout, connection error).
    pub status: Option<u16>,
    /// The SCIM error's `detail`, or what went wrong when there is no SCIM error.
    pub detail: Option<String>,
    /// The SCIM error's `scimType` (`uniqueness`, `invalidValue`…).
    pub scim_type: Option<String>,
    /// How long the target asked to wait (`Retry-After`).
    pub retry_after: Option<Duration>,
    /// How many times the request was sent before giving up.
    pub attempts: u32,
}

impl TargetError {
    /// An error of `class` for the request `method path`, without an answer yet.
    pub fn new(class: ErrorClass, method: &'static str, path: impl Into<String>) -> Self {
        TargetError {
            class,
            method,
            path: path.into(),
            status: None,
            detail: None,
            scim_type: None,
            retry_after: None,
            attempts: 1,
        }
    }

    /// The target answered `status`; the class follows from it.
    pub fn answered(method: &'static str, path: impl Into<String>, status: u16) -> Self {
        TargetError {
            status: Some(status),
            ..TargetError::new(ErrorClass::of_status(status), method, path)
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_scim_type(mut self, scim_type: impl Into<String>) -> Self {
        self.scim_type = Some(scim_type.into());
        self
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        match self.status {
            Some(status) => {
                write!(f, " answered {status}")?;
                if let Some(t) = &self.scim_type {
                    write!(f, " {t}")?;
                }
                if self.class == ErrorClass::Incompatible {
                    f.write_str(", which is not SCIM")?;
                }
            }
            // An answer judged above the wire (several matches where one was expected).
            None if self.class == ErrorClass::Incompatible => {
                f.write_str(" answered unexpectedly")?
            }
            None => f.write_str(" failed")?,
        }
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        if let Some(wait) = self.retry_after {
            write!(f, " (Retry-After {}s)", wait.as_secs())?;
        }
        if self.attempts > 1 {
            write!(f, " (after {} attempts)", self.attempts)?;
        }
        Ok(())
    }
}

/// The application a job provisions into.
#[async_trait]
pub trait Target: Send + Sync {
    /// The objects whose `attribute` equals `value` (Entra's matching query,
    /// `userName eq "ann@x"`); the target decides case sensitivity.
    async fn find(
        &self,
        kind: TargetKind,
        attribute: &str,
        value: &str,
    ) -> Result<Vec<TargetObject>, TargetError>;

    /// The object with this id, or `None` when the target answers 404.
    async fn get(&self, kind: TargetKind, id: &str) -> Result<Option<TargetObject>, TargetError>;

    /// Creates the object and returns it as the target stored it (with its id).
    async fn create(&self, kind: TargetKind, resource: Value) -> Result<TargetObject, TargetError>;

    /// Applies `ops` to the object; returns it when the target answered with it (many answer
    /// 204 without a body). No operations send nothing.
    async fn patch(
        &self,
        kind: TargetKind,
        id: &str,
        ops: &[PatchOperation],
    ) -> Result<Option<TargetObject>, TargetError>;

    async fn delete(&self, kind: TargetKind, id: &str) -> Result<(), TargetError>;

    /// One page of all objects of `kind`: `count` from the 1-based `start_index`, with only
    /// `attributes` when not empty.
    async fn list_page(
        &self,
        kind: TargetKind,
        start_index: u64,
        count: u64,
        attributes: &[&str],
    ) -> Result<Page, TargetError>;

    /// Checks that the target accepts the credentials and answers SCIM queries
    /// (`validateCredentials`): a query that must find nothing.
    async fn probe(&self) -> Result<(), TargetError>;

    /// The one object matching `attribute eq value`: several are an
    /// [`ErrorClass::Incompatible`] answer, as for Entra, which cannot tell which to update.
    async fn find_one(
        &self,
        kind: TargetKind,
        attribute: &str,
        value: &str,
    ) -> Result<Option<TargetObject>, TargetError> {
        let mut found = self.find(kind, attribute, value).await?;
        if found.len() > 1 {
            let path = format!(
                "/{}?filter={}",
                kind.endpoint(),
                eq_filter(attribute, value)
            );
            return Err(
                TargetError::new(ErrorClass::Incompatible, "GET", path).with_detail(format!(
                    "{} objects match where one was expected",
                    found.len()
                )),
            );
        }
        Ok(found.pop())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eq_filters_quote_and_escape_the_value() {
        let cases = [
            ("userName", "ann@x", r#"userName eq "ann@x""#),
            ("userName", r#"a"b"#, r#"userName eq "a\"b""#),
            ("externalId", r"dom\ann", r#"externalId eq "dom\\ann""#),
            (
                r#"emails[type eq "work"].value"#,
                "ann@x",
                r#"emails[type eq "work"].value eq "ann@x""#,
            ),
            ("displayName", "Zoë & co", r#"displayName eq "Zoë & co""#),
        ];
        for (attribute, value, expected) in cases {
            assert_eq!(eq_filter(attribute, value), expected, "{attribute} {value}");
        }
    }

    #[test]
    fn statuses_classify_as_the_cycle_needs() {
        let cases = [
            (400, ErrorClass::Rejected),
            (401, ErrorClass::Unauthorized),
            (403, ErrorClass::Unauthorized),
            (404, ErrorClass::NotFound),
            (408, ErrorClass::Transient),
            (409, ErrorClass::Conflict),
            (412, ErrorClass::Rejected),
            (429, ErrorClass::Transient),
            (500, ErrorClass::Transient),
            (503, ErrorClass::Transient),
            (200, ErrorClass::Incompatible),
        ];
        for (status, class) in cases {
            assert_eq!(ErrorClass::of_status(status), class, "{status}");
        }
    }

    #[test]
    fn errors_say_what_was_sent_and_what_came_back() {
        let rejected = TargetError::answered("PATCH", "/Users/42", 400)
            .with_scim_type("invalidValue")
            .with_detail("\"active\" must be a boolean");
        let mut exhausted = TargetError::answered("GET", "/Users/7", 503).with_detail("busy");
        exhausted.attempts = 4;
        exhausted.retry_after = Some(Duration::from_secs(1));
        let cases = [
            (
                rejected,
                r#"PATCH /Users/42 answered 400 invalidValue: "active" must be a boolean"#,
            ),
            (
                exhausted,
                "GET /Users/7 answered 503: busy (Retry-After 1s) (after 4 attempts)",
            ),
            (
                TargetError::new(ErrorClass::Transient, "POST", "/Users")
                    .with_detail("connection refused"),
                "POST /Users failed: connection refused",
            ),
            (
                TargetError::new(ErrorClass::Incompatible, "GET", "/Users")
                    .with_status(200)
                    .with_detail("the ListResponse has no \"Resources\""),
                "GET /Users answered 200, which is not SCIM: the ListResponse has no \"Resources\"",
            ),
            (
                TargetError::new(ErrorClass::Incompatible, "GET", "/Users?filter=userName eq \"a\"")
                    .with_detail("2 objects match where one was expected"),
                "GET /Users?filter=userName eq \"a\" answered unexpectedly: 2 objects match where one was expected",
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(error.to_string(), expected);
        }
    }
}
