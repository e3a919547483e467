//! `provisio serve`: the Graph-compatible directory API over the embedded SQLite store (or
//! PostgreSQL), with `--demo` a seeded demo directory and the built-in SCIM target app.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use provisio_api::{token_hash, ApiState};
use provisio_directory::{Directory, DirectoryConfig, ObjectKind};
use provisio_engine::clock::SystemClock;
use provisio_engine::model::{SynchronizationSecret, SynchronizationSecretKeyStringValuePair};
use provisio_engine::secrets::SecretSealer;
use provisio_engine::synchronization::Synchronization;
use provisio_engine::worker::{Worker, WorkerConfig};
use provisio_store::SettingsStore;

use crate::provisioning::{RuntimeTicker, ScimTargets};
use rand::RngCore;
use serde_json::json;

#[derive(Args)]
pub struct ServeArgs {
    /// Seed a demo directory and serve the built-in SCIM target app at /target/scim/v2;
    /// the admin token is `demo-token` unless given.
    #[arg(long)]
    pub demo: bool,
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Bearer token for every API request. Else the one generated at first start (stored
    /// hashed, printed once).
    #[arg(long, env = "PROVISIO_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Directory of the embedded SQLite database.
    #[arg(long, default_value = "./data")]
    pub data_dir: PathBuf,
    /// PostgreSQL instead of SQLite: postgres://user:password@host/db.
    #[arg(long, env = "PROVISIO_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// How long deleted users and groups can be restored before they are purged.
    #[arg(long, default_value_t = 30)]
    pub deleted_retention_days: u32,
    /// How long provisioning log rows are kept.
    #[arg(long, default_value_t = 30)]
    pub provisioning_log_retention_days: u32,
    /// The key that seals synchronization secrets (target tokens) at rest: 64 hex digits.
    /// Else the one in DATA_DIR/secrets.key, made at first start. Processes that share a
    /// PostgreSQL database must share the key.
    #[arg(long, env = "PROVISIO_SECRETS_KEY", hide_env_values = true)]
    pub secrets_key: Option<String>,
    /// How long a job's lease lasts, in seconds. A running cycle renews it every third of
    /// that; when a process dies mid-cycle, another process sharing the PostgreSQL database
    /// takes the job over once the lease has expired. At least 3.
    #[arg(long, default_value_t = 1800, value_parser = clap::value_parser!(u32).range(3..))]
    pub lease_seconds: u32,
    /// How a full cycle matches unlinked objects with the target's accounts: `query` (one
    /// filter query per object, as Entra), `pages` (read the target's accounts once, page by
    /// page, and match in memory), or `auto` (pages when they cost less than the queries).
    #[arg(long, default_value = "auto")]
    pub matching: provisio_engine::cycle::MatchingMode,
    /// Memory the embedded SQLite databases may use for their page caches, all connections
    /// together, in MiB (0: no budget, each connection keeps its own cache size). Past it,
    /// pages are recycled, least recently used first.
    #[arg(long, default_value_t = 64)]
    pub sqlite_memory_mib: u64,
    /// Most provisioning cycles this process runs at once. Jobs run side by side, so that a
    /// long cycle of one job does not hold back another's; a due job past the limit starts
    /// when a cycle has ended.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_running_jobs: u64,
}

const TOKEN_SETTING: &str = "admin-token-sha256";
const SECRETS_KEY_FILE: &str = "secrets.key";

/// The key that seals synchronization secrets: the flag or environment, else the data
/// directory's key file, made (readable by its owner only) at first start.
fn secrets_key(args: &ServeArgs) -> anyhow::Result<[u8; 32]> {
    if let Some(text) = &args.secrets_key {
        return unhex(text.trim())
            .context("--secrets-key (PROVISIO_SECRETS_KEY) must be 64 hex digits");
    }
    let path = args.data_dir.join(SECRETS_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => unhex(text.trim())
            .with_context(|| format!("{} must hold 64 hex digits", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            if args.database_url.is_some() {
                tracing::warn!(
                    message = "No secrets key given: one is made in the data directory. Every process sharing the database must use the same key (PROVISIO_SECRETS_KEY).",
                    path = %path.display()
                );
            }
            let mut key = [0u8; 32];
            rand::rng().fill_bytes(&mut key);
            std::fs::create_dir_all(&args.data_dir)
                .with_context(|| format!("cannot create {}", args.data_dir.display()))?;
            write_private(&path, &hex(&key))
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(key)
        }
        Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Writes a file only its owner can read.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if text.len() != 64 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The admin token's hash: from the flag or environment, else the stored one, else a new
/// token, stored hashed and printed once.
async fn admin_token(args: &ServeArgs, settings: &dyn SettingsStore) -> anyhow::Result<[u8; 32]> {
    if let Some(t) = &args.admin_token {
        anyhow::ensure!(
            t.len() >= 8,
            "the admin token must be at least 8 characters"
        );
        return Ok(token_hash(t));
    }
    if args.demo {
        return Ok(token_hash("demo-token"));
    }
    if let Some(stored) = settings.setting(TOKEN_SETTING).await? {
        return unhex(&stored).context("the stored admin token hash is corrupt");
    }
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    let token = hex(&raw);
    let hash = token_hash(&token);
    settings.set_setting(TOKEN_SETTING, &hex(&hash)).await?;
    println!("admin token (shown once, stored hashed): {token}");
    Ok(hash)
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    if args.database_url.is_none() {
        provisio_db::sqlite::limit_process_memory(
            args.sqlite_memory_mib.saturating_mul(1024 * 1024),
        )
        .context("setting --sqlite-memory-mib")?;
    }
    let stores = provisio_store::open(&args.data_dir, args.database_url.as_deref())
        .await
        .context("opening the directory store")?;
    let hash = admin_token(&args, stores.settings.as_ref()).await?;
    let sealer = SecretSealer::new(secrets_key(&args)?);
    let store = stores.directory;
    let directory = Directory::new(
        Arc::clone(&store),
        DirectoryConfig {
            deleted_retention: time::Duration::days(i64::from(args.deleted_retention_days)),
        },
    );
    if args.demo {
        seed_demo(&directory).await?;
    }
    let purger = directory.clone();
    tokio::spawn(async move {
        loop {
            match purger.purge_expired(time::OffsetDateTime::now_utc()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(message = "Purged expired deleted items.", count = n),
                Err(error) => tracing::warn!(message = "Purging deleted items failed.", %error),
            }
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    });
    let targets = Arc::new(ScimTargets::default());
    let synchronization = Synchronization::new(
        Arc::clone(&stores.sync),
        directory.clone(),
        Arc::new(SystemClock),
        sealer,
    )
    .with_targets(targets.clone());
    let retention = time::Duration::days(i64::from(args.provisioning_log_retention_days));
    let log_purger = synchronization.clone();
    tokio::spawn(async move {
        loop {
            match log_purger.purge_provisioning_logs(retention).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(message = "Purged old provisioning log rows.", count = n),
                Err(error) => {
                    tracing::warn!(message = "Purging the provisioning log failed.", %error)
                }
            }
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    });
    let worker = Worker::new(
        synchronization.clone(),
        directory.clone(),
        targets,
        Arc::new(RuntimeTicker),
        WorkerConfig {
            lease: time::Duration::seconds(i64::from(args.lease_seconds)),
            matching: args.matching,
            max_running_jobs: usize::try_from(args.max_running_jobs).unwrap_or(usize::MAX),
            ..WorkerConfig::default()
        },
    );
    let state =
        ApiState::new(directory.clone(), hash).with_synchronization(synchronization.clone());
    let mut app = provisio_api::app(state);
    if args.demo {
        let target = crate::scim_server::demo_target(&args.data_dir).await?;
        app = app.nest("/target", target);
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    println!("listening on http://{addr}");
    if args.demo {
        let (sp, job) = demo_job(&directory, &synchronization, addr).await?;
        let jobs = format!("http://{addr}/v1.0/servicePrincipals/{sp}/synchronization/jobs/{job}");
        let curl = "curl -s -H 'Authorization: Bearer demo-token'";
        println!("provisio demo: the Graph API at http://{addr}/v1.0 and a SCIM 2.0 target app at http://{addr}/target/scim/v2 (token: demo-token)");
        println!(
            "  the job provisioning the 'Demo SCIM app' assignments to the target app is running:"
        );
        println!("  job status:   {curl} '{jobs}'");
        println!("  links:        {curl} '{jobs}/objectConnections'");
        println!("  provisioning log: {curl} 'http://{addr}/v1.0/auditLogs/provisioning'");
        println!("  the target:   {curl} 'http://{addr}/target/scim/v2/Users?attributes=userName,active'");
        println!("  a change:     {curl} -X PATCH -H 'Content-Type: application/json' -d '{{\"jobTitle\": \"CTO\"}}' 'http://{addr}/v1.0/users/bjorn.nilsson@contoso.example'");
    }
    tokio::spawn(crate::provisioning::run_worker(
        worker,
        Duration::from_secs(1),
    ));
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving")
}

/// The people of the demo, in the directory and in the SCIM target app alike:
/// (login, given name, surname, department, job title).
pub const DEMO_PEOPLE: [(&str, &str, &str, &str, &str); 5] = [
    ("ana.lopez", "Ana", "López", "Sales", "Head of Sales"),
    ("bjorn.nilsson", "Björn", "Nilsson", "R&D", "Head of R&D"),
    ("chloe.dubois", "Chloé", "Dubois", "R&D", "Engineer"),
    ("dario.rossi", "Dario", "Rossi", "Finance", "Controller"),
    ("eun-ji.kim", "Eun-ji", "Kim", "Sales", "Account Executive"),
];

/// The application id of the demo's service principal, by which a restart finds it again.
const DEMO_APP_ID: &str = "6d656d6f-0000-4000-8000-000000000001";

/// The demo's job: the `scim` template on the demo application, exporting to the built-in
/// target app at this address; made once, its target address renewed at every start.
async fn demo_job(
    directory: &Directory,
    synchronization: &Synchronization,
    addr: SocketAddr,
) -> anyhow::Result<(uuid::Uuid, String)> {
    let sp = directory
        .lookup(
            ObjectKind::ServicePrincipal,
            provisio_directory::IndexSeek::AppId,
            DEMO_APP_ID,
        )
        .await?
        .context("the demo data directory has no demo application: start from an empty one")?;
    let secret = |key, value: String| SynchronizationSecretKeyStringValuePair {
        key,
        value: Some(value),
    };
    synchronization
        .put_secrets(
            sp,
            vec![
                secret(
                    SynchronizationSecret::BaseAddress,
                    format!("http://{addr}/target/scim/v2"),
                ),
                secret(SynchronizationSecret::SecretToken, "demo-token".to_string()),
            ],
        )
        .await?;
    let job = match synchronization.jobs(sp).await?.into_iter().next() {
        Some(job) => job.id,
        None => synchronization.create_job(sp, "scim").await?.id,
    };
    synchronization.start(sp, &job).await?;
    Ok((sp, job))
}

/// A small directory to try the API on: users with a manager, a nested group, an
/// application with an assignment. Seeded once.
async fn seed_demo(directory: &Directory) -> anyhow::Result<()> {
    if directory.count(ObjectKind::User).await? > 0 {
        return Ok(());
    }
    let body = |v: serde_json::Value| v.as_object().cloned().unwrap_or_default();
    let mut ids = Vec::new();
    for (login, given, surname, department, title) in DEMO_PEOPLE {
        let user = directory
            .create(
                ObjectKind::User,
                &body(json!({
                    "userPrincipalName": format!("{login}@contoso.example"),
                    "displayName": format!("{given} {surname}"),
                    "givenName": given, "surname": surname, "department": department,
                    "jobTitle": title, "mail": format!("{login}@contoso.example"),
                    "accountEnabled": true,
                })),
            )
            .await?;
        ids.push(user.id);
    }
    directory.set_manager(ids[2], ids[1]).await?;
    directory.set_manager(ids[4], ids[0]).await?;
    let rnd = directory
        .create(
            ObjectKind::Group,
            &body(json!({"displayName": "R&D", "mailNickname": "rnd", "securityEnabled": true})),
        )
        .await?;
    let everyone = directory
        .create(
            ObjectKind::Group,
            &body(json!({"displayName": "Everyone", "mailNickname": "everyone", "securityEnabled": true})),
        )
        .await?;
    directory.add_member(rnd.id, ids[1]).await?;
    directory.add_member(rnd.id, ids[2]).await?;
    directory.add_member(everyone.id, rnd.id).await?;
    let app = directory
        .create(
            ObjectKind::ServicePrincipal,
            &body(json!({"displayName": "Demo SCIM app", "appId": DEMO_APP_ID})),
        )
        .await?;
    directory
        .assign(app.id, rnd.id, provisio_directory::DEFAULT_ACCESS_ROLE)
        .await?;
    Ok(())
}
