//! End-to-end tests of `provisio directory import` and `provisio directory seed`: the real
//! binary, against files, and against the real `provisio serve` on 127.0.0.1.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Client, Server, TOKEN};
use serde_json::json;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn provisio(args: &[&str], env: &[(&str, &str)]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_provisio"))
        .args(args)
        .env_remove("PROVISIO_ADMIN_TOKEN")
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .output()
        .expect("run provisio");
    Run {
        code: output.status.code().expect("an exit code"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// Asserts that the summary line starts with `head` and ends with `tail` (the time and rate
/// between them vary).
fn assert_summary(stdout: &str, head: &str, tail: &str) {
    let summary = stdout.lines().next().unwrap_or_default();
    assert!(
        summary.starts_with(head) && summary.ends_with(tail),
        "{summary:?} is not {head:?} … {tail:?}"
    );
}

/// The summary's error lines.
fn error_lines(stdout: &str) -> Vec<&str> {
    stdout.lines().filter(|l| l.starts_with("line ")).collect()
}

#[test]
fn a_seeded_directory_passes_a_local_dry_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("seed.jsonl");
    let file = file.to_str().unwrap();
    let seeded = provisio(
        &[
            "directory",
            "seed",
            "--users",
            "3000",
            "--groups",
            "40",
            "--output",
            file,
        ],
        &[],
    );
    assert_eq!(seeded.code, 0, "{}", seeded.stderr);
    assert!(
        seeded.stdout.starts_with("wrote 3,040 records to "),
        "{}",
        seeded.stdout
    );

    let checked = provisio(&["directory", "import", file, "--dry-run"], &[]);
    assert_eq!(checked.code, 0, "{}{}", checked.stdout, checked.stderr);
    assert_summary(
        &checked.stdout,
        "validated 3,040 records in ",
        ": 3,040 valid, 0 failed (dry run: nothing was sent)",
    );
}

#[test]
fn bad_lines_are_reported_with_their_number_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "users.ndjson",
        concat!(
            "{\"userPrincipalName\":\"a@contoso.com\",\"displayName\":\"A\"}\n",
            "\n",
            "{\"userPrincipalName\":\"b@contoso.com\",\"displayName\":\"B\",\"shoeSize\":44}\n",
            "{\"userPrincipalName\":\"c@contoso.com\" \"displayName\":\"C\"}\n",
            "{\"@odata.type\":\"#microsoft.graph.group\",\"displayName\":\"Sales\",\"manager\":\"a@contoso.com\"}\n",
            "{\"userPrincipalName\":\"nodomain\",\"displayName\":\"D\",\"accountEnabled\":true}\n",
        ),
    );
    let run = provisio(&["directory", "import", &file, "--dry-run"], &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        error_lines(&run.stdout),
        [
            "line 3: Property 'shoeSize' does not exist as a declared property or extension property.",
            "line 4: invalid JSON: expected `,` or `}` at column 38",
            "line 5: Only users have a \"manager\".",
            "line 6: Property userPrincipalName is invalid: 'nodomain' is not of the form alias@domain.",
        ]
    );
    assert!(
        run.stdout
            .lines()
            .next()
            .unwrap()
            .contains(": 1 valid, 4 failed"),
        "{}",
        run.stdout
    );
}

#[test]
fn csv_files_are_typed_and_an_unknown_column_stops_the_import() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(
        dir.path(),
        "users.csv",
        "userPrincipalName,DisplayName,accountEnabled,businessPhones,manager\n\
         boss@contoso.com,Boss,TRUE,+1 555 0100;+1 555 0101,\n\
         ann@contoso.com,\"Ann, the \"\"first\"\"\",false,,boss@contoso.com\n\
         bob@contoso.com,Bob,maybe,,\n",
    );
    let run = provisio(&["directory", "import", &good, "--dry-run"], &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        error_lines(&run.stdout),
        ["line 4: Invalid value specified for property 'accountEnabled' of resource 'User'."]
    );

    let bad = write(
        dir.path(),
        "bad.csv",
        "userPrincipalName,displayName,shoeSize\na@contoso.com,A,44\n",
    );
    let run = provisio(&["directory", "import", &bad, "--dry-run"], &[]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("unknown column 'shoeSize'"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);

    let missing = dir.path().join("missing.csv");
    let run = provisio(
        &[
            "directory",
            "import",
            missing.to_str().unwrap(),
            "--dry-run",
        ],
        &[],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("missing.csv"), "{}", run.stderr);
}

async fn provisio_async(args: Vec<String>, env: Vec<(&'static str, String)>) -> Run {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        provisio(&args, &env)
    })
    .await
    .unwrap()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// `directory import FILE --url SERVER --token TOKEN [extra]` against `server`.
async fn import_into(server: &Server, file: &str, extra: &[&str]) -> Run {
    let mut args = strings(&["directory", "import", file, "--url", &server.base]);
    args.extend(strings(extra));
    provisio_async(args, vec![("PROVISIO_ADMIN_TOKEN", TOKEN.to_string())]).await
}

/// The display names of the users `path` lists (a Graph collection, all pages).
async fn names(c: &Client, path: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut url = path.to_string();
    loop {
        let page = c.get(&url).await;
        assert_eq!(page.status, 200, "{url}: {}", page.body);
        for o in page.body["value"].as_array().unwrap() {
            names.push(o["displayName"].as_str().unwrap().to_string());
        }
        match page.body["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_string(),
            None => break,
        }
    }
    names.sort();
    names
}

async fn id_of(c: &Client, upn: &str) -> String {
    let found = c
        .get(&format!(
            "/users?$filter=userPrincipalName eq '{upn}'&$select=id"
        ))
        .await;
    found.body["value"][0]["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_resolves_forward_references_and_names_bad_lines() {
    let server = Server::start_graph(&[]);
    let c = server.client();
    let dir = tempfile::tempdir().unwrap();
    // Each user's manager comes later in the file, so references wait for their target.
    let mut text = String::new();
    for i in 0..20 {
        let mut user = json!({"userPrincipalName": format!("u{i}@contoso.com"), "displayName": format!("U{i}")});
        if i < 19 {
            user["manager"] = json!(format!("u{}@contoso.com", i + 1));
        }
        text += &format!("{user}\n");
    }
    text += "{\"userPrincipalName\":\"x@contoso.com\",\"displayName\":\"X\",\"shoeSize\":1}\n"; // line 21
    text += "{\"userPrincipalName\":\"u3@contoso.com\",\"displayName\":\"U3 again\",\"id\":\"not a guid\"}\n"; // line 22
    text += "{\"userPrincipalName\":\"g@contoso.com\",\"displayName\":\"G\",\"manager\":\"ghost@contoso.com\"}\n"; // line 23
    text += "{\"@odata.type\":\"#microsoft.graph.group\",\"displayName\":\"All\",\"mailNickname\":\"all\",\"members\":[\"u0@contoso.com\",\"u19@contoso.com\",\"nobody@contoso.com\",\"later\"]}\n"; // line 24
    text += "\n   \n"; // lines 25 and 26: blank, not records
    text += "{\"@odata.type\":\"#microsoft.graph.group\",\"displayName\":\"Later\",\"mailNickname\":\"later\"}\n"; // line 27
    text += "[1, 2]\n"; // line 28
    text += "{\"userPrincipalName\": \"broken@contoso.com\""; // line 29, no newline at the end
    let file = write(dir.path(), "users.jsonl", &text);

    let run = import_into(&server, &file, &[]).await;
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_summary(
        &run.stdout,
        "imported 27 records in ",
        ": 23 created, 0 updated, 0 unchanged, 4 failed, 2 references not found",
    );
    assert_eq!(
        error_lines(&run.stdout),
        [
            "line 21: Property 'shoeSize' does not exist as a declared property or extension property.",
            "line 22: Invalid value specified for property 'id': expected a GUID.",
            "line 23: manager 'ghost@contoso.com' not found",
            "line 24: member 'nobody@contoso.com' not found",
            "line 28: a record must be a JSON object",
            "line 29: invalid JSON: EOF while parsing an object at column 42",
        ]
    );
    assert_eq!(c.get("/users/$count").await.body, json!(21));
    for i in 0..19 {
        let id = id_of(&c, &format!("u{i}@contoso.com")).await;
        let manager = c
            .get(&format!("/users/{id}/manager?$select=displayName"))
            .await;
        assert_eq!(manager.body["displayName"], format!("U{}", i + 1));
    }
    let all = c
        .get("/groups?$filter=mailNickname eq 'all'&$select=id")
        .await;
    let all = all.body["value"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        names(&c, &format!("/groups/{all}/members?$select=displayName")).await,
        ["Later", "U0", "U19"]
    );

    // Importing again changes nothing: objects are matched by principal name and nickname.
    let run = import_into(&server, &file, &[]).await;
    assert_summary(
        &run.stdout,
        "imported 27 records in ",
        ": 0 created, 0 updated, 23 unchanged, 4 failed, 2 references not found",
    );
    // A changed line updates its object.
    let changed = write(
        dir.path(),
        "changed.jsonl",
        "{\"userPrincipalName\":\"U1@contoso.com\",\"displayName\":\"U1\",\"jobTitle\":\"Boss\"}\n",
    );
    let run = import_into(&server, &changed, &[]).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains(": 0 created, 1 updated, 0 unchanged, 0 failed"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_with_a_server_checks_every_reference_and_writes_nothing() {
    let server = Server::start_graph(&[]);
    let c = server.client();
    let dir = tempfile::tempdir().unwrap();
    // More records than the server writes in one transaction, so the first user's manager
    // (the last line) is in another chunk than the user.
    let users = 10_050;
    let mut text = String::new();
    for i in 0..users {
        let mut user = json!({"userPrincipalName": format!("d{i}@contoso.com"), "displayName": format!("D{i}")});
        if i == 0 {
            user["manager"] = json!(format!("d{}@contoso.com", users - 1));
        }
        if i == 1 {
            user["manager"] = json!("nobody@contoso.com");
        }
        text += &format!("{user}\n");
    }
    let file = write(dir.path(), "users.jsonl", &text);
    let run = import_into(&server, &file, &["--dry-run"]).await;
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_summary(&run.stdout, "checked 10,050 records in ", ": 10,050 created, 0 updated, 0 unchanged, 0 failed, 1 references not found (dry run: nothing was written)");
    assert_eq!(
        error_lines(&run.stdout),
        ["line 2: manager 'nobody@contoso.com' not found"]
    );
    assert_eq!(c.get("/users/$count").await.body, json!(0));
    let changes = c
        .get(&format!("{}/admin/directory/changes", server.base))
        .await;
    assert_eq!(changes.body["value"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_lines_keep_their_numbers_through_the_server() {
    let server = Server::start_graph(&[]);
    let dir = tempfile::tempdir().unwrap();
    // Line 3's quoted cell spans two lines, so the record after it starts on line 5.
    let file = write(
        dir.path(),
        "people.csv",
        "userPrincipalName,displayName,jobTitle,accountEnabled\n\
         a@contoso.com,A,Clerk,true\n\
         b@contoso.com,B,\"Head of\nThings\",true\n\
         c@contoso.com,C,Clerk,perhaps\n\
         d@contoso.com,D\n\
         e@contoso.com,E,Clerk,false\n",
    );
    let run = import_into(&server, &file, &[]).await;
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .lines()
            .next()
            .unwrap()
            .ends_with(": 3 created, 0 updated, 0 unchanged, 2 failed"),
        "{}",
        run.stdout
    );
    let errors = error_lines(&run.stdout);
    assert_eq!(errors.len(), 2, "{}", run.stdout);
    assert!(
        errors[0].starts_with("line 5: Invalid value specified for property 'accountEnabled'"),
        "{errors:?}"
    );
    assert!(errors[1].starts_with("line 6: "), "{errors:?}");
    let c = server.client();
    let b = id_of(&c, "b@contoso.com").await;
    let b = c.get(&format!("/users/{b}?$select=jobTitle")).await;
    assert_eq!(b.body["jobTitle"], "Head of\nThings");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overlong_line_is_refused_and_the_rest_goes_in() {
    let server = Server::start_graph(&[]);
    let dir = tempfile::tempdir().unwrap();
    let long = "x".repeat(17 * 1024 * 1024);
    let text = format!(
        "{{\"userPrincipalName\":\"a@contoso.com\",\"displayName\":\"A\"}}\n\
         {{\"userPrincipalName\":\"b@contoso.com\",\"displayName\":\"{long}\"}}\n\
         {{\"userPrincipalName\":\"c@contoso.com\",\"displayName\":\"C\"}}\n"
    );
    let file = write(dir.path(), "users.jsonl", &text);
    let run = import_into(&server, &file, &[]).await;
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        error_lines(&run.stdout),
        ["line 2: the line is longer than the limit of 16777216 bytes"]
    );
    assert!(
        run.stdout
            .contains(": 2 created, 0 updated, 0 unchanged, 1 failed"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_or_unreachable_server_stops_the_import() {
    let server = Server::start_graph(&[]);
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "u.jsonl",
        "{\"userPrincipalName\":\"a@contoso.com\",\"displayName\":\"A\"}\n",
    );
    let csv = write(
        dir.path(),
        "u.csv",
        "userPrincipalName,displayName\na@contoso.com,A\n",
    );
    // Nobody listens on `closed`.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    // Large enough that the server's refusal arrives while the body is still being sent.
    let mut big = String::new();
    for i in 0..100_000 {
        big += &format!(
            "{{\"userPrincipalName\":\"big{i}@contoso.com\",\"displayName\":\"Big {i}\"}}\n"
        );
    }
    let big = write(dir.path(), "big.jsonl", &big);
    let refused = "(401 Unauthorized): InvalidAuthenticationToken:";
    for (file, url, token, expected) in [
        (&file, &server.base, "wrong-token", refused),
        (&big, &server.base, "wrong-token", refused),
        (&csv, &server.base, "wrong-token", refused),
        (&file, &closed, TOKEN, "cannot reach the import endpoint"),
        (&csv, &closed, TOKEN, "cannot reach the import endpoint"),
    ] {
        let args = ["directory", "import", file, "--url", url, "--token", token];
        let run = provisio_async(strings(&args), vec![]).await;
        assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
    }
    assert_eq!(server.client().get("/users/$count").await.body, json!(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_line_is_counted_and_the_first_are_listed() {
    let server = Server::start_graph(&[]);
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..1_500 {
        text += &format!("{{\"userPrincipalName\":\"bad{i}@contoso.com\"}}\n");
    }
    text += "{\"userPrincipalName\":\"good@contoso.com\",\"displayName\":\"Good\"}\n";
    let file = write(dir.path(), "users.jsonl", &text);
    let run = import_into(&server, &file, &[]).await;
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_summary(
        &run.stdout,
        "imported 1,501 records in ",
        ": 1 created, 0 updated, 0 unchanged, 1,500 failed",
    );
    let errors = error_lines(&run.stdout);
    assert_eq!(errors.len(), 100);
    assert_eq!(
        errors[0],
        "line 1: Property 'displayName' is required when creating the object."
    );
    assert!(errors[99].starts_with("line 100: "), "{}", errors[99]);
    assert_eq!(run.stdout.lines().last(), Some("… and 1,400 more"));
}
