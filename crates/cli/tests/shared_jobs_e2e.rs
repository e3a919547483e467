//! Several `provisio serve` processes on one PostgreSQL database share the synchronization
//! jobs through leases: one process at a time runs a job, a cycle longer than the lease keeps
//! its job by renewing the lease, and when a process dies mid-cycle another one takes the job
//! over once the lease has expired, without creating any account twice.
//!
//! One job's target is reached through a proxy the test can hold: the first process's cycle
//! of that job waits on a request that never gets an answer, so the test knows which process
//! holds which lease without depending on how the processes happen to be scheduled.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::provisioning::eventually;
use common::{Client, Server, TOKEN};
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

const SECRETS_KEY: &str = "5eca7e5eca7e5eca7e5eca7e5eca7e5eca7e5eca7e5eca7e5eca7e5eca7e5eca";
const LEASE_SECONDS: u64 = 6;
const APPS: usize = 4;
const USERS_PER_APP: usize = 3;

/// A TCP proxy to the SCIM target that, while held, accepts connections and never answers
/// them (nor forwards them, even later); once released, it forwards every new connection.
struct HoldingProxy {
    address: SocketAddr,
    held: Arc<AtomicBool>,
    /// When each connection that arrived while held came in.
    held_connections: Arc<Mutex<Vec<Instant>>>,
}

impl HoldingProxy {
    async fn start(target: SocketAddr) -> HoldingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let address = listener.local_addr().expect("proxy address");
        let held = Arc::new(AtomicBool::new(true));
        let held_connections = Arc::new(Mutex::new(Vec::new()));
        let (is_held, arrivals) = (held.clone(), held_connections.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if is_held.load(Ordering::SeqCst) {
                    arrivals.lock().expect("arrivals").push(Instant::now());
                    tokio::spawn(async move {
                        let mut sink = [0u8; 4096];
                        while matches!(inbound.read(&mut sink).await, Ok(n) if n > 0) {}
                    });
                } else {
                    tokio::spawn(async move {
                        if let Ok(mut outbound) = TcpStream::connect(target).await {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                }
            }
        });
        HoldingProxy {
            address,
            held,
            held_connections,
        }
    }

    fn held_connections(&self) -> Vec<Instant> {
        self.held_connections.lock().expect("arrivals").clone()
    }

    fn release(&self) {
        self.held.store(false, Ordering::SeqCst);
    }
}

/// An application with its assigned users and its job, exporting to a tenant of its own on
/// the SCIM server.
struct App {
    sp: String,
    job: String,
    user_names: Vec<String>,
    /// The tenant, read directly (not through the proxy).
    tenant: Client,
}

fn sync_path(sp: &str, rest: &str) -> String {
    format!("/servicePrincipals/{sp}/synchronization{rest}")
}

/// Creates the application, its users and assignments, and its job exporting to
/// `base_address` (tenant `tenant` of the SCIM server); not started.
async fn app(graph: &Client, name: &str, base_address: &str, tenant: Client) -> App {
    let r = graph
        .post("/servicePrincipals", json!({"displayName": name}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let sp = r.body["id"].as_str().expect("sp id").to_string();
    let mut user_names = Vec::new();
    for i in 0..USERS_PER_APP {
        let login = format!("{name}-u{i}");
        let r = graph
            .post(
                "/users",
                json!({
                    "userPrincipalName": format!("{login}@contoso.test"),
                    "displayName": login, "mailNickname": login, "accountEnabled": true
                }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let user = r.body["id"].as_str().expect("user id").to_string();
        let r = graph
            .post(
                &format!("/servicePrincipals/{sp}/appRoleAssignedTo"),
                json!({"principalId": user, "resourceId": sp,
                       "appRoleId": "00000000-0000-0000-0000-000000000000"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        user_names.push(format!("{login}@contoso.test"));
    }
    let r = graph
        .post(&sync_path(&sp, "/jobs"), json!({"templateId": "scim"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let job = r.body["id"].as_str().expect("job id").to_string();
    let r = graph
        .put(
            &sync_path(&sp, "/secrets"),
            json!({"value": [
                {"key": "BaseAddress", "value": base_address},
                {"key": "SecretToken", "value": TOKEN}
            ]}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    App {
        sp,
        job,
        user_names,
        tenant,
    }
}

impl App {
    async fn start(&self, graph: &Client) {
        let path = sync_path(&self.sp, &format!("/jobs/{}/start", self.job));
        let r = graph.send("POST", &path, None, &[]).await;
        assert_eq!(r.status, 204, "{}", r.body);
    }

    async fn status(&self, graph: &Client) -> Value {
        let r = graph
            .get(&sync_path(&self.sp, &format!("/jobs/{}", self.job)))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["status"].clone()
    }

    /// How many accounts the tenant holds with this userName.
    async fn accounts_named(&self, user_name: &str) -> u64 {
        let r = self
            .tenant
            .get(&format!("/Users?filter=userName%20eq%20%22{user_name}%22"))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["totalResults"].as_u64().unwrap_or_default()
    }

    async fn accounts(&self) -> u64 {
        let r = self.tenant.get("/Users?count=0").await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["totalResults"].as_u64().unwrap_or_default()
    }

    /// Waits until every assigned user has reached the tenant and a cycle of the job has
    /// succeeded; then checks that each user has exactly one account and there are no others.
    async fn provisioned(&self, graph: &Client, what: &str) {
        for user_name in &self.user_names {
            eventually(&format!("{what}: {user_name} in the target"), || async {
                (self.accounts_named(user_name).await > 0).then_some(())
            })
            .await;
        }
        let status = eventually(&format!("{what}: a successful cycle"), || async {
            let status = self.status(graph).await;
            status["lastSuccessfulExecution"]
                .is_object()
                .then_some(status)
        })
        .await;
        assert_eq!(status["code"], "Active", "{what}: {status}");
        for user_name in &self.user_names {
            assert_eq!(
                self.accounts_named(user_name).await,
                1,
                "{what}: one account for {user_name}"
            );
        }
        assert_eq!(
            self.accounts().await,
            self.user_names.len() as u64,
            "{what}: no other account in its tenant"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_serve_processes_share_jobs_and_one_takes_over_the_job_of_a_process_that_died() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let serve_args = [
        "--database-url",
        url.as_str(),
        "--secrets-key",
        SECRETS_KEY,
        "--lease-seconds",
        &LEASE_SECONDS.to_string(),
    ];
    let lease = Duration::from_secs(LEASE_SECONDS);
    let target = Server::start(&[]);
    let target_address: SocketAddr = target
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("the target's address");
    let proxy = HoldingProxy::start(target_address).await;
    let mut first = Server::start_graph(&serve_args);
    let graph = first.client();

    // Names of their own, so that reruns against one database never collide.
    let run = format!(
        "r{}x{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    );
    let mut apps = Vec::new();
    for i in 0..APPS {
        let name = format!("{run}-app{i}");
        let tenant = format!("{name}-tenant");
        let direct = format!("{}/tenants/{tenant}/scim/v2", target.base);
        // The first app's job reaches its tenant through the proxy.
        let base_address = if i == 0 {
            format!("http://{}/tenants/{tenant}/scim/v2", proxy.address)
        } else {
            direct.clone()
        };
        let client = Client {
            http: reqwest::Client::new(),
            scim: direct,
        };
        apps.push(app(&graph, &name, &base_address, client).await);
    }
    let (held_app, others) = apps.split_first().expect("apps");

    // The first process runs the held job's first cycle, which waits on the proxy: it holds
    // that job's lease and, running jobs one after another, runs no other job meanwhile.
    held_app.start(&graph).await;
    eventually(
        "the first process's cycle reaching the held target",
        || async { proxy.held_connections().first().copied() },
    )
    .await;

    // The second process on the same database runs the other jobs.
    let second = Server::start_graph(&serve_args);
    let graph2 = second.client();
    for app in others {
        app.start(&graph2).await;
    }
    for (i, app) in others.iter().enumerate() {
        app.provisioned(&graph2, &format!("app {}", i + 1)).await;
    }

    // The held cycle outlasts its lease twice over and keeps its job: the second process,
    // trying every second, never reaches the held job's target.
    let held_since = proxy.held_connections()[0];
    eventually("two lease lengths into the held cycle", || async {
        (held_since.elapsed() >= 2 * lease).then_some(())
    })
    .await;
    assert_eq!(
        proxy.held_connections().len(),
        1,
        "only the first process ran the held job while its renewed lease lasted"
    );
    assert!(
        held_app.status(&graph2).await["lastExecution"].is_null(),
        "no cycle of the held job has ended yet"
    );

    // The first process dies mid-cycle; once its lease has expired the second process takes
    // the job over and provisions its users, each once.
    first.kill();
    proxy.release();
    held_app
        .provisioned(&graph2, "the job taken over from the dead process")
        .await;
    let status = held_app.status(&graph2).await;
    assert_eq!(
        status["lastExecution"]["state"], "Succeeded",
        "the taken-over job: {status}"
    );

    // Every job ended with successful cycles and every user has exactly one account.
    for (i, app) in apps.iter().enumerate() {
        let status = app.status(&graph2).await;
        assert_eq!(
            status["lastExecution"]["state"], "Succeeded",
            "app {i}: {status}"
        );
        for user_name in &app.user_names {
            assert_eq!(
                app.accounts_named(user_name).await,
                1,
                "app {i}: {user_name}"
            );
        }
    }
}
