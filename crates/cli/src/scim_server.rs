//! `provisio scim-server` and the demo: the SCIM 2.0 server on SQLite or PostgreSQL.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Args;
use provisio_scim::schema::Schema;
use provisio_scim_server::store::{self, ResourceKind, ResourceStore};
use provisio_scim_server::{app, FaultConfig, ServerConfig};
use serde_json::json;

#[derive(Args, Debug)]
pub struct ScimServerArgs {
    /// Address to listen on, e.g. 127.0.0.1:8443.
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// Bearer token clients must send.
    #[arg(long, env = "PROVISIO_SCIM_TOKEN", hide_env_values = true)]
    token: String,
    /// Directory of the embedded SQLite database (the default store).
    #[arg(long, default_value = "./data", conflicts_with = "database_url")]
    data_dir: PathBuf,
    /// PostgreSQL URL (postgres://…) instead of SQLite.
    #[arg(long, env = "PROVISIO_SCIM_DATABASE_URL")]
    database_url: Option<String>,
    /// A JSON schema file (RFC 7643 §7) of a further User extension; may be repeated.
    #[arg(long = "schema-extension")]
    schema_extensions: Vec<PathBuf>,
    /// Largest accepted request body, in bytes.
    #[arg(long, default_value_t = 1024 * 1024)]
    max_body_bytes: usize,
    /// Most resources a sorted query may gather before it answers 400 tooMany.
    #[arg(long, default_value_t = 100_000)]
    max_sort_resources: usize,
    /// Share of requests (0 to 1) answered with --fault-status.
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// Status of injected faults.
    #[arg(long, default_value_t = 503)]
    fault_status: u16,
    /// Requests per second served before 429 with Retry-After.
    #[arg(long)]
    rate_limit: Option<u32>,
    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Share of requests (0 to 1) whose connection is closed mid-response.
    #[arg(long, default_value_t = 0.0)]
    drop_rate: f64,
    /// Seed that makes injected faults reproducible.
    #[arg(long)]
    fault_seed: Option<u64>,
    /// Append every answered request (method, path and query, status, body, the id a create
    /// made) to this file as JSON lines: what a provisioning engine sent, exactly.
    #[arg(long)]
    journal: Option<PathBuf>,
}

fn check_rate(name: &str, v: f64) -> anyhow::Result<()> {
    if !(0.0..=1.0).contains(&v) {
        bail!("--{name} must be between 0 and 1, got {v}");
    }
    Ok(())
}

pub async fn open_store(
    data_dir: &std::path::Path,
    database_url: Option<&str>,
) -> anyhow::Result<Arc<dyn ResourceStore>> {
    Ok(match database_url {
        Some(url) => Arc::new(
            store::open_postgres(url)
                .await
                .with_context(|| "opening the PostgreSQL store")?,
        ),
        None => Arc::new(
            store::open_sqlite(data_dir)
                .await
                .with_context(|| format!("opening the SQLite store in {}", data_dir.display()))?,
        ),
    })
}

pub async fn run(args: ScimServerArgs) -> anyhow::Result<()> {
    check_rate("fault-rate", args.fault_rate)?;
    check_rate("drop-rate", args.drop_rate)?;
    if args.token.trim().is_empty() {
        bail!("--token must not be empty");
    }
    if !(100..=599).contains(&args.fault_status) {
        bail!(
            "--fault-status must be an HTTP status (100 to 599), got {}",
            args.fault_status
        );
    }
    let mut user_extensions = Vec::new();
    for path in &args.schema_extensions {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{}: line {}, column {}: {e}",
                path.display(),
                e.line(),
                e.column()
            )
        })?;
        let schema = Schema::from_json(&json)
            .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.detail))?;
        user_extensions.push(schema);
    }
    let store = open_store(&args.data_dir, args.database_url.as_deref()).await?;
    let config = ServerConfig {
        token: args.token,
        max_body_bytes: args.max_body_bytes,
        max_in_memory: args.max_sort_resources.max(1),
        user_extensions,
        faults: FaultConfig {
            fault_rate: args.fault_rate,
            fault_status: args.fault_status,
            rate_limit: args.rate_limit,
            latency_ms: args.latency_ms,
            drop_rate: args.drop_rate,
            seed: args.fault_seed,
        },
        ..ServerConfig::default()
    };
    if config.faults.is_active() {
        tracing::warn!(message = "Fault injection is on.", faults = ?config.faults);
    }
    let journal = match &args.journal {
        Some(path) => Some(crate::journal::Journal::create(path, args.max_body_bytes)?),
        None => None,
    };
    listen(args.listen, store, config, journal).await
}

async fn listen(
    addr: SocketAddr,
    store: Arc<dyn ResourceStore>,
    config: ServerConfig,
    journal: Option<crate::journal::Journal>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    let local = listener.local_addr()?;
    // One line on stdout with the bound address, so that `--listen 127.0.0.1:0` is usable by
    // scripts and tests (no port races).
    println!("listening on http://{local}/scim/v2");
    tracing::info!(message = "SCIM server listening.", base_url = %format!("http://{local}/scim/v2"));
    let mut router = app(store, config);
    if let Some(journal) = journal {
        router = router.layer(axum::middleware::from_fn_with_state(
            journal,
            crate::journal::record,
        ));
    }
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving")
}

/// `provisio serve --demo`: until the engine lands, the demo is the built-in SCIM target app
/// with a small seeded directory, so a first run shows something real to query.
/// The built-in SCIM target app of `serve --demo`: seeded, token `demo-token` (or
/// `PROVISIO_SCIM_TOKEN`), data in `data_dir/demo-scim`.
pub async fn demo_target(data_dir: &std::path::Path) -> anyhow::Result<axum::Router> {
    let token = std::env::var("PROVISIO_SCIM_TOKEN").unwrap_or_else(|_| "demo-token".to_string());
    let store = open_store(&data_dir.join("demo-scim"), None).await?;
    seed_demo(store.as_ref()).await?;
    let config = ServerConfig {
        token,
        ..ServerConfig::default()
    };
    Ok(provisio_scim_server::app(store, config))
}

async fn seed_demo(store: &dyn ResourceStore) -> anyhow::Result<()> {
    let tenant = provisio_scim_server::DEFAULT_TENANT;
    if store.count(tenant, ResourceKind::User).await? > 0 {
        return Ok(());
    }
    let mut ids = Vec::new();
    for (login, given, family, dept, _title) in crate::serve::DEMO_PEOPLE {
        let user = store
            .create(
                tenant,
                ResourceKind::User,
                json!({
                    "schemas": [provisio_scim::schema::USER_SCHEMA, provisio_scim::schema::ENTERPRISE_USER_SCHEMA],
                    "userName": format!("{login}@example.com"),
                    "name": {"givenName": given, "familyName": family},
                    "displayName": format!("{given} {family}"),
                    "active": true,
                    "emails": [{"value": format!("{login}@example.com"), "type": "work", "primary": true}],
                    provisio_scim::schema::ENTERPRISE_USER_SCHEMA: {"department": dept},
                }),
            )
            .await?;
        ids.push(user.id);
    }
    store
        .create(
            tenant,
            ResourceKind::Group,
            json!({
                "schemas": [provisio_scim::schema::GROUP_SCHEMA],
                "displayName": "R&D",
                "members": [{"value": ids[1], "type": "User"}, {"value": ids[2], "type": "User"}],
            }),
        )
        .await?;
    Ok(())
}
