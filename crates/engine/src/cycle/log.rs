//! Provisioning log rows: Graph's `provisioningObjectSummary`, built by the cycle for every
//! object it exports, skips or fails.

use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

/// Shown instead of the values of attributes whose mapping calls `Redact`.
pub const REDACTED: &str = "[Redact]";

/// `provisioningAction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
    Disable,
    /// Nothing to do, or not done: Graph's `other`.
    Other,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Disable => "disable",
            Action::Other => "other",
        }
    }
}

/// `provisioningStatusInfo/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Success,
    Skipped,
    Failure,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Skipped => "skipped",
            Status::Failure => "failure",
        }
    }
}

/// One property an export changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Modified {
    pub name: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// How many ids a multi-valued reference's log entry lists on each side.
pub const LOGGED_IDS: usize = 100;

/// The log entry of a change to a multi-valued reference (a group's `members`): what the
/// request removed as the old value and what it added as the new one, at most
/// [`LOGGED_IDS`] of each with a count of the rest. The whole lists before and after would
/// hide a one-member change of a 300,000-member group in two 11 MB strings.
pub fn member_change<S: AsRef<str>>(name: &str, removed: &[S], added: &[S]) -> Modified {
    fn listed<S: AsRef<str>>(ids: &[S]) -> Option<Value> {
        if ids.is_empty() {
            return None;
        }
        let mut shown: Vec<Value> = ids
            .iter()
            .take(LOGGED_IDS)
            .map(|id| Value::String(id.as_ref().to_string()))
            .collect();
        if ids.len() > LOGGED_IDS {
            shown.push(Value::String(format!(
                "… and {} more",
                ids.len() - LOGGED_IDS
            )));
        }
        Some(Value::Array(shown))
    }
    Modified {
        name: name.to_string(),
        old: listed(removed),
        new: listed(added),
    }
}

/// What one log row says about one object.
#[derive(Debug, Clone)]
pub struct Entry {
    pub action: Action,
    pub status: Status,
    /// `errorCode` and `reason` for failures and skips.
    pub error: Option<(String, String)>,
    pub additional_details: Option<String>,
    /// The step that decided the outcome: (name, provisioningStepType, description).
    pub step: (&'static str, &'static str, String),
    pub modified: Vec<Modified>,
    pub target_id: Option<String>,
}

impl Entry {
    pub fn new(action: Action, status: Status, step: (&'static str, &'static str, String)) -> Self {
        Entry {
            action,
            status,
            error: None,
            additional_details: None,
            step,
            modified: Vec::new(),
            target_id: None,
        }
    }

    pub fn error(mut self, code: &str, reason: impl Into<String>) -> Self {
        self.error = Some((code.to_string(), reason.into()));
        self
    }

    pub fn details(mut self, details: impl Into<String>) -> Self {
        self.additional_details = Some(details.into());
        self
    }

    pub fn target(mut self, id: Option<&str>) -> Self {
        self.target_id = id.map(str::to_string);
        self
    }

    pub fn modified(mut self, modified: Vec<Modified>) -> Self {
        self.modified = modified;
        self
    }
}

/// Who the row is about and where it was written.
pub struct RowContext<'a> {
    pub id: Uuid,
    pub job_id: &'a str,
    pub cycle_id: Uuid,
    pub change_id: Uuid,
    pub at: OffsetDateTime,
    pub object_type: &'a str,
    pub source_id: Uuid,
    pub source_display_name: Option<&'a str>,
    pub service_principal: (Uuid, &'a str),
    /// Whether a modified property's value is hidden (`Redact`).
    pub redacted: &'a dyn Fn(&str) -> bool,
}

/// RFC 3339 in UTC with milliseconds, as every log row's time is written (rows sort by it
/// as text).
pub fn activity_time(at: OffsetDateTime) -> String {
    crate::synchronization::log_timestamp(at)
}

/// Graph writes property values as text.
fn text(value: &Option<Value>) -> Value {
    match value {
        None | Some(Value::Null) => Value::Null,
        Some(Value::String(s)) => Value::String(s.clone()),
        Some(other) => Value::String(other.to_string()),
    }
}

fn step(name: &str, step_type: &str, status: Status, description: &str) -> Value {
    let mut step = Map::new();
    step.insert("name".into(), json!(name));
    step.insert("provisioningStepType".into(), json!(step_type));
    step.insert("status".into(), json!(status.as_str()));
    step.insert("description".into(), json!(description));
    step.insert("details".into(), json!({}));
    Value::Object(step)
}

/// The `provisioningObjectSummary` JSON of one entry.
pub fn summary(row: &RowContext<'_>, entry: &Entry) -> Value {
    let error_information = match &entry.error {
        Some((code, reason)) => json!({
            "errorCode": code,
            "reason": reason,
            "additionalDetails": entry.additional_details,
        }),
        None => Value::Null,
    };
    let modified: Vec<Value> = entry
        .modified
        .iter()
        .map(|m| {
            let (old, new) = if (row.redacted)(&m.name) {
                (json!(REDACTED), json!(REDACTED))
            } else {
                (text(&m.old), text(&m.new))
            };
            json!({ "displayName": m.name, "oldValue": old, "newValue": new })
        })
        .collect();
    // Every row starts with the import of the source object, then the step that decided.
    let import = step(
        "EntryImport",
        "import",
        Status::Success,
        &format!(
            "Retrieved {} '{}' from the source directory",
            row.object_type, row.source_id
        ),
    );
    let (step_name, step_type, description) = &entry.step;
    let decided = step(step_name, step_type, entry.status, description);
    json!({
        "id": row.id.to_string(),
        "activityDateTime": activity_time(row.at),
        "jobId": row.job_id,
        "cycleId": row.cycle_id.to_string(),
        "changeId": row.change_id.to_string(),
        "provisioningAction": entry.action.as_str(),
        "provisioningStatusInfo": {
            "status": entry.status.as_str(),
            "errorInformation": error_information,
        },
        "provisioningSteps": [import, decided],
        "modifiedProperties": modified,
        "sourceIdentity": {
            "id": row.source_id.to_string(),
            "displayName": row.source_display_name,
            "identityType": row.object_type,
            "details": {},
        },
        "targetIdentity": {
            "id": entry.target_id,
            "displayName": row.source_display_name,
            "identityType": row.object_type,
            "details": {},
        },
        "servicePrincipal": {
            "id": row.service_principal.0.to_string(),
            "displayName": row.service_principal.1,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_change_lists_at_most_a_hundred_ids_a_side_and_counts_the_rest() {
        let ids = |n: usize| -> Vec<String> { (0..n).map(|i| format!("u{i}")).collect() };
        // (removed, added, oldValue's length, newValue's length, last item of newValue)
        let cases = [
            (0, 1, None, Some(1), "u0"),
            (2, 0, Some(2), None, ""),
            (0, 100, None, Some(100), "u99"),
            (3, 101, Some(3), Some(101), "… and 1 more"),
            (0, 300_000, None, Some(101), "… and 299900 more"),
        ];
        for (removed, added, old_len, new_len, last) in cases {
            let m = member_change("members", &ids(removed), &ids(added));
            assert_eq!(m.name, "members");
            let len = |v: &Option<Value>| v.as_ref().and_then(Value::as_array).map(Vec::len);
            assert_eq!(len(&m.old), old_len, "{removed} removed");
            assert_eq!(len(&m.new), new_len, "{added} added");
            if let Some(Value::Array(new)) = &m.new {
                assert_eq!(new.last(), Some(&json!(last)));
            }
        }
    }
}
