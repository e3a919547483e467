//! End-to-end tests of `provisio directory import` and `provisio directory seed`: the real
//! binary, against files, and against a small fake of the import endpoint on 127.0.0.1.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

const TOKEN: &str = "import-token";

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
    let summary = checked.stdout.lines().next().unwrap();
    assert!(
        summary.starts_with("validated 3,040 records in "),
        "{summary}"
    );
    assert!(
        summary.ends_with(": 3,040 valid, 0 failed (dry run: nothing was sent)"),
        "{summary}"
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

/// A fake of `POST /admin/directory/import`: users upserted by userPrincipalName, groups by
/// mailNickname, links resolved against what exists at the time.
#[derive(Default)]
struct Directory {
    users: HashMap<String, Map<String, Value>>,
    groups: HashMap<String, Vec<String>>,
    managers: HashMap<String, String>,
    /// `(records, links)` of every request, in arrival order.
    requests: Vec<(usize, usize)>,
}

type Shared = Arc<Mutex<Directory>>;

impl Directory {
    fn exists(&self, reference: &str) -> bool {
        let reference = reference.to_lowercase();
        self.users.contains_key(&reference) || self.groups.contains_key(&reference)
    }

    /// Sets a link when both ends exist; returns whether it did.
    fn link(&mut self, from: &str, link: &str, to: &str) -> bool {
        if !self.exists(from) || !self.exists(to) {
            return false;
        }
        let (from, to) = (from.to_lowercase(), to.to_lowercase());
        match link {
            "manager" => {
                self.managers.insert(from, to);
            }
            _ => {
                let members = self.groups.get_mut(&from).unwrap();
                if !members.contains(&to) {
                    members.push(to);
                }
            }
        }
        true
    }

    fn import(&mut self, body: &Value) -> Value {
        let (mut created, mut updated, mut unchanged, mut failed) = (0, 0, 0, 0);
        let (mut errors, mut unresolved) = (Vec::new(), Vec::new());
        let mut links = Vec::new();
        let records = body["records"].as_array().unwrap();
        for record in records {
            let line = record["line"].as_u64().unwrap();
            let mut object = record["object"].as_object().unwrap().clone();
            let (key, link) = if record["type"] == "group" {
                (
                    object["mailNickname"].as_str().unwrap().to_lowercase(),
                    "member",
                )
            } else {
                (
                    object["userPrincipalName"].as_str().unwrap().to_lowercase(),
                    "manager",
                )
            };
            if key.starts_with("taken") {
                failed += 1;
                errors.push(json!({"line": line, "message": "Another object with the same value for property userPrincipalName already exists."}));
                continue;
            }
            let targets: Vec<String> = match object.remove(if link == "manager" {
                "manager"
            } else {
                "members"
            }) {
                Some(Value::String(m)) => vec![m],
                Some(Value::Array(m)) => {
                    m.iter().map(|v| v.as_str().unwrap().to_string()).collect()
                }
                _ => Vec::new(),
            };
            let existing = if link == "manager" {
                self.users
                    .insert(key.clone(), object.clone())
                    .map(|old| old == object)
            } else {
                let existed = self.groups.contains_key(&key);
                self.groups.entry(key.clone()).or_default();
                existed.then_some(true)
            };
            match existing {
                None => created += 1,
                Some(true) => unchanged += 1,
                Some(false) => updated += 1,
            }
            for to in targets {
                links.push(json!({"line": line, "from": key, "link": link, "to": to}));
            }
        }
        links.extend(body["links"].as_array().unwrap().iter().cloned());
        for l in links {
            let (from, link, to) = (
                l["from"].as_str().unwrap(),
                l["link"].as_str().unwrap(),
                l["to"].as_str().unwrap(),
            );
            if !self.link(from, link, to) {
                unresolved.push(l.clone());
            }
        }
        json!({"created": created, "updated": updated, "unchanged": unchanged, "failed": failed,
               "errors": errors, "unresolved": unresolved})
    }
}

async fn import(
    State(directory): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {TOKEN}"))
    {
        let error = json!({"error": {"code": "InvalidAuthenticationToken", "message": "Access token validation failure.",
                                     "innerError": {"date": "2024-05-01T00:00:00", "request-id": "0"}}});
        return (StatusCode::UNAUTHORIZED, Json(error)).into_response();
    }
    let mut directory = directory.lock().unwrap();
    let records = body["records"].as_array().map_or(0, Vec::len);
    let links = body["links"].as_array().map_or(0, Vec::len);
    directory.requests.push((records, links));
    let answer = if body["dryRun"] == true {
        let mut scratch = Directory {
            users: directory.users.clone(),
            groups: directory.groups.clone(),
            managers: directory.managers.clone(),
            requests: Vec::new(),
        };
        scratch.import(&body)
    } else {
        directory.import(&body)
    };
    Json(answer).into_response()
}

/// Starts the fake on 127.0.0.1:0; returns its base URL.
async fn fake_server() -> (String, Shared) {
    let directory = Shared::default();
    let app = Router::new()
        .route("/admin/directory/import", post(import))
        .with_state(directory.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, directory)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_sends_batches_and_resolves_forward_references_at_the_end() {
    let (url, directory) = fake_server().await;
    let dir = tempfile::tempdir().unwrap();
    // Each user's manager comes later in the file: every manager link is unresolved in the
    // first pass and set in the second.
    let mut text = String::new();
    for i in 0..20 {
        let mut user = json!({"userPrincipalName": format!("u{i}@contoso.com"), "displayName": format!("U{i}")});
        if i < 19 {
            user["manager"] = json!(format!("u{}@contoso.com", i + 1));
        }
        text += &format!("{user}\n");
    }
    text += "{\"userPrincipalName\":\"x@contoso.com\",\"displayName\":\"X\",\"shoeSize\":1}\n"; // line 21
    text += "{\"userPrincipalName\":\"taken@contoso.com\",\"displayName\":\"T\"}\n"; // line 22
    text += "{\"userPrincipalName\":\"g@contoso.com\",\"displayName\":\"G\",\"manager\":\"ghost@contoso.com\"}\n"; // line 23
    text += "{\"@odata.type\":\"#microsoft.graph.group\",\"displayName\":\"All\",\"mailNickname\":\"all\",\"members\":[\"u0@contoso.com\",\"u19@contoso.com\",\"nobody@contoso.com\"]}\n"; // line 24
    let file = write(dir.path(), "users.jsonl", &text);

    let args = strings(&[
        "directory",
        "import",
        &file,
        "--url",
        &url,
        "--batch-size",
        "4",
        "--concurrency",
        "2",
    ]);
    let run = provisio_async(
        args.clone(),
        vec![("PROVISIO_ADMIN_TOKEN", TOKEN.to_string())],
    )
    .await;
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let summary = run.stdout.lines().next().unwrap();
    assert!(summary.starts_with("imported 24 records in "), "{summary}");
    assert!(
        summary.ends_with(": 22 created, 0 updated, 0 unchanged, 2 failed, 2 references not found"),
        "{summary}"
    );
    assert_eq!(
        error_lines(&run.stdout),
        [
            "line 21: Property 'shoeSize' does not exist as a declared property or extension property.",
            "line 22: Another object with the same value for property userPrincipalName already exists.",
            "line 23: manager 'ghost@contoso.com' not found",
            "line 24: member 'nobody@contoso.com' not found",
        ]
    );
    {
        let directory = directory.lock().unwrap();
        assert_eq!(directory.users.len(), 21);
        for i in 0..19 {
            assert_eq!(
                directory.managers[&format!("u{i}@contoso.com")],
                format!("u{}@contoso.com", i + 1)
            );
        }
        assert_eq!(
            directory.groups["all"],
            ["u0@contoso.com", "u19@contoso.com"]
        );
        let first_pass: Vec<&(usize, usize)> =
            directory.requests.iter().filter(|r| r.0 > 0).collect();
        assert_eq!(
            first_pass.iter().map(|r| r.0).sum::<usize>(),
            23,
            "every valid record is sent once"
        );
        assert!(
            first_pass.iter().all(|r| r.0 <= 4 && r.1 == 0),
            "{:?}",
            directory.requests
        );
        let second_pass: Vec<&(usize, usize)> =
            directory.requests.iter().filter(|r| r.0 == 0).collect();
        assert!(
            !second_pass.is_empty() && second_pass.iter().all(|r| r.1 <= 4),
            "{:?}",
            directory.requests
        );
    }

    // Importing again changes nothing: objects are matched by principal name and nickname.
    let run = provisio_async(args, vec![("PROVISIO_ADMIN_TOKEN", TOKEN.to_string())]).await;
    let summary = run.stdout.lines().next().unwrap();
    assert!(
        summary.ends_with(": 0 created, 0 updated, 22 unchanged, 2 failed, 2 references not found"),
        "{summary}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_with_a_server_writes_nothing() {
    let (url, directory) = fake_server().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "users.jsonl",
        "{\"userPrincipalName\":\"a@contoso.com\",\"displayName\":\"A\",\"manager\":\"b@contoso.com\"}\n{\"userPrincipalName\":\"b@contoso.com\",\"displayName\":\"B\"}\n",
    );
    let run = provisio_async(
        strings(&[
            "directory",
            "import",
            &file,
            "--url",
            &url,
            "--token",
            TOKEN,
            "--dry-run",
            "--batch-size",
            "1",
        ]),
        vec![],
    )
    .await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let summary = run.stdout.lines().next().unwrap();
    assert!(summary.starts_with("checked 2 records in "), "{summary}");
    assert!(summary.ends_with(": 2 created, 0 updated, 0 unchanged, 0 failed (dry run: nothing was written; 1 references to objects in other batches were not checked)"), "{summary}");
    let directory = directory.lock().unwrap();
    assert!(directory.users.is_empty());
    assert_eq!(directory.requests, [(1, 0), (1, 0)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_stops_the_import_with_the_servers_message() {
    let (url, directory) = fake_server().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "u.jsonl",
        "{\"userPrincipalName\":\"a@contoso.com\",\"displayName\":\"A\"}\n",
    );
    let run = provisio_async(
        strings(&[
            "directory",
            "import",
            &file,
            "--url",
            &url,
            "--token",
            "wrong",
        ]),
        vec![],
    )
    .await;
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(
            "(401 Unauthorized): InvalidAuthenticationToken: Access token validation failure."
        ),
        "{}",
        run.stderr
    );
    assert!(directory.lock().unwrap().users.is_empty());

    // Nobody listening: the import retries, then gives up with exit code 2.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let run = provisio_async(
        strings(&[
            "directory",
            "import",
            &file,
            "--url",
            &closed,
            "--token",
            TOKEN,
        ]),
        vec![],
    )
    .await;
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("cannot reach the import endpoint"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_sent_to_a_server_arrives_whole() {
    let (url, directory) = fake_server().await;
    let run = provisio_async(
        strings(&[
            "directory",
            "seed",
            "--users",
            "300",
            "--groups",
            "20",
            "--url",
            &url,
            "--token",
            TOKEN,
            "--batch-size",
            "50",
        ]),
        vec![],
    )
    .await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let summary = run.stdout.lines().next().unwrap();
    assert!(
        summary.ends_with(": 320 created, 0 updated, 0 unchanged, 0 failed"),
        "{summary}"
    );
    let directory = directory.lock().unwrap();
    assert_eq!((directory.users.len(), directory.groups.len()), (300, 20));
    assert_eq!(
        directory.managers.len(),
        299,
        "everyone but the CEO has a manager"
    );
    assert!(directory.requests.iter().all(|r| r.0 <= 50));
}
