//! The checker: each expression with the messages it gets against a User definition.

use provisio_expr::{check, parse};

const ATTRIBUTES: &[&str] = &[
    "givenName",
    "surname",
    "userPrincipalName",
    "mail",
    "mailNickname",
    "department",
    "IsSoftDeleted",
    "proxyAddresses",
    "extension_8f2c1e9a_costCenter",
    "manager.displayName",
];

#[track_caller]
fn check_with(expression: &str, attributes: Option<&[&str]>, expected: &[&str]) {
    let tree = parse(expression).unwrap_or_else(|error| panic!("{expression}: {error}"));
    let errors: Vec<String> = check(&tree, expression, attributes)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(errors, expected, "{expression}");
}

#[track_caller]
fn checks(expression: &str, expected: &[&str]) {
    check_with(expression, Some(ATTRIBUTES), expected);
}

#[test]
#[rustfmt::skip]
fn valid_expressions() {
    checks(r#"Join(" ", [givenName], [surname])"#, &[]);
    checks(r#"Switch([IsSoftDeleted], , "False", "True", "True", "False")"#, &[]);
    checks("[SURNAME]", &[]);
    checks("[Extension_8F2C1E9A_CostCenter]", &[]);
    checks("[manager.displayName]", &[]);
    checks(r#"Replace([mail], , "(?<u>.*)@", "u", , [userPrincipalName], )"#, &[]);
    checks(r#"SelectUniqueValue([mail], [userPrincipalName])"#, &[]);
    checks("Guid()", &[]);
    checks(r#"IgnoreFlowIfNullOrEmpty(Coalesce([department]))"#, &[]);
}

#[test]
#[rustfmt::skip]
fn unknown_attributes() {
    checks(r#"Join(" ", [givenName], [surnme])"#, &[r#"unknown attribute "surnme" at column 24. Did you mean "surname"?"#]);
    checks("[givnName]", &[r#"unknown attribute "givnName" at column 1. Did you mean "givenName"?"#]);
    checks("[displayName]", &[r#"unknown attribute "displayName" at column 1"#]);
    checks("[extension_8f2c1e9a_costCentre]", &[ r#"unknown attribute "extension_8f2c1e9a_costCentre" at column 1. Did you mean "extension_8f2c1e9a_costCenter"?"#, ]);
    check_with("[anything]", None, &[]);
    check_with("[x]", Some(&[]), &[r#"unknown attribute "x" at column 1"#]);
}

#[test]
#[rustfmt::skip]
fn unknown_functions() {
    checks("Apend([mail], \"x\")", &[r#"unknown function "Apend" at column 1. Did you mean "Append"?"#]);
    checks("join(\",\", [mail])", &[r#"unknown function "join" at column 1. Did you mean "Join"?"#]);
    checks("Tolower([mail])", &[r#"unknown function "Tolower" at column 1. Did you mean "ToLower"?"#]);
    checks("Frobnicate([mail])", &[r#"unknown function "Frobnicate" at column 1"#]);
    checks(r#"Append(Trim([mail]), "x")"#, &[r#"unknown function "Trim" at column 8"#]);
}

#[test]
#[rustfmt::skip]
fn arities() {
    checks("Mid([mail], 1)", &["Mid takes 3 arguments, got 2 at column 1"]);
    checks("Left([mail])", &["Left takes 2 arguments, got 1 at column 1"]);
    checks("Guid([mail])", &["Guid takes 0 arguments, got 1 at column 1"]);
    checks("InStr([mail])", &["InStr takes 2 to 4 arguments, got 1 at column 1"]);
    checks("Join(\",\")", &["Join takes at least 2 arguments, got 1 at column 1"]);
    checks("SelectUniqueValue([mail])", &["SelectUniqueValue takes at least 2 arguments, got 1 at column 1"]);
    checks(r#"Switch([mail], "d", "k")"#, &["Switch takes 4, 6, 8, … arguments, got 3 at column 1"]);
    checks(r#"Switch([mail], "d", "k", "v", "k2")"#, &["Switch takes 4, 6, 8, … arguments, got 5 at column 1"]);
    checks(r#"Append(Mid([mail]), "x")"#, &["Mid takes 3 arguments, got 1 at column 8"]);
}

#[test]
#[rustfmt::skip]
fn required_and_placement() {
    checks(r#"Mid([mail], , 2)"#, &["argument 2 (start) of Mid is required at column 13"]);
    checks(r#"Join(",", , [mail])"#, &["argument 2 (source) of Join is required at column 11"]);
    checks(r#"Append(SelectUniqueValue([mail], [surname]), "x")"#, &["SelectUniqueValue must be the outermost function of the expression at column 8"]);
    checks(r#"Replace([mail], , , , , , )"#, &["Replace needs oldValue with replacementValue or template, or regexPattern with replacementValue, or regexPattern and regexGroupName with replacementAttributeName at column 1"]);
}

#[test]
#[rustfmt::skip]
fn several_errors_are_all_reported() {
    checks("Join(\",\", [givnName], Apend([surnme], \"x\"))", &[ r#"unknown attribute "givnName" at column 11. Did you mean "givenName"?"#, r#"unknown function "Apend" at column 23. Did you mean "Append"?"#, r#"unknown attribute "surnme" at column 29. Did you mean "surname"?"#, ]);
}
