//! Starting the real `provisio` binary on a loopback port for end-to-end tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub mod provisioning;

pub const TOKEN: &str = "e2e-token";

pub struct Server {
    child: Child,
    _data: tempfile::TempDir,
    pub base: String,
    pub scim: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The PostgreSQL URL for tests: `None` when unset outside CI; a panic when CI=true lacks it.
pub fn postgres_url() -> Option<String> {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but TEST_DATABASE_URL is not set: PostgreSQL tests must run in CI");
            }
            eprintln!("TEST_DATABASE_URL is not set: skipping the PostgreSQL variant");
            None
        }
    }
}

/// Runs `provisio ARGS --listen 127.0.0.1:0` with a temporary `--data-dir` and returns it
/// with the address of its `listening on …` line.
fn spawn(args: &[&str], extra: &[&str]) -> (Child, tempfile::TempDir, String) {
    let data = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_provisio"));
    cmd.args(args)
        .arg("--listen")
        .arg("127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // A data directory of its own; `serve` takes one with PostgreSQL too (it keeps the
    // secrets key there), which must not land in the working directory.
    if !extra.contains(&"--database-url") || args.first() == Some(&"serve") {
        cmd.arg("--data-dir").arg(data.path());
    }
    cmd.args(extra);
    let mut child = cmd.spawn().expect("start provisio");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the listening line");
    let address = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line from the server: {line:?}"))
        .to_string();
    (child, data, address)
}

impl Server {
    /// Starts `provisio scim-server` on 127.0.0.1:0 and reads the bound address from its stdout.
    pub fn start(extra: &[&str]) -> Server {
        let (child, data, address) = spawn(&["scim-server", "--token", TOKEN], extra);
        Server {
            child,
            _data: data,
            base: address.trim_end_matches("/scim/v2").to_string(),
            scim: address,
        }
    }

    /// Starts `provisio serve` (the Graph API) on 127.0.0.1:0 with admin token [`TOKEN`].
    pub fn start_graph(extra: &[&str]) -> Server {
        let (child, data, base) = spawn(&["serve", "--admin-token", TOKEN], extra);
        Server {
            child,
            _data: data,
            scim: format!("{base}/v1.0"),
            base,
        }
    }

    /// Ends the process at once (SIGKILL on Unix), as a crash would: it releases nothing.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A client for a tenant of its own, so reruns against a shared database never collide.
    pub fn fresh_tenant_client(&self) -> Client {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let tenant = format!("t{}-{nanos}", std::process::id());
        Client {
            http: reqwest::Client::new(),
            scim: format!("{}/tenants/{tenant}/scim/v2", self.base),
        }
    }

    pub fn client(&self) -> Client {
        Client {
            http: reqwest::Client::new(),
            scim: self.scim.clone(),
        }
    }
}

pub struct Client {
    pub http: reqwest::Client,
    pub scim: String,
}

pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: serde_json::Value,
}

impl Client {
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.scim)
        };
        let mut req = self
            .http
            .request(method.parse().expect("method"), url)
            .header("Authorization", format!("Bearer {TOKEN}"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/scim+json")
                .body(b.to_string());
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                serde_json::Value::String(String::from_utf8_lossy(&bytes).into())
            })
        };
        Resp {
            status,
            headers,
            body,
        }
    }
    pub async fn get(&self, path: &str) -> Resp {
        self.send("GET", path, None, &[]).await
    }
    pub async fn post(&self, path: &str, body: serde_json::Value) -> Resp {
        self.send("POST", path, Some(body), &[]).await
    }
    pub async fn put(&self, path: &str, body: serde_json::Value) -> Resp {
        self.send("PUT", path, Some(body), &[]).await
    }
    pub async fn patch(&self, path: &str, body: serde_json::Value) -> Resp {
        self.send("PATCH", path, Some(body), &[]).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.send("DELETE", path, None, &[]).await
    }
}

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

pub fn user(name: &str) -> serde_json::Value {
    serde_json::json!({
        "schemas": [USER],
        "userName": name,
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": [{"value": name, "type": "work", "primary": true}],
        "active": true,
    })
}

pub fn patch(ops: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"schemas": [PATCH_OP], "Operations": ops})
}
