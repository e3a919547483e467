//! Provisioning log rows: Graph's `provisioningObjectSummary`, built by the cycle for every
//! object it exports, skips or fails.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::state::SummaryText;

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
    /// When, as [`activity_time`] writes it.
    pub activity: &'a str,
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
fn text(value: &Option<Value>) -> Option<Cow<'_, str>> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(Cow::Borrowed(s)),
        Some(other) => Some(Cow::Owned(other.to_string())),
    }
}

// The `provisioningObjectSummary` as serde writes it, field by field in Graph's order: a
// row is made for every object of every cycle, so it is written straight to text rather
// than built as a `Value` tree first.

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary<'a> {
    id: String,
    activity_date_time: &'a str,
    job_id: &'a str,
    cycle_id: String,
    change_id: String,
    provisioning_action: &'a str,
    provisioning_status_info: StatusInfo<'a>,
    provisioning_steps: [Step<'a>; 2],
    modified_properties: Vec<ModifiedProperty<'a>>,
    source_identity: Identity<'a>,
    target_identity: Identity<'a>,
    service_principal: ServicePrincipal<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusInfo<'a> {
    status: &'a str,
    error_information: Option<ErrorInformation<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorInformation<'a> {
    error_code: &'a str,
    reason: &'a str,
    additional_details: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Step<'a> {
    name: &'a str,
    provisioning_step_type: &'a str,
    status: &'a str,
    description: Cow<'a, str>,
    details: Empty,
}

/// `{}`.
#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ModifiedProperty<'a> {
    display_name: &'a str,
    old_value: Option<Cow<'a, str>>,
    new_value: Option<Cow<'a, str>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Identity<'a> {
    id: Option<Cow<'a, str>>,
    display_name: Option<&'a str>,
    identity_type: &'a str,
    details: Empty,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServicePrincipal<'a> {
    id: String,
    display_name: &'a str,
}

/// The `provisioningObjectSummary` of one entry, as JSON text.
pub fn summary(row: &RowContext<'_>, entry: &Entry) -> SummaryText {
    let modified_properties = entry
        .modified
        .iter()
        .map(|m| {
            let (old_value, new_value) = if (row.redacted)(&m.name) {
                (Some(Cow::Borrowed(REDACTED)), Some(Cow::Borrowed(REDACTED)))
            } else {
                (text(&m.old), text(&m.new))
            };
            ModifiedProperty {
                display_name: &m.name,
                old_value,
                new_value,
            }
        })
        .collect();
    let (step_name, step_type, description) = &entry.step;
    let summary = Summary {
        id: row.id.to_string(),
        activity_date_time: row.activity,
        job_id: row.job_id,
        cycle_id: row.cycle_id.to_string(),
        change_id: row.change_id.to_string(),
        provisioning_action: entry.action.as_str(),
        provisioning_status_info: StatusInfo {
            status: entry.status.as_str(),
            error_information: entry.error.as_ref().map(|(code, reason)| ErrorInformation {
                error_code: code,
                reason,
                additional_details: entry.additional_details.as_deref(),
            }),
        },
        // Every row starts with the import of the source object, then the step that decided.
        provisioning_steps: [
            Step {
                name: "EntryImport",
                provisioning_step_type: "import",
                status: Status::Success.as_str(),
                description: Cow::Owned(format!(
                    "Retrieved {} '{}' from the source directory",
                    row.object_type, row.source_id
                )),
                details: Empty {},
            },
            Step {
                name: step_name,
                provisioning_step_type: step_type,
                status: entry.status.as_str(),
                description: Cow::Borrowed(description),
                details: Empty {},
            },
        ],
        modified_properties,
        source_identity: Identity {
            id: Some(Cow::Owned(row.source_id.to_string())),
            display_name: row.source_display_name,
            identity_type: row.object_type,
            details: Empty {},
        },
        target_identity: Identity {
            id: entry.target_id.as_deref().map(Cow::Borrowed),
            display_name: row.source_display_name,
            identity_type: row.object_type,
            details: Empty {},
        },
        service_principal: ServicePrincipal {
            id: row.service_principal.0.to_string(),
            display_name: row.service_principal.1,
        },
    };
    // Strings, options and structs only: serde_json has nothing here it cannot write.
    SummaryText::of(&summary).expect("a provisioningObjectSummary always serialises")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

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

    #[test]
    fn a_summary_is_graphs_provisioning_object_summary_in_its_key_order() {
        let source_id = Uuid::from_u128(0xa1);
        let context = |redact: &'static [&'static str]| move |name: &str| redact.contains(&name);
        let at = OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("time");
        let modified = vec![
            Modified {
                name: "userName".to_string(),
                old: None,
                new: Some(json!("ann@contoso.test")),
            },
            Modified {
                name: "active".to_string(),
                old: Some(json!(true)),
                new: Some(json!(false)),
            },
            Modified {
                name: "password".to_string(),
                old: None,
                new: Some(json!("secret")),
            },
        ];
        // (entry, redacted attributes, the summary's statusInfo, steps[1], modified, target id)
        let cases = [
            (
                Entry::new(
                    Action::Create,
                    Status::Success,
                    (
                        "EntryExportAdd",
                        "export",
                        "created account t-1".to_string(),
                    ),
                )
                .target(Some("t-1"))
                .modified(modified.clone()),
                context(&["password"]),
                json!({"status": "success", "errorInformation": null}),
                json!({"name": "EntryExportAdd", "provisioningStepType": "export",
                       "status": "success", "description": "created account t-1", "details": {}}),
                json!([
                    {"displayName": "userName", "oldValue": null, "newValue": "ann@contoso.test"},
                    {"displayName": "active", "oldValue": "true", "newValue": "false"},
                    {"displayName": "password", "oldValue": "[Redact]", "newValue": "[Redact]"}
                ]),
                json!("t-1"),
            ),
            (
                Entry::new(
                    Action::Update,
                    Status::Failure,
                    ("EntryExportUpdate", "export", "PATCH failed".to_string()),
                )
                .error(
                    "SystemForCrossDomainIdentityManagementBadRequest",
                    "400: bad",
                )
                .details("PATCH /Users/t-1"),
                context(&[]),
                json!({"status": "failure", "errorInformation": {
                    "errorCode": "SystemForCrossDomainIdentityManagementBadRequest",
                    "reason": "400: bad", "additionalDetails": "PATCH /Users/t-1"}}),
                json!({"name": "EntryExportUpdate", "provisioningStepType": "export",
                       "status": "failure", "description": "PATCH failed", "details": {}}),
                json!([]),
                json!(null),
            ),
        ];
        for (entry, redacted, status_info, step, modified, target_id) in cases {
            let row = RowContext {
                id: Uuid::from_u128(1),
                job_id: "scim.1",
                cycle_id: Uuid::from_u128(2),
                change_id: Uuid::from_u128(3),
                activity: &activity_time(at),
                object_type: "User",
                source_id,
                source_display_name: Some("Ann"),
                service_principal: (Uuid::from_u128(4), "Contoso SCIM"),
                redacted: &redacted,
            };
            let expected = json!({
                "id": Uuid::from_u128(1).to_string(),
                "activityDateTime": "2027-01-15T08:00:00.000Z",
                "jobId": "scim.1",
                "cycleId": Uuid::from_u128(2).to_string(),
                "changeId": Uuid::from_u128(3).to_string(),
                "provisioningAction": entry.action.as_str(),
                "provisioningStatusInfo": status_info,
                "provisioningSteps": [
                    {"name": "EntryImport", "provisioningStepType": "import", "status": "success",
                     "description": format!("Retrieved User '{source_id}' from the source directory"),
                     "details": {}},
                    step
                ],
                "modifiedProperties": modified,
                "sourceIdentity": {"id": source_id.to_string(), "displayName": "Ann",
                                   "identityType": "User", "details": {}},
                "targetIdentity": {"id": target_id, "displayName": "Ann",
                                   "identityType": "User", "details": {}},
                "servicePrincipal": {"id": Uuid::from_u128(4).to_string(), "displayName": "Contoso SCIM"},
            });
            // The text itself, so that the key order is pinned too.
            assert_eq!(summary(&row, &entry).as_str(), expected.to_string());
        }
    }
}
