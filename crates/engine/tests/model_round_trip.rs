//! Graph's own samples read into the model and written back unchanged (absent and `null`
//! being the same to Graph's clients). Each sample names the page it is copied from, in
//! `microsoftgraph/microsoft-graph-docs-contrib` unless it says otherwise.

use provisio_engine::model::{
    AttributeType, FilterOperatorSchema, QuarantineReason, SynchronizationJob,
    SynchronizationJobRestartCriteria, SynchronizationScheduleState, SynchronizationSchema,
    SynchronizationSecret, SynchronizationSecretKeyStringValuePair, SynchronizationStatusCode,
    SynchronizationTemplate,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// Reads `sample` as `T` and checks that writing and reading again is stable.
fn round_trip<T: Serialize + DeserializeOwned>(sample: Value) -> T {
    let parsed: T = serde_json::from_value(sample.clone()).expect("the sample reads");
    let written = serde_json::to_value(&parsed).expect("writes");
    let reread: T = serde_json::from_value(written.clone()).expect("reads back");
    assert_eq!(
        serde_json::to_value(&reread).unwrap(),
        written,
        "stable after one round"
    );
    parsed
}

fn assert_same(written: Value, sample: Value) {
    assert_eq!(without_nulls(written), without_nulls(sample));
}

/// `api-reference/beta/api/synchronization-synchronizationjob-get.md`, the response.
fn job_get_sample() -> Value {
    json!({
        "id": "{jobId}",
        "templateId": "BoxOutDelta",
        "schedule": {
            "expiration": null,
            "interval": "P10675199DT2H48M5.4775807S",
            "state": "Disabled"
        },
        "status": {
            "countSuccessiveCompleteFailures": 0,
            "escrowsPruned": false,
            "synchronizedEntryCountByType": [],
            "code": "Paused",
            "lastExecution": null,
            "lastSuccessfulExecution": null,
            "progress": [],
            "lastSuccessfulExecutionWithExports": null,
            "steadyStateFirstAchievedTime": "0001-01-01T00:00:00Z",
            "steadyStateLastAchievedTime": "0001-01-01T00:00:00Z",
            "quarantine": {
                "currentBegan": "",
                "nextAttempt": "",
                "reason": "",
                "seriesBegan": "",
                "seriesCount": 2,
                "error": {
                    "code": "SalesforceInvalidCredentials",
                    "message": "Your Salesforce.com credentials are invalid.  Please obtain a current Salesforce.com administrative user name, password and security token, and enter those in the screen for configuring user provisioning",
                    "tenantActionable": true
                }
            },
            "troubleshootingUrl": null
        },
        "synchronizationJobSettings": [
            { "name": "QuarantineTooManyDeletesThreshold", "value": "500" }
        ]
    })
}

#[test]
fn a_job_as_graph_returns_it() {
    let sample = job_get_sample();
    let job: SynchronizationJob = round_trip(sample.clone());
    assert_same(serde_json::to_value(&job).unwrap(), sample);

    let status = job.status.as_ref().unwrap();
    assert_eq!(status.code, SynchronizationStatusCode::Paused);
    let quarantine = status.quarantine.as_ref().unwrap();
    // Graph's sample leaves the reason empty; it is kept as written.
    assert_eq!(
        quarantine.reason,
        Some(QuarantineReason::Other(String::new()))
    );
    assert_eq!(quarantine.series_count, 2);
    assert_eq!(
        job.schedule.as_ref().unwrap().state,
        SynchronizationScheduleState::Disabled
    );
    assert_eq!(
        job.synchronization_job_settings[0].value.as_deref(),
        Some("500")
    );
}

/// `MicrosoftDocs/entra-docs`, `docs/identity/app-provisioning/application-provisioning-configuration-api.md`:
/// the job `POST /jobs` creates, and the template list.
#[test]
fn a_new_job_and_a_template_list_as_the_configuration_guide_shows_them() {
    let created = json!({
        "id": "{jobId}",
        "templateId": "aws",
        "schedule": {
            "expiration": null,
            "interval": "P10675199DT2H48M5.4775807S",
            "state": "Disabled"
        },
        "status": {
            "countSuccessiveCompleteFailures": 0,
            "escrowsPruned": false,
            "synchronizedEntryCountByType": [],
            "code": "NotConfigured",
            "lastExecution": null,
            "lastSuccessfulExecution": null,
            "lastSuccessfulExecutionWithExports": null,
            "steadyStateFirstAchievedTime": "0001-01-01T00:00:00Z",
            "steadyStateLastAchievedTime": "0001-01-01T00:00:00Z",
            "quarantine": null,
            "troubleshootingUrl": null
        }
    });
    let job: SynchronizationJob = round_trip(created.clone());
    let mut expected = created;
    // Collections are written even when the sample leaves them out.
    expected["status"]["progress"] = json!([]);
    expected["synchronizationJobSettings"] = json!([]);
    assert_same(serde_json::to_value(&job).unwrap(), expected);
    assert_eq!(
        job.status.unwrap().code,
        SynchronizationStatusCode::NotConfigured
    );

    let template = json!({
        "id": "aws",
        "factoryTag": "aws",
        "schema": { "directories": [], "synchronizationRules": [] }
    });
    let parsed: SynchronizationTemplate = round_trip(template);
    assert_eq!(
        serde_json::to_value(&parsed).unwrap(),
        json!({
            "id": "aws",
            "applicationId": null,
            "default": false,
            "description": null,
            "discoverable": false,
            "factoryTag": "aws",
            "metadata": [],
            "schema": { "directories": [], "synchronizationRules": [], "version": null }
        })
    );
}

/// `api-reference/beta/api/synchronization-synchronizationschema-get.md`, the response
/// without the `{}` placeholders the page puts where it shortens a collection.
#[test]
fn a_schema_as_graph_returns_it() {
    let sample = json!({
        "directories": [
            {
                "name": "Azure Active Directory",
                "objects": [
                    {
                        "name": "User",
                        "attributes": [ { "name": "userPrincipalName", "type": "string" } ]
                    }
                ]
            },
            { "name": "Salesforce", "objects": [] }
        ],
        "synchronizationRules": [
            {
                "name": "USER_TO_USER",
                "sourceDirectoryName": "Azure Active Directory",
                "targetDirectoryName": "Salesforce",
                "objectMappings": [
                    {
                        "sourceObjectName": "User",
                        "targetObjectName": "User",
                        "attributeMappings": [
                            { "source": {}, "targetAttributeName": "userName" }
                        ]
                    }
                ]
            }
        ]
    });
    let schema: SynchronizationSchema = round_trip(sample);
    let attribute = &schema.directories[0].objects[0].attributes[0];
    // The page writes the type in lower case; Graph's enumeration value is `String`.
    assert_eq!(attribute.attribute_type, AttributeType::String);
    let written = serde_json::to_value(&schema).unwrap();
    assert_eq!(
        written["directories"][0]["objects"][0]["attributes"][0]["type"],
        "String"
    );
    let mapping = &written["synchronizationRules"][0]["objectMappings"][0];
    // Graph's defaults for what the sample leaves out.
    assert_eq!(mapping["flowTypes"], "Add, Update, Delete");
    assert_eq!(mapping["enabled"], true);
    assert_eq!(mapping["attributeMappings"][0]["flowType"], "Always");
    assert_eq!(
        mapping["attributeMappings"][0]["flowBehavior"],
        "FlowWhenChanged"
    );
    assert_eq!(mapping["attributeMappings"][0]["matchingPriority"], 0);
}

/// `api-reference/beta/api/synchronization-synchronizationschema-filteroperators.md`: the
/// full response the page keeps in a comment.
#[test]
fn filter_operator_schemas_as_graph_returns_them() {
    let sample = json!([
        { "name": "EQUALS", "arity": "Binary", "multivaluedComparisonType": "All",
          "supportedAttributeTypes": ["Integer", "String"] },
        { "name": "IS FALSE", "arity": "Unary", "multivaluedComparisonType": "All",
          "supportedAttributeTypes": ["Boolean"] }
    ]);
    let parsed: Vec<FilterOperatorSchema> = round_trip(sample.clone());
    assert_eq!(serde_json::to_value(&parsed).unwrap(), sample);
}

/// `api-reference/beta/resources/synchronization-synchronizationjobrestartcriteria.md` and
/// the secrets body of `application-provisioning-configuration-api.md`.
#[test]
fn restart_criteria_and_secrets() {
    let criteria: SynchronizationJobRestartCriteria =
        round_trip(json!({ "resetScope": "Watermark, Escrows, QuarantineState" }));
    assert_eq!(
        criteria.reset_scope.as_deref(),
        Some("Watermark, Escrows, QuarantineState")
    );

    let secrets = json!([
        { "key": "ClientSecret", "value": "xxxxxxxxxxxxxxxxxxxxx" },
        { "key": "SecretToken", "value": "xxxxxxxxxxxxxxxxxxxxx" },
        { "key": "BaseAddress", "value": "https://example.com/scim" },
        { "key": "SyncAll", "value": "True" }
    ]);
    let parsed: Vec<SynchronizationSecretKeyStringValuePair> = round_trip(secrets.clone());
    assert_eq!(parsed[1].key, SynchronizationSecret::SecretToken);
    assert_eq!(parsed[3].key, SynchronizationSecret::SyncAll);
    assert_eq!(serde_json::to_value(&parsed).unwrap(), secrets);
}

/// `api-reference/beta/resources/synchronization-attributemappingsource.md`, both JSON
/// examples: they read, write back unchanged, and compile to the expression they carry.
#[test]
fn attribute_mapping_sources_as_graphs_page_shows_them() {
    use provisio_engine::mapping::{CompiledObjectMapping, Operation};
    use provisio_engine::model::{
        AttributeDefinition, AttributeMapping, AttributeMappingSource, AttributeType,
        ObjectDefinition, ObjectMapping,
    };
    use provisio_engine::source::SourceObject;

    let simple = json!({ "expression": "[mail]", "name": "mail", "type": "Attribute" });
    let mid = json!({
        "expression": "Mid([userPrincipalName], 1, 8)",
        "name": "Mid",
        "parameters": [
            { "key": "source", "value": { "expression": "[userPrincipalName]",
              "name": "userPrincipalName", "parameters": [], "type": "Attribute" } },
            { "key": "start", "value": { "expression": "\"1\"", "name": "1",
              "parameters": [], "type": "Constant" } },
            { "key": "length", "value": { "expression": "\"8\"", "name": "8",
              "parameters": [], "type": "Constant" } }
        ],
        "type": "Function"
    });
    // (sample, what the mapping gives for ann.lee@contoso.com)
    let rows = [
        (simple.clone(), "ann@contoso.com"),
        (mid.clone(), "ann.lee@"),
    ];
    for (sample, expected) in rows {
        let source: AttributeMappingSource = round_trip(sample.clone());
        let mut written = serde_json::to_value(&source).unwrap();
        if sample.get("parameters").is_none() {
            // The simple example leaves out the empty parameter list Graph describes.
            assert_eq!(written["parameters"], json!([]));
            written.as_object_mut().unwrap().remove("parameters");
        }
        assert_eq!(written, sample);

        assert_eq!(nick_name_from(source), json!(expected));
    }
    // Graph's page: `type` defaults to `Attribute`.
    let untyped: AttributeMappingSource =
        serde_json::from_value(json!({ "name": "mail" })).unwrap();
    assert_eq!(nick_name_from(untyped), json!("ann@contoso.com"));

    fn nick_name_from(source: AttributeMappingSource) -> Value {
        let mapping = ObjectMapping {
            name: None,
            enabled: true,
            flow_types: Default::default(),
            source_object_name: "User".to_string(),
            target_object_name: "User".to_string(),
            scope: None,
            attribute_mappings: vec![AttributeMapping {
                default_value: None,
                export_missing_references: false,
                flow_behavior: Default::default(),
                flow_type: Default::default(),
                matching_priority: 0,
                source: Some(source),
                target_attribute_name: "nickName".to_string(),
            }],
            metadata: Vec::new(),
        };
        let target = ObjectDefinition {
            name: "User".to_string(),
            attributes: vec![AttributeDefinition::new("nickName", AttributeType::String)],
            metadata: Vec::new(),
            supported_apis: Vec::new(),
        };
        let user = SourceObject::from_graph(
            provisio_directory::ObjectKind::User,
            &json!({"id": "u1", "mail": "ann@contoso.com",
                    "userPrincipalName": "ann.lee@contoso.com"}),
        )
        .unwrap();
        let env = provisio_expr::FixedEnvironment::new(time::OffsetDateTime::UNIX_EPOCH, 1);
        let desired = CompiledObjectMapping::compile(&mapping, None, &target)
            .unwrap()
            .evaluate(&user, Operation::Create, &env)
            .unwrap()
            .desired;
        desired.attributes["nickName"].clone()
    }
}
