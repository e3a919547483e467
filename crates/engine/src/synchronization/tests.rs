use super::*;
use crate::template::scim_schema;

#[test]
fn the_scim_template_schema_is_valid() {
    assert_eq!(validate_schema(&scim_schema()), Ok(()));
}

#[test]
fn a_broken_mapping_is_named_with_its_target_attribute() {
    let mut schema = scim_schema();
    let mapping = &mut schema.synchronization_rules[0].object_mappings[0];
    mapping.attribute_mappings[0].source = serde_json::from_value(json!({
        "type": "Function", "name": "NoSuchFunction", "parameters": [], "expression": "NoSuchFunction()"
    }))
    .ok();
    let error = validate_schema(&schema).expect_err("an unknown function does not compile");
    let SyncError::InvalidSchema { mapping, reason } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(mapping, "Provision Microsoft Entra ID Users");
    assert!(reason.contains("userName"), "{reason}");
}

#[test]
fn pending_resets_stay_out_of_the_rendered_job() {
    let job = SynchronizationJob {
        id: "scim.1".into(),
        template_id: "scim".into(),
        schedule: None,
        status: None,
        synchronization_job_settings: Vec::new(),
    };
    let pending = PendingReset {
        watermark: true,
        escrows: true,
        ..PendingReset::default()
    };
    let record = JobRecord {
        id: "scim.1".into(),
        service_principal_id: Uuid::nil(),
        template_id: "scim".into(),
        job: to_json(&StoredJob {
            job: job.clone(),
            pending,
        }),
        schema: json!({}),
        version: 1,
        created: String::new(),
    };
    assert_eq!(pending_reset(&record), pending);
    assert_eq!(job_of(&record), Ok(job));
    assert!(!to_json(&job_of(&record).ok())
        .to_string()
        .contains("provisio"));
}
