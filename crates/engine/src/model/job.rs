//! Jobs and their state: `synchronizationJob`, `synchronizationSchedule`,
//! `synchronizationStatus`, `synchronizationTaskExecution`, `synchronizationQuarantine`,
//! `synchronizationProgress`, `synchronizationError`, `synchronizationJobRestartCriteria`,
//! `synchronizationTemplate`, `synchronizationSecretKeyStringValuePair`, and the key/value
//! pairs they carry.

use serde::{Deserialize, Serialize};

use super::schema::SynchronizationSchema;
use super::wire_enum;

/// `keyValuePair` (`name`/`value`), as in `synchronizationJobSettings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValuePair {
    pub name: String,
    pub value: Option<String>,
}

/// `stringKeyStringValuePair` (`key`/`value`), also the shape of every `metadata` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StringKeyStringValuePair {
    pub key: String,
    pub value: Option<String>,
}

/// `stringKeyLongValuePair`, as in `synchronizedEntryCountByType`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StringKeyLongValuePair {
    pub key: String,
    pub value: i64,
}

/// `synchronizationJob`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SynchronizationJob {
    /// `scim.<hex>` for custom SCIM apps; gallery jobs start with their factory tag.
    pub id: String,
    pub template_id: String,
    #[serde(default)]
    pub schedule: Option<SynchronizationSchedule>,
    #[serde(default)]
    pub status: Option<SynchronizationStatus>,
    /// Settings such as `QuarantineTooManyDeletesThreshold`, partly inherited from the
    /// template.
    #[serde(default)]
    pub synchronization_job_settings: Vec<KeyValuePair>,
}

wire_enum! {
    /// `synchronizationScheduleState`.
    SynchronizationScheduleState {
        Active = "Active",
        Disabled = "Disabled",
        Paused = "Paused",
    }
}

/// `synchronizationSchedule` (read-only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynchronizationSchedule {
    #[serde(default)]
    pub expiration: Option<String>,
    /// An ISO 8601 duration; a never-started job shows .NET's `TimeSpan.MaxValue`,
    /// `P10675199DT2H48M5.4775807S`.
    pub interval: String,
    pub state: SynchronizationScheduleState,
}

wire_enum! {
    /// `synchronizationStatusCode`.
    SynchronizationStatusCode {
        /// No credentials yet.
        NotConfigured = "NotConfigured",
        /// The first cycle has not finished.
        NotRun = "NotRun",
        Active = "Active",
        Paused = "Paused",
        Quarantine = "Quarantine",
    }
}

/// `synchronizationStatus`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SynchronizationStatus {
    pub code: SynchronizationStatusCode,
    #[serde(default)]
    pub count_successive_complete_failures: i64,
    #[serde(default)]
    pub escrows_pruned: bool,
    #[serde(default)]
    pub last_execution: Option<SynchronizationTaskExecution>,
    /// The last run without errors.
    #[serde(default)]
    pub last_successful_execution: Option<SynchronizationTaskExecution>,
    /// The last run that wrote to the target.
    #[serde(default)]
    pub last_successful_execution_with_exports: Option<SynchronizationTaskExecution>,
    #[serde(default)]
    pub progress: Vec<SynchronizationProgress>,
    #[serde(default)]
    pub quarantine: Option<SynchronizationQuarantine>,
    /// `0001-01-01T00:00:00Z` until reached.
    #[serde(default)]
    pub steady_state_first_achieved_time: Option<String>,
    #[serde(default)]
    pub steady_state_last_achieved_time: Option<String>,
    #[serde(default)]
    pub synchronized_entry_count_by_type: Vec<StringKeyLongValuePair>,
    #[serde(default)]
    pub troubleshooting_url: Option<String>,
}

wire_enum! {
    /// `synchronizationTaskExecutionResult`.
    SynchronizationTaskExecutionResult {
        Succeeded = "Succeeded",
        Failed = "Failed",
        EntryLevelErrors = "EntryLevelErrors",
    }
}

/// `synchronizationTaskExecution`: the counts and outcome of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SynchronizationTaskExecution {
    #[serde(default)]
    pub activity_identifier: Option<String>,
    #[serde(default)]
    pub count_entitled: i64,
    #[serde(default)]
    pub count_entitled_for_provisioning: i64,
    #[serde(default)]
    pub count_escrowed: i64,
    /// Escrows including the system's own.
    #[serde(default)]
    pub count_escrowed_raw: i64,
    #[serde(default)]
    pub count_exported: i64,
    /// Exports expected.
    #[serde(default)]
    pub count_exports: i64,
    #[serde(default)]
    pub count_imported: i64,
    #[serde(default)]
    pub count_imported_deltas: i64,
    #[serde(default)]
    pub count_imported_reference_deltas: i64,
    #[serde(default)]
    pub error: Option<SynchronizationError>,
    #[serde(default)]
    pub state: Option<SynchronizationTaskExecutionResult>,
    #[serde(default)]
    pub time_began: Option<String>,
    #[serde(default)]
    pub time_ended: Option<String>,
}

/// `synchronizationProgress`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SynchronizationProgress {
    pub completed_units: i64,
    #[serde(default)]
    pub progress_observation_date_time: Option<String>,
    pub total_units: i64,
    #[serde(default)]
    pub units: Option<String>,
}

wire_enum! {
    /// `quarantineReason`.
    QuarantineReason {
        EncounteredBaseEscrowThreshold = "EncounteredBaseEscrowThreshold",
        EncounteredTotalEscrowThreshold = "EncounteredTotalEscrowThreshold",
        /// More than 40 % of the events failed.
        EncounteredEscrowProportionThreshold = "EncounteredEscrowProportionThreshold",
        /// Invalid credentials, or no connection.
        EncounteredQuarantineException = "EncounteredQuarantineException",
        Unknown = "Unknown",
        QuarantinedOnDemand = "QuarantinedOnDemand",
        TooManyDeletes = "TooManyDeletes",
        IngestionInterrupted = "IngestionInterrupted",
    }
}

/// `synchronizationQuarantine`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SynchronizationQuarantine {
    #[serde(default)]
    pub current_began: Option<String>,
    #[serde(default)]
    pub error: Option<SynchronizationError>,
    #[serde(default)]
    pub next_attempt: Option<String>,
    #[serde(default)]
    pub reason: Option<QuarantineReason>,
    #[serde(default)]
    pub series_began: Option<String>,
    /// Re-evaluations while the quarantine stays imposed.
    #[serde(default)]
    pub series_count: i64,
}

/// `synchronizationError`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SynchronizationError {
    pub code: String,
    pub message: String,
    pub tenant_actionable: bool,
}

/// `synchronizationJobRestartCriteria`: the body of `restart` is `{"criteria": …}`. Read
/// `reset_scope` with [`crate::restart::ResetScope::parse`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SynchronizationJobRestartCriteria {
    #[serde(default)]
    pub reset_scope: Option<String>,
}

/// `synchronizationTemplate`: a preconfigured job for an application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SynchronizationTemplate {
    pub id: String,
    #[serde(default)]
    pub application_id: Option<String>,
    #[serde(default)]
    pub default: bool,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub discoverable: bool,
    /// Selects the engine implementation.
    pub factory_tag: String,
    #[serde(default)]
    pub metadata: Vec<StringKeyStringValuePair>,
    #[serde(default)]
    pub schema: Option<SynchronizationSchema>,
}

wire_enum! {
    /// `synchronizationSecret`: the keys of `PUT /synchronization/secrets`.
    SynchronizationSecret {
        None = "None",
        UserName = "UserName",
        Password = "Password",
        /// The bearer token sent to a SCIM target.
        SecretToken = "SecretToken",
        AppKey = "AppKey",
        /// The tenant URL of a SCIM target.
        BaseAddress = "BaseAddress",
        ClientIdentifier = "ClientIdentifier",
        ClientSecret = "ClientSecret",
        SingleSignOnType = "SingleSignOnType",
        Sandbox = "Sandbox",
        Url = "Url",
        Domain = "Domain",
        ConsumerKey = "ConsumerKey",
        ConsumerSecret = "ConsumerSecret",
        TokenKey = "TokenKey",
        TokenExpiration = "TokenExpiration",
        Oauth2AccessToken = "Oauth2AccessToken",
        Oauth2AccessTokenCreationTime = "Oauth2AccessTokenCreationTime",
        Oauth2RefreshToken = "Oauth2RefreshToken",
        /// `"True"`: scope is every user and group, not only assigned ones.
        SyncAll = "SyncAll",
        InstanceName = "InstanceName",
        Oauth2ClientId = "Oauth2ClientId",
        Oauth2ClientSecret = "Oauth2ClientSecret",
        CompanyId = "CompanyId",
        UpdateKeyOnSoftDelete = "UpdateKeyOnSoftDelete",
        SynchronizationSchedule = "SynchronizationSchedule",
        SystemOfRecord = "SystemOfRecord",
        SandboxName = "SandboxName",
        EnforceDomain = "EnforceDomain",
        /// Quarantine e-mail settings.
        SyncNotificationSettings = "SyncNotificationSettings",
        /// `"True"`: leavers are not disabled in the target.
        SkipOutOfScopeDeletions = "SkipOutOfScopeDeletions",
        Oauth2AuthorizationCode = "Oauth2AuthorizationCode",
        Oauth2RedirectUri = "Oauth2RedirectUri",
        ApplicationTemplateIdentifier = "ApplicationTemplateIdentifier",
        Oauth2TokenExchangeUri = "Oauth2TokenExchangeUri",
        Oauth2AuthorizationUri = "Oauth2AuthorizationUri",
        AuthenticationType = "AuthenticationType",
        Server = "Server",
        PerformInboundEntitlementGrants = "PerformInboundEntitlementGrants",
        HardDeletesEnabled = "HardDeletesEnabled",
        SyncAgentCompatibilityKey = "SyncAgentCompatibilityKey",
        SyncAgentADContainer = "SyncAgentADContainer",
        ValidateDomain = "ValidateDomain",
        TestReferences = "TestReferences",
        ConnectionString = "ConnectionString",
    }
}

/// `synchronizationSecretKeyStringValuePair`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SynchronizationSecretKeyStringValuePair {
    pub key: SynchronizationSecret,
    pub value: Option<String>,
}
