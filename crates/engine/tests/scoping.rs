//! Scoping filters as Microsoft describes them: MicrosoftDocs/entra-docs,
//! `docs/identity/app-provisioning/define-conditional-rules-for-provisioning-user-accounts.md`
//! (operators, AND within a filter, OR between filters, null/empty is false), and
//! microsoftgraph/microsoft-graph-docs-contrib,
//! `api-reference/beta/api/synchronization-synchronizationschema-filteroperators.md`.

use provisio_directory::ObjectKind;
use provisio_engine::model::{Filter, FilterClause, FilterGroup, FilterOperand};
use provisio_engine::scoping::{filter_operators, ScopeOperator, ScopingError, ScopingFilter};
use provisio_engine::source::SourceObject;
use serde_json::{json, Value};

fn clause(operator: &str, attribute: &str, values: &[&str]) -> FilterClause {
    FilterClause {
        operator_name: operator.to_string(),
        source_operand_name: attribute.to_string(),
        target_operand: Some(FilterOperand {
            values: values.iter().map(|v| v.to_string()).collect(),
        }),
    }
}

fn filter(groups: Vec<Vec<FilterClause>>) -> Filter {
    Filter {
        groups: groups
            .into_iter()
            .enumerate()
            .map(|(i, clauses)| FilterGroup {
                name: Some(format!("filter {}", i + 1)),
                clauses,
            })
            .collect(),
        ..Filter::default()
    }
}

fn user(attribute: Value) -> SourceObject {
    let mut graph = json!({"id": "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"});
    if !attribute.is_null() {
        graph["attr"] = attribute;
    }
    SourceObject::from_graph(ObjectKind::User, &graph).unwrap()
}

#[test]
fn every_operator_on_every_kind_of_value() {
    // (operator, the user's attribute (null: absent), target values, in scope)
    let rows: &[(&str, Value, &[&str], bool)] = &[
        // EQUALS: exact, case-sensitive.
        ("EQUALS", json!("Sales"), &["Sales"], true),
        ("EQUALS", json!("Sales"), &["sales"], false),
        ("EQUALS", json!("Sales"), &["Marketing", "Sales"], true),
        ("EQUALS", json!(42), &["42"], true),
        ("EQUALS", json!(""), &[""], false),
        ("EQUALS", Value::Null, &["Sales"], false),
        ("equals", json!("Sales"), &["Sales"], true),
        // NOT EQUALS: case-sensitive, false on null.
        ("NOT EQUALS", json!("Sales"), &["sales"], true),
        ("NOT EQUALS", json!("Sales"), &["Sales"], false),
        ("NOT EQUALS", json!("Sales"), &["Marketing", "Sales"], false),
        ("NOT EQUALS", Value::Null, &["Sales"], false),
        // &: the attribute occurs in the value.
        ("&", json!("Sales"), &["Sales,Marketing"], true),
        ("&", json!("HR"), &["Sales,Marketing"], false),
        ("&", Value::Null, &["Sales"], false),
        // !&: the attribute does not occur in the value.
        ("!&", json!("HR"), &["Sales,Marketing"], true),
        ("!&", json!("Sales"), &["Sales,Marketing"], false),
        ("!&", Value::Null, &["Sales"], false),
        // ENDS_WITH: case-sensitive.
        (
            "ENDS_WITH",
            json!("ann@contoso.com"),
            &["@contoso.com"],
            true,
        ),
        (
            "ENDS_WITH",
            json!("ann@contoso.com"),
            &["@CONTOSO.COM"],
            false,
        ),
        ("ENDS_WITH", Value::Null, &["x"], false),
        // Includes: the value occurs in the attribute, case-sensitive.
        ("Includes", json!("Senior Engineer"), &["Engineer"], true),
        ("Includes", json!("Senior Engineer"), &["engineer"], false),
        ("Includes", Value::Null, &["Engineer"], false),
        // Greater_Than(_OR_EQUALS): integers, in a number or in a string.
        ("Greater_Than", json!(1500000), &["1000000"], true),
        ("Greater_Than", json!("1500000"), &["1000000"], true),
        ("Greater_Than", json!(1000000), &["1000000"], false),
        ("Greater_Than", json!("abc"), &["1"], false),
        ("Greater_Than", Value::Null, &["1"], false),
        ("Greater_Than_OR_EQUALS", json!(1000000), &["1000000"], true),
        ("Greater_Than_OR_EQUALS", json!(999999), &["1000000"], false),
        // IS TRUE / IS FALSE: booleans, or their text.
        ("IS TRUE", json!(true), &[], true),
        ("IS TRUE", json!("True"), &[], true),
        ("IS TRUE", json!(false), &[], false),
        ("IS TRUE", Value::Null, &[], false),
        ("IS FALSE", json!(false), &[], true),
        ("IS FALSE", json!("yes"), &[], false),
        ("IS FALSE", Value::Null, &[], false),
        // IS NULL / IS NOT NULL: empty counts as null.
        ("IS NULL", Value::Null, &[], true),
        ("IS NULL", json!(""), &[], true),
        ("IS NULL", json!([]), &[], true),
        ("IS NULL", json!("x"), &[], false),
        ("IS NOT NULL", json!("x"), &[], true),
        ("IS NOT NULL", json!(""), &[], false),
        ("IS NOT NULL", Value::Null, &[], false),
        // REGEX MATCH: the page's examples; a match anywhere, case-sensitive.
        (
            "REGEX MATCH",
            json!("ann@domain.com"),
            &[r".*\@domain.com"],
            true,
        ),
        (
            "REGEX MATCH",
            json!("ann@other.com"),
            &[r".*\@domain.com"],
            false,
        ),
        (
            "REGEX MATCH",
            json!("1500000"),
            &["(1[0-9][0-9][0-9][0-9][0-9][0-9])"],
            true,
        ),
        ("REGEX MATCH", json!("42"), &["([1-9][0-9])"], true),
        ("REGEX MATCH", json!("ANN@DOMAIN.COM"), &["domain"], false),
        ("REGEX MATCH", Value::Null, &[".*"], false),
        // NOT REGEX MATCH: false when the attribute is null or empty.
        (
            "NOT REGEX MATCH",
            json!("ann@other.com"),
            &[r".*\@domain.com"],
            true,
        ),
        (
            "NOT REGEX MATCH",
            json!("ann@domain.com"),
            &[r".*\@domain.com"],
            false,
        ),
        ("NOT REGEX MATCH", Value::Null, &[r".*\@domain.com"], false),
        ("NOT REGEX MATCH", json!(""), &[r".*\@domain.com"], false),
        // Multi-valued attributes: every value must satisfy the clause.
        ("EQUALS", json!(["Sales", "Sales"]), &["Sales"], true),
        ("EQUALS", json!(["Sales", "HR"]), &["Sales"], false),
    ];
    for (operator, attribute, values, expected) in rows {
        let compiled =
            ScopingFilter::compile(&filter(vec![vec![clause(operator, "attr", values)]]))
                .unwrap_or_else(|error| panic!("{operator}: {error}"));
        assert_eq!(
            compiled.matches(&user(attribute.clone())),
            *expected,
            "{operator} {attribute} {values:?}"
        );
    }
}

#[test]
fn clauses_and_filters_combine_as_the_page_describes() {
    // The page's example: New York, Engineering, employee id in [1,000,000, 2,000,000), a job
    // title; and a second filter for anyone in Sales.
    let scoping = ScopingFilter::compile(&filter(vec![
        vec![
            clause("EQUALS", "state", &["New York"]),
            clause("EQUALS", "department", &["Engineering"]),
            clause("REGEX MATCH", "employeeId", &["^1[0-9]{6}$"]),
            clause("IS NOT NULL", "jobTitle", &[]),
        ],
        vec![clause("EQUALS", "department", &["Sales"])],
    ]))
    .unwrap();
    let engineer = json!({"id": "1", "state": "New York", "department": "Engineering",
                          "employeeId": "1234567", "jobTitle": "Engineer"});
    let rows = [
        (engineer.clone(), true),
        (
            json!({"id": "2", "state": "New York", "department": "Engineering",
                "employeeId": "1234567"}),
            false,
        ),
        (
            json!({"id": "3", "state": "Ohio", "department": "Engineering",
                "employeeId": "1234567", "jobTitle": "Engineer"}),
            false,
        ),
        (json!({"id": "4", "department": "Sales"}), true),
        (json!({"id": "5"}), false),
    ];
    for (graph, expected) in rows {
        let source = SourceObject::from_graph(ObjectKind::User, &graph).unwrap();
        assert_eq!(scoping.matches(&source), expected, "{graph}");
    }
    // No scoping filter: everything is in scope.
    let none = ScopingFilter::compile(&Filter::default()).unwrap();
    let source = SourceObject::from_graph(ObjectKind::User, &json!({"id": "6"})).unwrap();
    assert!(none.matches(&source));
}

#[test]
fn a_filter_that_cannot_be_evaluated_says_where_and_why() {
    let rows: &[(FilterClause, &str)] = &[
        (
            clause("CONTAINS", "department", &["x"]),
            "scoping filter group 1, clause 2: unknown operator \"CONTAINS\"",
        ),
        (
            clause("EQUALS", "department", &[]),
            "scoping filter group 1, clause 2: EQUALS needs at least one target value",
        ),
        (
            clause("Greater_Than", "employeeId", &["ten"]),
            "scoping filter group 1, clause 2: Greater_Than compares integers, and \"ten\" is not one",
        ),
        (
            clause("REGEX MATCH", "mail", &["(unclosed"]),
            "scoping filter group 1, clause 2: invalid regular expression \"(unclosed\": ",
        ),
        (
            clause("IS NULL", " ", &[]),
            "scoping filter group 1, clause 2: the source attribute name is empty",
        ),
    ];
    for (bad, message) in rows {
        let error = ScopingFilter::compile(&filter(vec![vec![
            clause("IS NOT NULL", "mail", &[]),
            bad.clone(),
        ]]))
        .unwrap_err();
        assert!(
            error.to_string().starts_with(message),
            "{error} does not start with {message}"
        );
        if let ScopingError::InvalidRegex { pattern, .. } = &error {
            assert_eq!(pattern, "(unclosed");
        }
    }
}

#[test]
fn filter_operators_lists_microsofts_sample_first_then_the_admin_centers_others() {
    // The full response the Graph page keeps in a comment, in its order.
    let page = json!([
        { "name": "EQUALS", "arity": "Binary", "multivaluedComparisonType": "All",
          "supportedAttributeTypes": ["Integer", "String"] },
        { "name": "IS FALSE", "arity": "Unary", "multivaluedComparisonType": "All",
          "supportedAttributeTypes": ["Boolean"] },
        { "name": "IS NOT NULL", "arity": "Unary", "multivaluedComparisonType": "All",
          "supportedAttributeTypes": ["Integer", "String", "Binary", "Boolean"] },
        { "name": "IS NULL", "arity": "Unary", "multivaluedComparisonType": "All",
          "supportedAttributeTypes": ["Integer", "String", "Binary", "Boolean"] },
        { "name": "IS TRUE", "arity": "Unary", "multivaluedComparisonType": "All",
          "supportedAttributeTypes": ["Boolean"] },
        { "name": "NOT EQUALS", "arity": "Binary", "multivaluedComparisonType": "All",
          "supportedAttributeTypes": ["Integer", "String"] },
        { "name": "NOT REGEX MATCH", "arity": "Binary", "multivaluedComparisonType": "All",
          "supportedAttributeTypes": ["Integer", "String"] },
        { "name": "REGEX MATCH", "arity": "Binary", "multivaluedComparisonType": "All",
          "supportedAttributeTypes": ["Integer", "String"] }
    ]);
    let listed = serde_json::to_value(filter_operators()).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(Value::Array(listed[..8].to_vec()), page);
    let others: Vec<&str> = listed[8..]
        .iter()
        .map(|op| op["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        others,
        [
            "&",
            "!&",
            "ENDS_WITH",
            "Greater_Than",
            "Greater_Than_OR_EQUALS",
            "Includes"
        ]
    );
    // Every operator evaluates, and every listed name reads back as its operator.
    assert_eq!(listed.len(), ScopeOperator::ALL.len());
    for op in ScopeOperator::ALL {
        assert_eq!(ScopeOperator::from_name(op.name()), Some(op));
    }
}
