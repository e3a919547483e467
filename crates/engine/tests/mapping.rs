//! The default mappings evaluated over Graph objects give what Entra sends. The expected
//! bodies come from MicrosoftDocs/entra-docs,
//! `docs/identity/app-provisioning/use-scim-to-provision-users-and-groups.md` (Create User,
//! Create Group), and the flow rules from `customize-application-attributes.md`.

use provisio_directory::ObjectKind;
use provisio_engine::mapping::{
    CompiledObjectMapping, DesiredReference, MappingError, MatchingValue, Operation,
};
use provisio_engine::model::{
    AttributeDefinition, AttributeFlowType, AttributeMapping, AttributeMappingSource,
    AttributeType, ObjectDefinition, ObjectMapping,
};
use provisio_engine::source::{ScopeFacts, ScopeMode, SourceObject};
use provisio_engine::template::scim_template;
use provisio_expr::FixedEnvironment;
use serde_json::{json, Value};
use time::macros::datetime;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn env() -> FixedEnvironment {
    FixedEnvironment::new(datetime!(2026-03-01 12:00 UTC), 7)
}

fn default_mapping(object: &str) -> CompiledObjectMapping {
    let template = scim_template();
    let schema = template.schema.as_ref().unwrap();
    let rule = &schema.synchronization_rules[0];
    let mapping = rule
        .object_mappings
        .iter()
        .find(|m| m.source_object_name == object)
        .unwrap();
    CompiledObjectMapping::compile_in(schema, rule, mapping).unwrap()
}

fn in_scope(kind: ObjectKind, graph: Value) -> SourceObject {
    let mut source = SourceObject::from_graph(kind, &graph).unwrap();
    source.set_scope(&ScopeFacts {
        mode: ScopeMode::AssignedOnly,
        assigned: true,
        deleted: false,
        passes_scoping_filter: true,
    });
    source
}

#[test]
fn the_pages_test_user_gives_the_pages_post_body() {
    let user = in_scope(
        ObjectKind::User,
        json!({
            "id": "8f0c1a2e-2b5c-4a89-9f62-1d3f5e7a9b10",
            "accountEnabled": true,
            "userPrincipalName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
            "mailNickname": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "mail": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com",
            "givenName": "givenName",
            "surname": "familyName",
        }),
    );
    let evaluation = default_mapping("User")
        .evaluate(&user, Operation::Create, &env())
        .unwrap();
    // The page's body, but for `"roles": []`: the default mappings map no role.
    let page = json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "active": true,
        "emails": [{
            "primary": true,
            "type": "work",
            "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"
        }],
        "meta": {
            "resourceType": "User"
        },
        "name": {
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName"
        }
    });
    assert_eq!(evaluation.desired.post_body("User"), page);
    assert_eq!(evaluation.desired.references, []);
    assert_eq!(
        evaluation.matching,
        [MatchingValue {
            priority: 1,
            target_attribute: "userName".to_string(),
            value: "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee".to_string(),
        }]
    );
}

#[test]
fn a_full_graph_user_fills_every_default_attribute() {
    let graph = json!({
        "id": "4b7e0c1d-6a53-4f0e-9a5e-2f1c9d8b7a61",
        "accountEnabled": true,
        "userPrincipalName": "ann.lee@contoso.com",
        "displayName": "Ann Lee",
        "givenName": "Ann",
        "surname": "Lee",
        "mail": "ann.lee@contoso.com",
        "mailNickname": "annlee",
        "jobTitle": "Engineer",
        "preferredLanguage": "en-GB",
        "officeLocation": "Building 4",
        "streetAddress": "1 Main Street",
        "city": "Dublin",
        "state": "Leinster",
        "postalCode": "D01",
        "country": "IE",
        "businessPhones": ["+353 1 555 0100"],
        "mobilePhone": "+353 87 555 0101",
        "faxNumber": "+353 1 555 0102",
        "employeeId": "1234567",
        "department": "Research",
        "manager": {"id": "9d1e2f3a-0000-4000-8000-000000000001", "displayName": "Bo Chen"},
    });
    let user = in_scope(ObjectKind::User, graph);
    let evaluation = default_mapping("User")
        .evaluate(&user, Operation::Create, &env())
        .unwrap();
    let expected = json!({
        "userName": "ann.lee@contoso.com",
        "active": true,
        "displayName": "Ann Lee",
        "title": "Engineer",
        "emails": [{"primary": true, "type": "work", "value": "ann.lee@contoso.com"}],
        "preferredLanguage": "en-GB",
        "name": {"givenName": "Ann", "familyName": "Lee", "formatted": "Ann Lee"},
        "addresses": [{
            "type": "work",
            "formatted": "Building 4",
            "streetAddress": "1 Main Street",
            "locality": "Dublin",
            "region": "Leinster",
            "postalCode": "D01",
            "country": "IE"
        }],
        "phoneNumbers": [
            {"type": "work", "value": "+353 1 555 0100"},
            {"type": "mobile", "value": "+353 87 555 0101"},
            {"type": "fax", "value": "+353 1 555 0102"}
        ],
        "externalId": "annlee",
        ENTERPRISE: {"employeeNumber": "1234567", "department": "Research"}
    });
    assert_eq!(
        Value::Object(evaluation.desired.attributes.clone()),
        expected
    );
    assert_eq!(
        evaluation.desired.references,
        [DesiredReference {
            target_attribute: format!("{ENTERPRISE}:manager"),
            source_ids: vec!["9d1e2f3a-0000-4000-8000-000000000001".to_string()],
        }]
    );
}

#[test]
fn active_follows_is_soft_deleted() {
    let mapping = default_mapping("User");
    // (accountEnabled, assigned, active)
    for (enabled, assigned, active) in [
        (true, true, true),
        (false, true, false),
        (true, false, false),
    ] {
        let mut user = SourceObject::from_graph(
            ObjectKind::User,
            &json!({"id": "u1", "userPrincipalName": "u1@contoso.com", "accountEnabled": enabled}),
        )
        .unwrap();
        user.set_scope(&ScopeFacts {
            mode: ScopeMode::AssignedOnly,
            assigned,
            deleted: false,
            passes_scoping_filter: true,
        });
        let evaluation = mapping.evaluate(&user, Operation::Update, &env()).unwrap();
        assert_eq!(
            evaluation.desired.attributes["active"],
            json!(active),
            "{enabled} {assigned}"
        );
    }
}

#[test]
fn a_group_is_created_without_members_which_come_back_as_references() {
    let group = in_scope(
        ObjectKind::Group,
        json!({
            "id": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "displayName",
            "members": [{"id": "u1"}, "u2", {"objectId": "g3"}]
        }),
    );
    let evaluation = default_mapping("Group")
        .evaluate(&group, Operation::Create, &env())
        .unwrap();
    // The SCIM page's Create Group body.
    assert_eq!(
        evaluation.desired.post_body("Group"),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                        "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "displayName",
            "meta": {"resourceType": "Group"}
        })
    );
    assert_eq!(
        evaluation.desired.references,
        [DesiredReference {
            target_attribute: "members".to_string(),
            source_ids: vec!["u1".to_string(), "u2".to_string(), "g3".to_string()],
        }]
    );
    assert_eq!(evaluation.matching[0].target_attribute, "displayName");
}

fn mapping(expression: Option<&str>, target: &str) -> AttributeMapping {
    AttributeMapping {
        default_value: None,
        export_missing_references: false,
        flow_behavior: Default::default(),
        flow_type: AttributeFlowType::Always,
        matching_priority: 0,
        source: expression.map(|text| AttributeMappingSource {
            expression: Some(text.to_string()),
            name: None,
            parameters: Vec::new(),
            source_type: None,
        }),
        target_attribute_name: target.to_string(),
    }
}

fn custom(
    mappings: Vec<AttributeMapping>,
    targets: Vec<AttributeDefinition>,
) -> CompiledObjectMapping {
    let object = ObjectMapping {
        name: None,
        enabled: true,
        flow_types: Default::default(),
        source_object_name: "User".to_string(),
        target_object_name: "User".to_string(),
        scope: None,
        attribute_mappings: mappings,
        metadata: Vec::new(),
    };
    let target = ObjectDefinition {
        name: "User".to_string(),
        attributes: targets,
        metadata: Vec::new(),
        supported_apis: Vec::new(),
    };
    CompiledObjectMapping::compile(&object, None, &target).unwrap()
}

#[test]
fn flow_types_defaults_and_ignored_flows() {
    let with = |mut m: AttributeMapping, f: &dyn Fn(&mut AttributeMapping)| {
        f(&mut m);
        m
    };
    let compiled = custom(
        vec![
            with(mapping(Some("[employeeId]"), "externalId"), &|m| {
                m.flow_type = AttributeFlowType::ObjectAddOnly
            }),
            with(mapping(Some("[jobTitle]"), "title"), &|m| {
                m.default_value = Some("Staff".to_string())
            }),
            mapping(Some("IgnoreFlowIfNullOrEmpty([nickname])"), "nickName"),
            with(mapping(None, "userType"), &|m| {
                m.default_value = Some("Employee".to_string())
            }),
            with(
                mapping(Some("[mail]"), r#"emails[type eq "work"].value"#),
                &|m| m.matching_priority = 2,
            ),
            with(mapping(Some("[userPrincipalName]"), "userName"), &|m| {
                m.matching_priority = 1
            }),
            with(mapping(Some("[mailNickname]"), "displayName"), &|m| {
                m.matching_priority = 3;
                m.flow_type = AttributeFlowType::ObjectAddOnly
            }),
        ],
        Vec::new(),
    );
    let user = in_scope(
        ObjectKind::User,
        json!({"id": "u1", "employeeId": "42", "userPrincipalName": "u1@contoso.com",
               "mail": "u1@contoso.com", "mailNickname": "u1", "nickname": ""}),
    );
    // (operation, attributes)
    let rows = [
        (
            Operation::Create,
            json!({"externalId": "42", "title": "Staff", "userType": "Employee",
                   "emails": [{"primary": true, "type": "work", "value": "u1@contoso.com"}],
                   "userName": "u1@contoso.com", "displayName": "u1"}),
        ),
        (
            Operation::Update,
            json!({"emails": [{"primary": true, "type": "work", "value": "u1@contoso.com"}],
                   "userName": "u1@contoso.com"}),
        ),
    ];
    for (operation, expected) in rows {
        let evaluation = compiled.evaluate(&user, operation, &env()).unwrap();
        assert_eq!(
            Value::Object(evaluation.desired.attributes),
            expected,
            "{operation:?}"
        );
        // Matching values come in priority order whatever the operation, add-only ones too.
        let matching: Vec<(i32, &str)> = evaluation
            .matching
            .iter()
            .map(|m| (m.priority, m.value.as_str()))
            .collect();
        assert_eq!(
            matching,
            [(1, "u1@contoso.com"), (2, "u1@contoso.com"), (3, "u1")]
        );
    }
}

#[test]
fn values_take_the_type_of_their_target_attribute() {
    let typed = |name: &str, attribute_type| AttributeDefinition::new(name, attribute_type);
    let mut tags = typed(
        "urn:ietf:params:scim:schemas:extension:Acme:2.0:User:tags",
        AttributeType::String,
    );
    tags.multivalued = true;
    let compiled = custom(
        vec![
            mapping(
                Some("[hired]"),
                "urn:ietf:params:scim:schemas:extension:Acme:2.0:User:hired",
            ),
            mapping(
                Some(r#"DateAdd("d", 1, CDate("3/23/2012 7:00:00 AM"))"#),
                "urn:ietf:params:scim:schemas:extension:Acme:2.0:User:reviewed",
            ),
            mapping(Some("[accountEnabled]"), "active"),
            mapping(
                Some("[level]"),
                "urn:ietf:params:scim:schemas:extension:Acme:2.0:User:level",
            ),
            mapping(Some("[accountEnabled]"), "nickName"),
            mapping(
                Some("[proxyAddresses]"),
                "urn:ietf:params:scim:schemas:extension:Acme:2.0:User:tags",
            ),
            mapping(
                Some(r#"Switch([role], , "1", "True")"#),
                r#"roles[primary eq "True"].value"#,
            ),
            mapping(Some("[office]"), r#"addresses[type eq "other"].Formatted"#),
        ],
        vec![
            typed(
                "urn:ietf:params:scim:schemas:extension:Acme:2.0:User:hired",
                AttributeType::DateTime,
            ),
            typed(
                "urn:ietf:params:scim:schemas:extension:Acme:2.0:User:reviewed",
                AttributeType::DateTime,
            ),
            typed(
                "urn:ietf:params:scim:schemas:extension:Acme:2.0:User:level",
                AttributeType::Integer,
            ),
            tags,
        ],
    );
    let user = in_scope(
        ObjectKind::User,
        json!({"id": "u1", "hired": "2024-02-01T09:30:00+01:00", "accountEnabled": false,
               "level": "7", "proxyAddresses": ["SMTP:a@contoso.com", "", "smtp:b@contoso.com"],
               "role": "1", "office": "B/1"}),
    );
    let evaluation = compiled.evaluate(&user, Operation::Create, &env()).unwrap();
    assert_eq!(
        Value::Object(evaluation.desired.attributes),
        json!({
            "urn:ietf:params:scim:schemas:extension:Acme:2.0:User": {
                "hired": "2024-02-01T08:30:00Z",
                "reviewed": "2012-03-24T07:00:00Z",
                "level": 7,
                "tags": ["SMTP:a@contoso.com", "smtp:b@contoso.com"]
            },
            // `active` is Boolean in the SCIM schema; `nickName` is a string.
            "active": false,
            "nickName": "False",
            "roles": [{"primary": true, "value": "True"}],
            "addresses": [{"type": "other", "formatted": "B/1"}]
        })
    );
}

#[test]
fn mistakes_are_reported_with_the_target_attribute() {
    let compile = |mapping: AttributeMapping| {
        let object = ObjectMapping {
            name: None,
            enabled: true,
            flow_types: Default::default(),
            source_object_name: "User".to_string(),
            target_object_name: "User".to_string(),
            scope: None,
            attribute_mappings: vec![mapping],
            metadata: Vec::new(),
        };
        let source = ObjectDefinition {
            name: "User".to_string(),
            attributes: vec![AttributeDefinition::new("surname", AttributeType::String)],
            metadata: Vec::new(),
            supported_apis: Vec::new(),
        };
        let target = ObjectDefinition {
            attributes: Vec::new(),
            ..source.clone()
        };
        CompiledObjectMapping::compile(&object, Some(&source), &target).map(|_| ())
    };
    let rows: &[(AttributeMapping, &str)] = &[
        (mapping(Some("[surnme]"), "name.familyName"),
         "mapping to \"name.familyName\": unknown attribute \"surnme\" at column 1. Did you mean \"surname\"? in [surnme]"),
        (mapping(Some("Left([surname]"), "name.familyName"),
         "mapping to \"name.familyName\": "),
        (mapping(None, "title"), "mapping to \"title\" has neither a source nor a default value"),
        (mapping(Some("[surname]"), "emails[type eq \"work\"]"),
         "target attribute \"emails[type eq \"work\"]\": a value filter must be followed by the sub-attribute it sets"),
        (mapping(Some("[surname]"), "emails[type ne \"work\"].value"),
         "target attribute \"emails[type ne \"work\"].value\": only `eq` comparisons joined by `and` can select an element"),
        (mapping(Some("[surname]"), "emails[type eq"), "target attribute \"emails[type eq\": "),
    ];
    for (bad, message) in rows {
        let error = compile(bad.clone()).unwrap_err();
        assert!(
            error.to_string().starts_with(message),
            "{error}\n  does not start with\n{message}"
        );
    }

    // A value the target attribute's type cannot hold fails the object, naming both.
    let compiled = custom(vec![mapping(Some("[surname]"), "active")], Vec::new());
    let user = in_scope(ObjectKind::User, json!({"id": "u1", "surname": "Lee"}));
    let error = compiled
        .evaluate(&user, Operation::Create, &env())
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "mapping to \"active\": \"Lee\" is not a boolean"
    );
    assert!(matches!(error, MappingError::WrongType { .. }));
}
