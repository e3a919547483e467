//! The `scim` template against Microsoft's pages: MicrosoftDocs/entra-docs,
//! `docs/identity/app-provisioning/use-scim-to-provision-users-and-groups.md` (the user and
//! group attribute tables), `customize-application-attributes.md` (matching), and
//! `application-provisioning-configuration-api.md` (a template's id and factory tag).

use provisio_engine::mapping::CompiledObjectMapping;
use provisio_engine::model::{AttributeFlowType, SynchronizationTemplate};
use provisio_engine::template::{scim_template, template, ENTRA_DIRECTORY, SCIM_DIRECTORY};

fn expressions(template: &SynchronizationTemplate, object: &str) -> Vec<(String, String, i32)> {
    let schema = template.schema.as_ref().unwrap();
    let mapping = schema.synchronization_rules[0]
        .object_mappings
        .iter()
        .find(|m| m.source_object_name == object)
        .unwrap();
    mapping
        .attribute_mappings
        .iter()
        .map(|a| {
            let source = serde_json::to_value(a.source.as_ref().unwrap()).unwrap();
            (
                provisio_expr::graph_to_text(&source).unwrap(),
                a.target_attribute_name.clone(),
                a.matching_priority,
            )
        })
        .collect()
}

#[test]
fn the_template_is_found_by_its_id_and_names_its_directories() {
    let template = template("SCIM").unwrap();
    assert_eq!(template.id, "scim");
    assert_eq!(template.factory_tag, "scim");
    let schema = template.schema.as_ref().unwrap();
    let rule = &schema.synchronization_rules[0];
    assert_eq!(rule.source_directory_name, ENTRA_DIRECTORY);
    assert_eq!(rule.source_directory_name, "Azure Active Directory");
    assert_eq!(rule.target_directory_name, SCIM_DIRECTORY);
    assert_eq!(rule.target_directory_name, "customappsso");
    let objects: Vec<(&str, &str, String)> = rule
        .object_mappings
        .iter()
        .map(|m| {
            (
                m.source_object_name.as_str(),
                m.target_object_name.as_str(),
                m.flow_types.to_string(),
            )
        })
        .collect();
    assert_eq!(
        objects,
        [
            ("User", "User", "Add, Update, Delete".to_string()),
            ("Group", "Group", "Add, Update, Delete".to_string())
        ]
    );
}

#[test]
fn the_user_mappings_are_entras_defaults() {
    let expected: &[(&str, &str, i32)] = &[
        // The SCIM page's table, row by row where it agrees with the admin center.
        ("[userPrincipalName]", "userName", 1),
        (
            r#"Switch([IsSoftDeleted], , "False", "True", "True", "False")"#,
            "active",
            0,
        ),
        ("[displayName]", "displayName", 0),
        ("[jobTitle]", "title", 0),
        ("[mail]", r#"emails[type eq "work"].value"#, 0),
        ("[preferredLanguage]", "preferredLanguage", 0),
        ("[givenName]", "name.givenName", 0),
        ("[surname]", "name.familyName", 0),
        // The page's POST body has name.formatted "givenName familyName".
        (r#"Join(" ", [givenName], [surname])"#, "name.formatted", 0),
        (
            "[physicalDeliveryOfficeName]",
            r#"addresses[type eq "work"].formatted"#,
            0,
        ),
        (
            "[streetAddress]",
            r#"addresses[type eq "work"].streetAddress"#,
            0,
        ),
        ("[city]", r#"addresses[type eq "work"].locality"#, 0),
        ("[state]", r#"addresses[type eq "work"].region"#, 0),
        ("[postalCode]", r#"addresses[type eq "work"].postalCode"#, 0),
        ("[country]", r#"addresses[type eq "work"].country"#, 0),
        (
            "[telephoneNumber]",
            r#"phoneNumbers[type eq "work"].value"#,
            0,
        ),
        ("[mobile]", r#"phoneNumbers[type eq "mobile"].value"#, 0),
        (
            "[facsimileTelephoneNumber]",
            r#"phoneNumbers[type eq "fax"].value"#,
            0,
        ),
        ("[mailNickname]", "externalId", 0),
        (
            "[employeeId]",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            0,
        ),
        (
            "[department]",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            0,
        ),
        (
            "[manager]",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            0,
        ),
    ];
    let actual = expressions(&scim_template(), "User");
    let actual: Vec<(&str, &str, i32)> = actual
        .iter()
        .map(|(e, t, p)| (e.as_str(), t.as_str(), *p))
        .collect();
    assert_eq!(actual, expected);
}

#[test]
fn the_group_mappings_are_the_pages_table_matched_by_display_name() {
    let actual = expressions(&scim_template(), "Group");
    let actual: Vec<(&str, &str, i32)> = actual
        .iter()
        .map(|(e, t, p)| (e.as_str(), t.as_str(), *p))
        .collect();
    assert_eq!(
        actual,
        [
            ("[displayName]", "displayName", 1),
            ("[objectId]", "externalId", 0),
            ("[members]", "members", 0),
        ]
    );
}

#[test]
fn every_expression_parses_checks_and_compiles_against_the_directory() {
    let template = scim_template();
    let schema = template.schema.as_ref().unwrap();
    let entra = schema.directory(ENTRA_DIRECTORY).unwrap();
    for rule in &schema.synchronization_rules {
        for mapping in &rule.object_mappings {
            let names: Vec<&str> = entra
                .object(&mapping.source_object_name)
                .unwrap()
                .attributes
                .iter()
                .map(|a| a.name.as_str())
                .collect();
            for attribute in &mapping.attribute_mappings {
                let source = serde_json::to_value(attribute.source.as_ref().unwrap()).unwrap();
                let text = source["expression"].as_str().unwrap().to_string();
                let expr =
                    provisio_expr::parse(&text).unwrap_or_else(|error| panic!("{text}: {error}"));
                assert_eq!(
                    provisio_expr::from_graph(&source).unwrap().to_string(),
                    text
                );
                assert_eq!(
                    provisio_expr::check(&expr, &text, Some(&names)),
                    Vec::new(),
                    "{text}"
                );
                assert_eq!(attribute.flow_type, AttributeFlowType::Always);
            }
            CompiledObjectMapping::compile_in(schema, rule, mapping)
                .unwrap_or_else(|error| panic!("{error}"));
        }
    }
}
