//! `provisio expr eval` and `provisio expr check` as a user runs them: the real binary.

use std::process::{Command, Output};

fn provisio(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_provisio"))
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .unwrap_or_else(|error| panic!("running provisio: {error}"))
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

/// Runs `provisio ARGS --input USER.json` with a small user object.
fn on_user(args: &[&str]) -> Output {
    let file = user_file();
    let mut args = args.to_vec();
    args.extend(["--input", file.path().to_str().unwrap_or_default()]);
    provisio(&args)
}

fn user_file() -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap_or_else(|error| panic!("{error}"));
    let user = serde_json::json!({
        "givenName": "Zoë", "surname": "Ærø", "department": "",
        "proxyAddresses": ["SMTP:zoe@contoso.com", "smtp:z@contoso.com"]
    });
    std::fs::write(file.path(), user.to_string()).unwrap_or_else(|error| panic!("{error}"));
    file
}

#[test]
fn eval_prints_the_value() {
    let output = on_user(&[
        "expr",
        "eval",
        r#"NormalizeDiacritics(Join(" ", [givenName], [Surname]))"#,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), r#"{"value":"Zoe AEroe"}"#);
}

#[test]
fn eval_prints_multi_valued_results_as_arrays() {
    let output = on_user(&["expr", "eval", "ToLower([proxyAddresses])"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        r#"{"value":["smtp:zoe@contoso.com","smtp:z@contoso.com"]}"#
    );
    let output = on_user(&["expr", "eval", r#"Split("a,b", ",")"#]);
    assert_eq!(stdout(&output), r#"{"value":["a","b"]}"#);
}

/// Dates print as Microsoft's reference shows CDate's and DateAdd's results: in UTC, as
/// `M/d/yyyy h:mm:ss tt` (MicrosoftDocs/entra-docs,
/// docs/identity/app-provisioning/functions-for-customizing-application-data.md).
#[test]
fn eval_prints_dates_as_the_reference_shows_them() {
    for (expression, expected) in [
        (
            r#"CDate("2009-06-15T01:45:30-07:00")"#,
            r#"{"value":"6/15/2009 8:45:30 AM"}"#,
        ),
        (
            r#"DateAdd("d", 7, CDate("2012-03-16-07:00"))"#,
            r#"{"value":"3/23/2012 7:00:00 AM"}"#,
        ),
        (
            r#"FormatDateTime(DateAdd("d", 7, CDate("2012-03-16-07:00")), , "", "yyyy-MM-dd")"#,
            r#"{"value":"2012-03-23"}"#,
        ),
    ] {
        let output = provisio(&["expr", "eval", expression]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert_eq!(stdout(&output), expected, "{expression}");
    }
}

#[test]
fn eval_reports_a_suppressed_flow() {
    let output = on_user(&["expr", "eval", "IgnoreFlowIfNullOrEmpty([department])"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), r#"{"ignored":true}"#);
}

#[test]
fn parse_and_evaluation_errors_exit_1_with_the_position() {
    let output = provisio(&["expr", "eval", r#"Join(" ", [givenName] [surname])"#]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(r#"expected "," or ")" after argument 2 of Join at column 23"#),
        "{}",
        stderr(&output)
    );
    let output = provisio(&["expr", "eval", r#"Error("no manager")"#]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("no manager at column 1"),
        "{}",
        stderr(&output)
    );
    let output = provisio(&["expr", "check", "Mid([a], 1"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(r#"after argument 2 of Mid at column 11"#),
        "{}",
        stderr(&output)
    );
}

#[test]
fn check_suggests_near_misses() {
    let output = provisio(&[
        "expr",
        "check",
        r#"Join(" ", [givenName], [surnme])"#,
        "--attributes",
        "givenName,surname,mail",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output)
            .contains(r#"unknown attribute "surnme" at column 24. Did you mean "surname"?"#),
        "{}",
        stderr(&output)
    );
    let output = on_user(&["expr", "check", "Tolower([givenName])"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(r#"Did you mean "ToLower"?"#),
        "{}",
        stderr(&output)
    );
    let output = on_user(&["expr", "check", r#"Join(" ", [givenName], [surname])"#]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "ok");
}
